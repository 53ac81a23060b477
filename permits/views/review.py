"""The approvers' queue and their decisions (the file itself is applications.show)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from permits import regions
from permits.extensions import db
from permits.forms import DecisionForm
from permits.i18n import current_locale_name
from permits.labels import CARGO_NAMES, KIND_NAMES
from permits.models import CargoCategory, Kind, Role, utcnow
from permits.permissions import acting_user, roles_required
from permits.services import reviews
from permits.services.errors import DomainError, ValidationFailed
from permits.views.applications import load_application

bp = Blueprint("review", __name__, url_prefix="/review")

PAGE_SIZE = 25


def _enum_arg(
    name: str, enum_type: type[Kind] | type[CargoCategory]
) -> Kind | CargoCategory | None:
    value = request.args.get(name) or None
    try:
        return enum_type(value) if value else None
    except ValueError:
        return None


@bp.get("/")
@roles_required(Role.APPROVER)
def queue() -> str:
    """What waits at my department's step: soonest due first, overdue highlighted."""
    kind = _enum_arg("kind", Kind)
    cargo = _enum_arg("cargo_category", CargoCategory)
    filters = reviews.QueueFilter(
        kind=kind if isinstance(kind, Kind) else None,
        district=request.args.get("district") or None,
        cargo_category=cargo if isinstance(cargo, CargoCategory) else None,
        overdue=request.args.get("overdue") == "1",
        search=(request.args.get("q") or "")[:100],
    )
    now = utcnow()
    items = reviews.queue(
        acting_user(), filters, now=now, after=request.args.get("after"), limit=PAGE_SIZE + 1
    )
    more = reviews.encode_cursor(items[PAGE_SIZE - 1]) if len(items) > PAGE_SIZE else None
    locale = current_locale_name()
    return render_template(
        "review/queue.html",
        items=items[:PAGE_SIZE],
        more=more,
        filters=filters,
        now=now,
        kinds=[SelectChoice(k.value, str(label)) for k, label in KIND_NAMES.items()],
        cargos=[SelectChoice(c.value, str(label)) for c, label in CARGO_NAMES.items()],
        districts=[
            SelectChoice(d.code, d.name(locale))
            for d in regions.districts(current_app.config["CITY_CODE"])
        ],
    )


@bp.post("/<int:application_id>/decision")
@roles_required(Role.APPROVER)
def decide(application_id: int) -> Response:
    """Approve, return or reject; a late second decision is told who decided first."""
    application = load_application(application_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        reviews.decide(
            acting_user(),
            application,
            form.decision.data or "",
            comment=form.comment.data or "",
            reason_code=form.reason_code.data or None,
            now=utcnow(),
        )
    except ValidationFailed as exc:
        db.session.rollback()
        for message in exc.fields.values():
            flash(str(message), "error")
        return redirect(url_for("applications.show", application_id=application_id) + "#decide")
    except DomainError as exc:
        db.session.rollback()  # nothing of a refused decision may be committed
        flash(str(exc.message), "error")
        return redirect(url_for("applications.show", application_id=application_id))
    flash(_("Your decision is recorded."), "success")
    return redirect(url_for("review.queue"))
