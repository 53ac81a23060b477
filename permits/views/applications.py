"""Applications in the browser: the enterprise applies and follows; those in scope read the file.

The approver's decision form is on the same page (`review` holds their queue).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from permits import regions
from permits.extensions import db
from permits.forms.applications import (
    AttachmentForm,
    VehiclePassForm,
    WithdrawForm,
    WorkResumptionForm,
)
from permits.forms.common import ConfirmForm, show_problems
from permits.forms.review import DecisionForm
from permits.i18n import current_locale_name
from permits.inputs import int_arg
from permits.labels import (
    CARGO_NAMES,
    PURPOSE_NAMES,
    VEHICLE_TYPE_NAMES,
    reject_reason_choices,
)
from permits.models import Application, Attachment, Kind, Role, utcnow
from permits.outcome import answered_alone, on_its_own
from permits.permissions import (
    acting_user,
    can_decide,
    can_download_attachment,
    can_edit_application,
    can_view_application,
    can_withdraw_application,
    roles_required,
)
from permits.services import application_queries, applications, attachments, issuance, notifications
from permits.services.errors import DomainError, ValidationFailed
from permits.workflow import State

bp = Blueprint("applications", __name__, url_prefix="/applications")

PAGE_SIZE = 20


def load_application(application_id: int) -> Application:
    """Loads an application the current user may see; 404 otherwise (ids are not confirmed)."""
    application = db.session.get(Application, application_id)
    if application is None or not can_view_application(acting_user(), application):
        abort(404)
    return application


def _choices(names: dict[Any, Any]) -> list[SelectChoice]:
    return [SelectChoice("", _("Choose…"))] + [
        SelectChoice(str(code.value if hasattr(code, "value") else code), str(label))
        for code, label in names.items()
    ]


def district_choices() -> list[SelectChoice]:
    locale = current_locale_name()
    return [SelectChoice("", _("Choose…"))] + [
        SelectChoice(d.code, d.name(locale))
        for d in regions.districts(current_app.config["CITY_CODE"])
    ]


def make_form(
    kind: Kind, application: Application | None = None, *, posted: bool | None = None
) -> Any:
    """The kind's form, filled from the request if it was posted, or else from the application.

    `posted=False` shows the application as stored, e.g. after a refused upload of a file.
    """
    form: Any
    if posted is None:
        posted = request.method == "POST"
    if kind is Kind.WORK_RESUMPTION:
        form = WorkResumptionForm(formdata=request.form if posted else None)
        form.district.choices = district_choices()
        if application is not None and not posted:
            form.site_address.data = application.site_address
            form.district.data = application.district
            form.resume_date.data = application.valid_from and application.valid_from.isoformat()
            form.valid_until.data = application.valid_until and application.valid_until.isoformat()
            form.staff_on_site.data = application.staff_on_site
            form.closed_loop.data = bool(application.closed_loop)
            form.contact_name.data = application.contact_name
            form.contact_phone.data = application.contact_phone
        elif application is None and not posted:
            enterprise = acting_user().enterprise
            assert enterprise is not None
            form.district.data = enterprise.district
            form.contact_name.data = enterprise.contact_name
            form.contact_phone.data = enterprise.contact_phone
    else:
        form = VehiclePassForm(formdata=request.form if posted else None)
        form.vehicle_type.choices = _choices(VEHICLE_TYPE_NAMES)
        form.cargo_category.choices = _choices(CARGO_NAMES)
        if application is not None and not posted:
            form.plate.data = application.plate
            form.vehicle_type.data = application.vehicle_type and application.vehicle_type.value
            form.cargo_category.data = (
                application.cargo_category and application.cargo_category.value
            )
            locale = current_locale_name()
            form.origin.data = application.origin and regions.choice_label(
                application.origin, locale
            )
            form.destination.data = application.destination and regions.choice_label(
                application.destination, locale
            )
            form.valid_from.data = application.valid_from and application.valid_from.isoformat()
            form.valid_until.data = application.valid_until and application.valid_until.isoformat()
            for entry, driver in zip(form.drivers.entries, application.drivers, strict=False):
                entry.form.name.data = driver.name
                entry.form.id_number.data = driver.id_number
                entry.form.phone.data = driver.phone
    return form


def _render_form(
    kind: Kind,
    form: Any,
    application: Application | None,
    status: int,
    unplaced: dict[str, str] | None = None,
    attachment_form: AttachmentForm | None = None,
) -> tuple[str, int]:
    """The form page; a missing prevention plan is said beside the file field, not only on top."""
    unplaced = dict(unplaced or {})
    attachment_form = attachment_form if attachment_form is not None else _attachment_form()
    plan_missing = unplaced.pop("prevention_plan", None)
    if plan_missing and not attachment_form.file.errors:
        attachment_form.file.errors = [plan_missing]
    return render_template(
        "applications/form.html",
        kind=kind,
        form=form,
        application=application,
        attachment_form=attachment_form,
        unplaced=unplaced,
        county_choices=regions.county_choices(
            current_app.config["CITY_CODE"], current_locale_name()
        ),
    ), status


def _attachment_form(formdata: Any = None) -> AttachmentForm:
    """The upload form, empty with "prevention plan" chosen, or as sent (`formdata`)."""
    form = AttachmentForm(formdata=formdata)
    form.purpose.choices = _choices(PURPOSE_NAMES)
    if formdata is None:
        form.purpose.data = "prevention_plan"
    return form


@bp.get("/")
@roles_required(Role.ENTERPRISE)
def index() -> str:
    """The enterprise's applications, newest first, with where each waits."""
    me = acting_user()
    assert me.enterprise_id is not None
    status = request.args.get("status") or None
    try:
        state = State(status) if status else None
    except ValueError:
        state = None
    before = int_arg("before")
    items = application_queries.enterprise_applications(
        me.enterprise_id, status=state, before_id=before, limit=PAGE_SIZE + 1
    )
    return render_template(
        "applications/index.html",
        items=items[:PAGE_SIZE],
        older=items[PAGE_SIZE - 1].id if len(items) > PAGE_SIZE else None,
        counts=application_queries.count_by_status(me.enterprise_id),
        state=state,
        now=utcnow(),
    )


@bp.route("/new/<kind>", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def new(kind: str) -> Response | tuple[str, int]:
    try:
        the_kind = Kind(kind)
    except ValueError:
        abort(404)
    form = make_form(the_kind)
    if request.method == "POST" and form.validate_on_submit():
        try:
            application = applications.create_draft(
                acting_user(), the_kind, form.to_data(), now=utcnow()
            )
        except DomainError as exc:
            return _render_form(the_kind, form, None, 422, show_problems(form, exc.fields))
        if "submit" in request.form:
            try:
                with on_its_own():
                    applications.submit(acting_user(), application, now=utcnow())
            except DomainError as exc:
                # The draft is kept (only the submission is refused); each problem by its field.
                answered_alone(exc)
                flash(_("Draft saved, but not submitted yet:") + " " + str(exc.message), "warning")
                unplaced = show_problems(form, exc.fields)
                return _render_form(the_kind, form, application, 200, unplaced)
            flash(_("Submitted. You will be told of every decision."), "success")
            return redirect(url_for("applications.show", application_id=application.id))
        flash(_("Draft saved. Add what is missing, then submit it."), "success")
        return redirect(url_for("applications.edit", application_id=application.id))
    return _render_form(the_kind, form, None, 422 if request.method == "POST" else 200)


@bp.route("/<int:application_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def edit(application_id: int) -> Response | tuple[str, int]:
    """Edit a draft or a returned application; the "submit" button saves and submits."""
    application = load_application(application_id)
    if not can_edit_application(acting_user(), application):
        flash(_("This application can no longer be changed."), "warning")
        return redirect(url_for("applications.show", application_id=application.id))
    form = make_form(application.kind, application)
    if request.method == "POST" and form.validate_on_submit():
        now = utcnow()
        try:
            applications.update_draft(acting_user(), application, form.to_data(), now=now)
        except DomainError as exc:
            application = load_application(application_id)
            return _render_form(
                application.kind, form, application, 422, show_problems(form, exc.fields)
            )
        if "submit" in request.form:
            try:
                with on_its_own():
                    applications.submit(acting_user(), application, now=now)
            except DomainError as exc:
                # The changes stay a draft (only the submission is refused); say what is missing.
                answered_alone(exc)
                flash(_("Draft saved, but not submitted yet:") + " " + str(exc.message), "warning")
                return _render_form(
                    application.kind, form, application, 200, show_problems(form, exc.fields)
                )
        if application.status is State.IN_REVIEW:
            flash(_("Submitted. You will be told of every decision."), "success")
            return redirect(url_for("applications.show", application_id=application.id))
        flash(_("Draft saved."), "success")
        return redirect(url_for("applications.edit", application_id=application.id))
    return _render_form(
        application.kind, form, application, 422 if request.method == "POST" else 200
    )


@bp.post("/<int:application_id>/attachments")
@roles_required(Role.ENTERPRISE)
def upload(application_id: int) -> Response | tuple[str, int]:
    application = load_application(application_id)
    if not can_edit_application(acting_user(), application):
        abort(403)
    form = _attachment_form(request.form)
    if not form.validate_on_submit():
        return _upload_refused(application, form, 400)
    upload = request.files.get("file")
    filename = upload.filename or "" if upload else ""
    try:
        attachments.add_attachment(
            acting_user(),
            application,
            purpose=form.purpose.data or "",
            filename=filename,
            content=upload.read() if upload else b"",
            now=utcnow(),
        )
    except DomainError as exc:
        if show_problems(form, exc.fields) or not exc.fields:
            flash(str(exc.message), "error")
        if form.file.errors and filename:
            form.file.errors.append(_("“%(name)s” was not added.", name=filename))
        return _upload_refused(load_application(application_id), form, exc.status)
    flash(_("File added."), "success")
    return redirect(url_for("applications.edit", application_id=application.id) + "#files")


def _upload_refused(application: Application, form: AttachmentForm, status: int) -> tuple[str, int]:
    """The edit page again, the application as stored and the upload's message by its field."""
    return _render_form(
        application.kind,
        make_form(application.kind, application, posted=False),
        application,
        status,
        attachment_form=form,
    )


def decision_form_for(application: Application) -> DecisionForm | None:
    """The empty decision form, when the current user decides the application's step."""
    if not can_decide(acting_user(), application):
        return None
    form = DecisionForm(formdata=None)
    form.reason_code.choices = reject_reason_choices()
    return form


def render_application(
    application: Application,
    *,
    decision_form: DecisionForm | None = None,
    withdraw_form: WithdrawForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The file's page; a refused decision or withdrawal comes back with what was chosen."""
    me = acting_user()
    can_edit = can_edit_application(me, application)
    return render_template(
        "applications/show.html",
        application=application,
        decision_form=decision_form
        if decision_form is not None
        else decision_form_for(application),
        withdraw_form=withdraw_form if withdraw_form is not None else WithdrawForm(formdata=None),
        confirm_form=ConfirmForm(),
        can_edit=can_edit,
        can_withdraw=can_withdraw_application(me, application),
        missing=applications.missing_fields(application) if can_edit else {},
        issued=issuance.pass_of(application),
        now=utcnow(),
    ), status


@bp.get("/<int:application_id>")
def show(application_id: int) -> tuple[str, int]:
    """The whole file on one page: fields, files, the timeline, and the decision form if due."""
    return render_application(load_application(application_id))


@bp.post("/<int:application_id>/submit")
@roles_required(Role.ENTERPRISE)
def submit(application_id: int) -> Response | tuple[str, int]:
    application = load_application(application_id)
    if ConfirmForm().validate_on_submit():
        try:
            applications.submit(acting_user(), application, now=utcnow())
        except ValidationFailed as exc:
            # The form as stored, with what is missing marked at each field.
            application = load_application(application_id)
            form = make_form(application.kind, application, posted=False)
            flash(str(exc.message), "error")
            return _render_form(
                application.kind, form, application, exc.status, show_problems(form, exc.fields)
            )
        except DomainError as exc:
            flash(str(exc.message), "error")
            return redirect(url_for("applications.edit", application_id=application_id))
        flash(_("Submitted. You will be told of every decision."), "success")
    return redirect(url_for("applications.show", application_id=application.id))


@bp.post("/<int:application_id>/withdraw")
@roles_required(Role.ENTERPRISE)
def withdraw(application_id: int) -> Response | tuple[str, int]:
    """Final, so only with the box ticked; without it the page says so beside the box."""
    application = load_application(application_id)
    if not can_withdraw_application(acting_user(), application):
        abort(403)
    form = WithdrawForm()
    if not form.validate_on_submit():
        return render_application(application, withdraw_form=form, status=422)
    try:
        applications.withdraw(acting_user(), application, now=utcnow())
    except DomainError as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("The application is withdrawn."), "success")
    return redirect(url_for("applications.show", application_id=application.id))


def serve_attachment(application_id: int, attachment_id: int) -> Response:
    """A file, only to those who may read its application, always as a download, never cached."""
    attachment = db.session.get(Attachment, attachment_id)
    if (
        attachment is None
        or attachment.application_id != application_id
        or not can_download_attachment(acting_user(), attachment)
    ):
        abort(404)
    path = attachments.attachment_path(attachment)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<int:application_id>/attachments/<int:attachment_id>")
def download(application_id: int, attachment_id: int) -> Response:
    return serve_attachment(application_id, attachment_id)


notifications_bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@notifications_bp.get("/")
def inbox() -> str:
    me = acting_user()
    return render_template(
        "notifications/index.html",
        items=notifications.recent(me),
        render=notifications.render,
        confirm_form=ConfirmForm(),
    )


@notifications_bp.post("/read")
def mark_read() -> Response:
    if ConfirmForm().validate_on_submit():
        notifications.mark_all_read(acting_user())
    return redirect(url_for("notifications.inbox"))
