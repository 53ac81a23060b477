"""The checkpoint scanner: an installable page that verifies by camera, scanner or typed code,
and keeps working offline from the published keys and the revocation feed."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import cache
from pathlib import Path

from flask import Blueprint, current_app, make_response, render_template
from werkzeug.wrappers import Response

from permits import regions
from permits.i18n import current_locale_name
from permits.models import Role, utcnow
from permits.permissions import acting_user, public, roles_required
from permits.services import scans

bp = Blueprint("checkpoint", __name__, url_prefix="/checkpoint")


@bp.get("/")
@roles_required(Role.CHECKPOINT, Role.ADMIN)
def scan() -> str:
    locale = current_locale_name()
    return render_template(
        "checkpoint/scan.html",
        revocations_max_age_hours=current_app.config["REVOCATIONS_MAX_AGE_HOURS"],
        checkpoint=acting_user().checkpoint,
        division_names={
            d.code: d.name(locale) for d in regions.divisions().values() if d.is_county_level
        },
    )


@bp.get("/history")
@roles_required(Role.CHECKPOINT, Role.ADMIN)
def history() -> str:
    """My recent scans, newest first."""
    return render_template("checkpoint/history.html", scans=scans.recent_scans(user=acting_user()))


@bp.get("/anomalies")
@roles_required(Role.APPROVER, Role.ADMIN, Role.SUPERVISOR)
def anomalies() -> str:
    """Passes seen in impossible places or too often, with the scans behind each flag."""
    return render_template(
        "checkpoint/anomalies.html",
        scans=scans.anomalies(utcnow() - timedelta(days=7)),
    )


@bp.get("/sw.js")
@public
def service_worker() -> Response:
    """Served from /checkpoint/ so that its scope covers the scanner page. Its cache name
    carries a digest of the static files, so that a release with changed files makes phones
    install the new shell at once instead of keeping the old one."""
    return _script(_service_worker_source(current_app.static_folder or ""))


def _script(body: str) -> Response:
    """A script of the checkpoint's app shell, checked again on every load: a release with
    changed files reaches the phones at their next visit."""
    response = make_response(body)
    response.headers["Content-Type"] = "application/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    return response


@cache
def _service_worker_source(static_folder: str) -> str:
    root = Path(static_folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    source = (root / "js" / "sw.js").read_text(encoding="utf-8")
    marker = 'const VERSION = "checkpoint-shell-v1";'
    assert marker in source, "sw.js no longer declares its VERSION as expected"
    return source.replace(marker, f'const VERSION = "checkpoint-shell-{digest.hexdigest()[:16]}";')


@bp.get("/qr-worker.js")
@public
def qr_worker() -> Response:
    """The camera's QR decoder: jsQR and the worker around it, in one script, served under
    /checkpoint/ because a worker's script is fetched by its own URL: only inside the service
    worker's scope is it answered from the phone's cache when there is no network (from
    /static/ it failed offline, and the camera read nothing)."""
    return _script(_qr_worker_source(current_app.static_folder or ""))


@cache
def _qr_worker_source(static_folder: str) -> str:
    root = Path(static_folder)
    decoder = (root / "vendor" / "jsqr" / "jsQR.js").read_text(encoding="utf-8")
    worker = (root / "js" / "qr-worker.js").read_text(encoding="utf-8")
    return f"{decoder}\n;\n{worker}"


@bp.get("/manifest.webmanifest")
@public
def manifest() -> Response:
    response = make_response(render_template("checkpoint/manifest.webmanifest"))
    response.headers["Content-Type"] = "application/manifest+json"
    return response
