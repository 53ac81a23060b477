"""Verification for checkpoints: POST /api/v1/verify, and the upload of offline scans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, jsonify, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.wrappers import Response

from permits.database import appends_only
from permits.errors import json_error
from permits.extensions import limiter
from permits.i18n import select_locale
from permits.models import Role, utcnow
from permits.permissions import acting_user, roles_required
from permits.schemas import verify as schemas
from permits.services import offline_scans, organisations, verification
from permits.views.api import bp

INPUTS = ("qr", "code", "plate")


def _per_user() -> str:
    who = current_user.id if current_user.is_authenticated else get_remote_address()
    return f"verify-user:{who}"


def _limit() -> str:
    return str(current_app.config["VERIFY_LIMIT"])


def verdict_json(verdict: verification.Verdict, now: datetime) -> dict[str, Any]:
    return {
        "result": verdict.result.value,
        "reason": verdict.reason,
        "warning": verdict.is_warning,
        "flags": verdict.flags,
        "pass": verdict.facts,
        "checked_at": now.isoformat(),
    }


@bp.post("/verify")
@appends_only
@roles_required(Role.CHECKPOINT, Role.ADMIN)
@limiter.limit(_limit, key_func=_per_user)
@limiter.limit(_limit)
def verify() -> Response:
    """A verdict for a QR text, a control code or a plate; every call is logged as a scan."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return json_error(400, 'Send a JSON object such as {"qr": "PP1:..."}.')
    given = [name for name in INPUTS if body.get(name) not in (None, "")]
    if len(given) != 1:
        return json_error(
            422,
            "Send exactly one of qr, code or plate.",
            dict.fromkeys(INPUTS, "exactly one of qr, code or plate"),
        )
    value = body[given[0]]
    if not isinstance(value, str):
        return json_error(422, f"{given[0]} is text.", {given[0]: "must be text"})
    checkpoint = None
    if body.get("checkpoint") is not None:
        checkpoint_code = body["checkpoint"]
        checkpoint = (
            organisations.checkpoint_by_code(checkpoint_code)
            if isinstance(checkpoint_code, str) and len(checkpoint_code) <= 32
            else None
        )
        if checkpoint is None:
            return json_error(422, "Unknown checkpoint.", {"checkpoint": "unknown checkpoint code"})
        user = acting_user()
        if user.role is Role.CHECKPOINT and checkpoint.id != user.checkpoint_id:
            # Staff log scans at their own post only, or the anomaly check could be misled.
            return json_error(403, "You are posted at another checkpoint.")
    now = utcnow()
    verdict = verification.verify(
        acting_user(),
        now=now,
        checkpoint=checkpoint,
        language=select_locale(),
        **{given[0]: value},
    )
    return jsonify(verdict_json(verdict, now))


def _offline_scan(item: Any) -> offline_scans.OfflineScan:
    """One uploaded scan; a TypeError when a field is not text (as the document says)."""
    number = item.get("number")
    texts = (item["id"], item["result"], item["scanned_at"])
    if not all(isinstance(text, str) for text in texts) or not isinstance(number, str | None):
        raise TypeError("id, result, scanned_at and number are text")
    return offline_scans.OfflineScan(
        client_id=item["id"],
        number=number or None,
        result=item["result"],
        scanned_at=datetime.fromisoformat(item["scanned_at"]),
    )


@bp.post("/scans")
@roles_required(Role.CHECKPOINT, Role.ADMIN)
@limiter.limit(_limit, key_func=_per_user)
def upload_scans() -> Response:
    """Scans decided offline by the scanner page, uploaded when the network returns."""
    body = request.get_json(silent=True)
    items = body.get("scans") if isinstance(body, dict) else None
    if not isinstance(items, list) or len(items) > schemas.MAX_SCANS:
        return json_error(400, 'Send {"scans": [...]} with at most 1000 scans.')
    scans = []
    for item in items:
        try:
            scans.append(_offline_scan(item))
        except (KeyError, TypeError, ValueError, AttributeError):
            return json_error(
                422, "Each scan has id, result, scanned_at (ISO time with zone) and number."
            )
        if scans[-1].scanned_at.tzinfo is None:
            return json_error(422, "scanned_at needs a time zone, e.g. 2026-04-15T08:30:00+08:00.")
    outcome = offline_scans.record(acting_user(), scans, now=utcnow())
    answer = schemas.ScanUploadResult(
        received=len(scans),
        stored=outcome.stored,
        refused=[
            schemas.RefusedScan(
                index=refused.index,
                id=refused.client_id,
                error="invalid",
                message=str(offline_scans.NOT_STORED),
                fields={name: str(message) for name, message in refused.problems.items()},
            )
            for refused in outcome.refused
        ],
    )
    return jsonify(answer.as_json())
