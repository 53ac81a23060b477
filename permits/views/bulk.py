"""Many vehicles at once: the template, the upload, the per-row result, the corrected file and
the submit of the good rows as one batch. Enterprise users only."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from permits.forms.applications import BulkUploadForm
from permits.forms.common import ConfirmForm
from permits.models import Role, utcnow
from permits.permissions import acting_user, roles_required
from permits.services import bulk
from permits.services.applications import today
from permits.services.bulk_sheets import (
    CSV_TYPE,
    XLSX_TYPE,
    codes_csv,
    columns,
    corrected_csv,
    corrected_xlsx,
    max_drivers,
    read_rows,
    template_csv,
    template_xlsx,
)
from permits.services.bulk_uploads import keep_upload
from permits.services.errors import Conflict, DomainError, NotFound

bp = Blueprint("bulk", __name__, url_prefix="/applications/bulk")

#: Problems listed on the result page; the corrected file has them all.
SHOWN_PROBLEMS = 200


def _download(content: bytes, name: str, mimetype: str) -> Response:
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/")
@roles_required(Role.ENTERPRISE)
def start() -> str:
    return render_template(
        "bulk/start.html", form=BulkUploadForm(formdata=None), max_drivers=max_drivers()
    )


@bp.get("/template.<fmt>")
@roles_required(Role.ENTERPRISE)
def template(fmt: str) -> Response:
    day = today(utcnow())
    if fmt == "xlsx":
        return _download(template_xlsx(day), "vehicles-template.xlsx", XLSX_TYPE)
    if fmt == "csv":
        return _download(template_csv(day), "vehicles-template.csv", CSV_TYPE)
    abort(404)


@bp.get("/codes.csv")
@roles_required(Role.ENTERPRISE)
def codes() -> Response:
    return _download(codes_csv(), "vehicles-codes.csv", CSV_TYPE)


@bp.post("/")
@roles_required(Role.ENTERPRISE)
def upload() -> Response | tuple[str, int]:
    form = BulkUploadForm()
    if not form.validate_on_submit():
        return render_template("bulk/start.html", form=form, max_drivers=max_drivers()), 400
    upload = request.files.get("file")
    content = upload.read() if upload else b""
    now = utcnow()
    try:
        rows = read_rows(content)  # a file that is not the template is refused, not kept
        key = keep_upload(
            acting_user(), upload.filename or "" if upload else "", content, now=now, rows=rows
        )
    except DomainError as exc:
        form.file.errors = [str(m) for m in exc.fields.values()] or [str(exc.message)]
        return render_template("bulk/start.html", form=form, max_drivers=max_drivers()), exc.status
    return redirect(url_for("bulk.result", key=key))


@bp.get("/<key>")
@roles_required(Role.ENTERPRISE)
def result(key: str) -> Response | str:
    """Each bad row and column with its message; the good rows can be submitted."""
    try:
        checked = bulk.preview(acting_user(), key, now=utcnow())
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("bulk.start"))
    problems = [
        (row.number, column, message)
        for row in checked.bad
        for column, message in row.problems.items()
    ]
    return render_template(
        "bulk/result.html",
        key=key,
        checked=checked,
        problems=problems[:SHOWN_PROBLEMS],
        more=max(0, len(problems) - SHOWN_PROBLEMS),
        headers=dict(columns(max_drivers())),
        confirm_form=ConfirmForm(),
        upload_form=BulkUploadForm(formdata=None),
    )


@bp.get("/<key>/corrected.<fmt>")
@roles_required(Role.ENTERPRISE)
def corrected(key: str, fmt: str) -> Response:
    """The same rows with an error column, to fix and upload again."""
    if fmt not in ("xlsx", "csv"):
        abort(404)
    try:
        checked = bulk.preview(acting_user(), key, now=utcnow())
    except DomainError:
        abort(404)
    if fmt == "xlsx":
        return _download(corrected_xlsx(checked.rows), "vehicles-corrected.xlsx", XLSX_TYPE)
    return _download(corrected_csv(checked.rows), "vehicles-corrected.csv", CSV_TYPE)


@bp.post("/<key>/submit")
@roles_required(Role.ENTERPRISE)
def submit(key: str) -> Response:
    """The good rows, checked again, become one batch of submitted applications."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("bulk.result", key=key))
    try:
        batch, count = bulk.submit_good_rows(acting_user(), key, now=utcnow())
    except NotFound:
        abort(404)
    except Conflict as exc:  # submitted already (pressed twice): its batch is in the list
        flash(str(exc.message), "info")
        return redirect(url_for("applications.index"))
    except DomainError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("bulk.result", key=key))
    flash(
        _(
            "%(n)d vehicle applications were submitted as batch #%(batch)d. You will be told "
            "of every decision.",
            n=count,
            batch=batch.id,
        ),
        "success",
    )
    return redirect(url_for("applications.index"))
