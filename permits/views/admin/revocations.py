"""Mass revocation: preview, ask, and a second admin confirms before it runs."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from permits import regions
from permits.extensions import db
from permits.forms.common import ConfirmForm, show_problems
from permits.forms.revocations import MassRevocationAskForm, MassRevocationCriteriaForm
from permits.i18n import current_locale_name
from permits.inputs import int_arg
from permits.labels import CARGO_NAMES, MASS_REVOCATION_STATUS_NAMES
from permits.models import MassRevocation, MassRevocationStatus, utcnow
from permits.permissions import acting_user
from permits.services import revocations
from permits.services.errors import DomainError, ValidationFailed
from permits.views.admin import bp

PAGE_SIZE = 25


def mass_status_name(status: MassRevocationStatus) -> str:
    return str(MASS_REVOCATION_STATUS_NAMES[status])


def _with_choices(form: MassRevocationCriteriaForm) -> MassRevocationCriteriaForm:
    locale = current_locale_name()
    any_choice = [("", _("Any"))]
    form.district.choices = any_choice + [
        (d.code, d.name(locale)) for d in regions.districts(current_app.config["CITY_CODE"])
    ]
    form.cargo_category.choices = any_choice + [(c.value, str(n)) for c, n in CARGO_NAMES.items()]
    return form


def _criteria(form: MassRevocationCriteriaForm) -> revocations.Criteria:
    return revocations.parse_criteria(
        district=form.district.data or "",
        cargo_category=form.cargo_category.data or "",
        uscc=form.uscc.data or "",
        issued_from=form.issued_from.data or "",
        issued_until=form.issued_until.data or "",
    )


def _list_page(form: MassRevocationCriteriaForm | None = None, status: int = 200) -> Response:
    before = int_arg("before")
    items = revocations.recent(before=before, limit=PAGE_SIZE + 1)
    more = items[PAGE_SIZE - 1].id if len(items) > PAGE_SIZE else None
    page = render_template(
        "admin/revocations/index.html",
        items=items[:PAGE_SIZE],
        more=more,
        form=_with_choices(form or MassRevocationCriteriaForm(formdata=None)),
        mass_status_name=mass_status_name,
    )
    return Response(page, status=status, mimetype="text/html")


@bp.get("/revocations/")
def mass_revocations() -> Response:
    """The mass revocations, newest first, and (for admins) the form to ask for one."""
    return _list_page()


def _preview_page(form: MassRevocationAskForm, status: int = 200) -> Response:
    criteria = _criteria(form)
    page = render_template(
        "admin/revocations/preview.html",
        form=_with_choices(form),
        criteria=criteria,
        preview=revocations.preview(criteria),
    )
    return Response(page, status=status, mimetype="text/html")


@bp.post("/revocations/preview")
def mass_revocation_preview() -> Response:
    """How many active passes match now, a sample of them, and the form to ask."""
    form = MassRevocationAskForm()
    if not form.validate_on_submit():
        return _list_page(form, status=400)
    try:
        return _preview_page(form)
    except ValidationFailed as exc:
        show_problems(form, exc.fields)
        return _list_page(form, status=422)


@bp.post("/revocations/")
def mass_revocation_ask() -> Response:
    """Records the request; it runs only when a second admin confirms it."""
    form = MassRevocationAskForm()
    if not form.validate_on_submit():
        return _list_page(form, status=400)
    try:
        criteria = _criteria(form)
    except ValidationFailed as exc:
        show_problems(form, exc.fields)
        return _list_page(form, status=422)
    try:
        mass = revocations.ask(acting_user(), criteria, form.reason.data or "", now=utcnow())
    except ValidationFailed as exc:
        show_problems(form, exc.fields)
        return _preview_page(form, status=422)
    flash(_("Asked for. A second administrator must confirm it before it runs."), "success")
    return redirect(url_for("admin.mass_revocation", mass_id=mass.id))


def load_mass_revocation(mass_id: int) -> MassRevocation:
    mass = db.session.get(MassRevocation, mass_id)
    if mass is None:
        abort(404)
    return mass


@bp.get("/revocations/<int:mass_id>")
def mass_revocation(mass_id: int) -> str:
    """One mass revocation: criteria, reason, who asked, and the count as it is now."""
    mass = load_mass_revocation(mass_id)
    criteria = revocations.criteria_of(mass)
    pending = mass.status is MassRevocationStatus.PENDING
    user = acting_user()
    now = utcnow()
    return render_template(
        "admin/revocations/show.html",
        mass=mass,
        criteria=criteria,
        preview=revocations.preview(criteria) if pending else None,
        can_confirm=revocations.can_confirm(user, mass, now=now),
        can_cancel=revocations.can_cancel(user, mass),
        confirm_refusal=revocations.confirm_refusal(user, mass, now=now),
        confirm_form=ConfirmForm(),
        mass_status_name=mass_status_name,
    )


@bp.post("/revocations/<int:mass_id>/confirm")
def mass_revocation_confirm(mass_id: int) -> Response:
    mass = load_mass_revocation(mass_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        count = revocations.confirm(acting_user(), mass, now=utcnow())
    except DomainError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("admin.mass_revocation", mass_id=mass_id))
    flash(_("Done: %(count)d passes are revoked.", count=count), "success")
    return redirect(url_for("admin.mass_revocation", mass_id=mass_id))


@bp.post("/revocations/<int:mass_id>/cancel")
def mass_revocation_cancel(mass_id: int) -> Response:
    mass = load_mass_revocation(mass_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        revocations.cancel(acting_user(), mass, now=utcnow())
    except DomainError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("admin.mass_revocation", mass_id=mass_id))
    flash(_("The mass revocation is cancelled."), "success")
    return redirect(url_for("admin.mass_revocation", mass_id=mass_id))
