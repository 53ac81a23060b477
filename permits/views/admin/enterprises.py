"""Enterprises: list, search, one enterprise's users, applications and passes; suspension."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from permits.extensions import db
from permits.forms.admin import SuspendForm
from permits.forms.common import ConfirmForm, show_problems
from permits.inputs import int_arg
from permits.models import Enterprise, utcnow
from permits.permissions import acting_user
from permits.services import enterprises as service
from permits.services.errors import DomainError
from permits.views.admin import bp


def load_enterprise(enterprise_id: int) -> Enterprise:
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        abort(404)
    return enterprise


@bp.get("/enterprises")
def enterprises() -> str:
    text = (request.args.get("q") or "")[: service.MAX_SEARCH]
    page = service.search(text, page=int_arg("page", 1, low=1) or 1)
    return render_template("admin/enterprises.html", page=page, q=text)


def _render(enterprise: Enterprise, form: SuspendForm | None = None) -> str:
    return render_template(
        "admin/enterprise.html",
        enterprise=enterprise,
        applications=service.applications_of(enterprise),
        passes=service.passes_of(enterprise),
        suspend_form=form or SuspendForm(formdata=None),
        confirm_form=ConfirmForm(),
        now=utcnow(),
    )


@bp.get("/enterprises/<int:enterprise_id>")
def enterprise(enterprise_id: int) -> str:
    return _render(load_enterprise(enterprise_id))


@bp.post("/enterprises/<int:enterprise_id>/suspend")
def enterprise_suspend(enterprise_id: int) -> Response | tuple[str, int]:
    target = load_enterprise(enterprise_id)
    form = SuspendForm()
    if not form.validate_on_submit():
        return _render(target, form), 422
    try:
        count = service.suspend(acting_user(), target, form.reason.data or "", now=utcnow())
    except DomainError as exc:
        show_problems(form, exc.fields)
        if not exc.fields:
            flash(str(exc.message), "error")
        return _render(load_enterprise(enterprise_id), form), exc.status
    flash(_("The enterprise is suspended; %(n)d passes now verify as revoked.", n=count), "success")
    return redirect(url_for("admin.enterprise", enterprise_id=enterprise_id))


@bp.post("/enterprises/<int:enterprise_id>/lift")
def enterprise_lift(enterprise_id: int) -> Response:
    target = load_enterprise(enterprise_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        count = service.lift_suspension(acting_user(), target, now=utcnow())
    except DomainError as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("The suspension is lifted; %(n)d passes are valid again.", n=count), "success")
    return redirect(url_for("admin.enterprise", enterprise_id=enterprise_id))
