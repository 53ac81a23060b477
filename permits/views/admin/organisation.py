"""Departments, their scopes, and checkpoints (with coordinates for the anomaly check)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from permits import regions
from permits.extensions import db
from permits.forms.admin import CheckpointForm, DepartmentForm
from permits.forms.common import ConfirmForm, show_problems
from permits.i18n import current_locale_name
from permits.inputs import int_arg
from permits.labels import DEPARTMENT_NAMES
from permits.models import CITY_SCOPE, DEPARTMENT_CODES, Checkpoint, Department, Role
from permits.permissions import acting_user, roles_required
from permits.services import organisations
from permits.services.errors import DomainError, ValidationFailed
from permits.templating import department_name
from permits.views.admin import bp

CHECKPOINTS_PER_PAGE = 50


def _district_choices() -> list[SelectChoice]:
    locale = current_locale_name()
    return [
        SelectChoice(d.code, f"{d.name(locale)} ({d.code})")
        for d in regions.districts(current_app.config["CITY_CODE"])
    ]


def _department_form() -> DepartmentForm:
    form = DepartmentForm()
    form.department.choices = [
        SelectChoice(code, f"{DEPARTMENT_NAMES[code]} ({code})") for code in DEPARTMENT_CODES
    ]
    form.scope.choices = [SelectChoice(CITY_SCOPE, _("Whole city")), *_district_choices()]
    return form


def _load_department(department_id: int) -> Department:
    department = db.session.get(Department, department_id)
    if department is None:
        abort(404)
    return department


@bp.get("/departments")
def departments() -> str:
    """Every department: its name, its scope, how many active approvers it has."""
    return render_template(
        "admin/departments.html",
        rows=organisations.departments_with_approvers(),
        department_names=DEPARTMENT_NAMES,
        confirm_form=ConfirmForm(),
    )


@bp.route("/departments/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def department_new() -> Response | tuple[str, int]:
    form = _department_form()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            department = organisations.create_department(
                form.department.data or "", form.scope.data or "", actor=acting_user()
            )
        except DomainError as exc:
            show_problems(form, exc.fields)
            status = exc.status
        else:
            flash(_("Department created: %(name)s.", name=department_name(department)), "success")
            return redirect(url_for("admin.departments"))
    return render_template("admin/department_form.html", form=form, department=None), status


@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def department_edit(department_id: int) -> Response | tuple[str, int]:
    """Code and scope change only while nobody belongs to the department (a typo fixed)."""
    department = _load_department(department_id)
    in_use = organisations.department_is_in_use(department)
    form = _department_form()
    status = 422 if request.method == "POST" else 200
    if request.method == "GET":
        form.department.data, form.scope.data = department.code, department.scope
    elif form.validate_on_submit():
        try:
            organisations.change_department(
                department, form.department.data or "", form.scope.data or "", actor=acting_user()
            )
        except DomainError as exc:
            show_problems(form, exc.fields)
            status = exc.status
        else:
            flash(_("Department saved: %(name)s.", name=department_name(department)), "success")
            return redirect(url_for("admin.departments"))
    page = render_template(
        "admin/department_form.html",
        form=form,
        department=department,
        in_use=in_use,
        confirm_form=ConfirmForm(),
    )
    return page, status


@bp.post("/departments/<int:department_id>/delete")
@roles_required(Role.ADMIN)
def department_delete(department_id: int) -> Response:
    department = _load_department(department_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    label = department_name(department)
    try:
        organisations.delete_department(department, actor=acting_user())
    except DomainError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("admin.department_edit", department_id=department_id))
    flash(_("Department deleted: %(name)s.", name=label), "success")
    return redirect(url_for("admin.departments"))


# --- checkpoints -------------------------------------------------------------------------


def _checkpoint_form() -> CheckpointForm:
    form = CheckpointForm()
    form.district.choices = _district_choices()
    return form


@bp.get("/checkpoints")
def checkpoints() -> str:
    page = int_arg("page", 1, low=1, high=10_000) or 1
    items = organisations.list_checkpoints(
        offset=(min(page, 10_000) - 1) * CHECKPOINTS_PER_PAGE, limit=CHECKPOINTS_PER_PAGE + 1
    )
    return render_template(
        "admin/checkpoints.html",
        items=items[:CHECKPOINTS_PER_PAGE],
        page=page,
        has_next=len(items) > CHECKPOINTS_PER_PAGE,
    )


@bp.route("/checkpoints/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def checkpoint_new() -> Response | tuple[str, int]:
    form = _checkpoint_form()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        details, problems = form.to_details()
        try:
            if problems:
                raise ValidationFailed(_("Some fields need your attention."), problems)
            checkpoint = organisations.create_checkpoint(
                details.code,
                details.name,
                details.district,
                latitude=details.latitude,
                longitude=details.longitude,
                is_active=details.is_active,
            )
        except DomainError as exc:
            show_problems(form, problems | exc.fields)
            status = exc.status
        else:
            flash(_("Checkpoint created: %(code)s.", code=checkpoint.code), "success")
            return redirect(url_for("admin.checkpoints"))
    return render_template("admin/checkpoint_form.html", form=form, checkpoint=None), status


@bp.route("/checkpoints/<int:checkpoint_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def checkpoint_edit(checkpoint_id: int) -> Response | tuple[str, int]:
    checkpoint = db.session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        abort(404)
    form = _checkpoint_form()
    status = 422 if request.method == "POST" else 200
    if request.method == "GET":
        form.fill(checkpoint)
    elif form.validate_on_submit():
        details, problems = form.to_details()
        try:
            if problems:
                raise ValidationFailed(_("Some fields need your attention."), problems)
            organisations.update_checkpoint(checkpoint, details, actor=acting_user())
        except DomainError as exc:
            show_problems(form, problems | exc.fields)
            status = exc.status
        else:
            flash(_("Checkpoint saved: %(code)s.", code=checkpoint.code), "success")
            return redirect(url_for("admin.checkpoints"))
    return render_template("admin/checkpoint_form.html", form=form, checkpoint=checkpoint), status
