"""Demand tickets in the browser: the enterprise files and follows its own, the departments work
through their queue, the supervisors assign what was transferred too often; one page per ticket
shows each side its history and the actions its state allows (the services decide)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from permits import regions
from permits.database import MAX_ROW_ID
from permits.demand_workflow import FINAL, HELD, DemandAction, DemandState, available_actions
from permits.extensions import db
from permits.forms.common import ConfirmForm, show_problems
from permits.forms.demands import (
    AnswerForm,
    AssignForm,
    ConfirmDemandForm,
    CopyForm,
    FileDemandForm,
    NoteForm,
    ReopenForm,
    TransferForm,
)
from permits.i18n import current_locale_name
from permits.inputs import int_arg
from permits.labels import DEMAND_CATEGORY_NAMES, DEMAND_STATE_NAMES, DEPARTMENT_NAMES, KIND_NAMES
from permits.models import CITY_SCOPE, DEPARTMENT_CODES, Demand, DemandCategory, Role, User, utcnow
from permits.permissions import acting_user, roles_required
from permits.services import (
    application_queries,
    demand_handling,
    demand_queries,
    demand_queues,
    demands,
)
from permits.services.demand_changes import can_see, holds, is_copied, owns
from permits.services.errors import DomainError, ValidationFailed

bp = Blueprint("demands", __name__, url_prefix="/demands")

PAGE_SIZE = 20
HANDLING = (Role.APPROVER, Role.HANDLER)
#: Everyone who may read some ticket (checkpoint staff never do).
READERS = (Role.ENTERPRISE, *HANDLING, Role.SUPERVISOR, Role.ADMIN)
#: The states a department's queue can be filtered by: those it works on, and those answered.
QUEUE_STATES = (*sorted(HELD), DemandState.ANSWERED)

FORMS: dict[str, type[FlaskForm]] = {
    "withdraw": ConfirmForm,
    "confirm": ConfirmDemandForm,
    "reopen": ReopenForm,
    "accept": ConfirmForm,
    "answer": AnswerForm,
    "transfer": TransferForm,
    "copy_in": CopyForm,
    "note": NoteForm,
    "assign": AssignForm,
}


def load_demand(demand_id: int) -> Demand:
    """A ticket the current user may see; 404 otherwise (its existence is not told)."""
    demand = db.session.get(Demand, demand_id) if demand_id <= MAX_ROW_ID else None
    if demand is None or not can_see(acting_user(), demand):
        abort(404)
    return demand


def _choices(names: Mapping[Any, Any], first: str | None = None) -> list[SelectChoice]:
    head = [SelectChoice("", first)] if first is not None else []
    return head + [SelectChoice(str(getattr(c, "value", c)), str(n)) for c, n in names.items()]


def _departments() -> list[SelectChoice]:
    return _choices({c: DEPARTMENT_NAMES[c] for c in DEPARTMENT_CODES}, _("Choose…"))


def _scopes() -> list[SelectChoice]:
    locale = current_locale_name()
    city = regions.division(current_app.config["CITY_CODE"])
    return [
        SelectChoice("", _("Choose…")),
        SelectChoice(CITY_SCOPE, city.name(locale) if city else CITY_SCOPE),
        *(
            SelectChoice(d.code, d.name(locale))
            for d in regions.districts(current_app.config["CITY_CODE"])
        ),
    ]


def new_form(action: str, *, posted: bool = False) -> Any:
    """The action's form, empty, or as posted; its choices filled."""
    form: Any = FORMS[action](formdata=request.form if posted else None)
    if action == "transfer":
        form.department.choices = _departments()
    elif action == "copy_in":
        form.copy_department.choices = _departments()
    elif action == "assign":
        form.department.choices = _departments()
        form.scope.choices = _scopes()
    return form


def actions_for(user: User, demand: Demand) -> list[str]:
    """What the user may try on the ticket now (the services judge the rest)."""
    possible = {a.value for a in available_actions(demand.status)}
    found: list[str] = []
    if owns(user, demand):
        found += [a for a in ("withdraw", "confirm", "reopen") if a in possible]
    if holds(user, demand):
        found += [a for a in ("accept", "answer", "transfer") if a in possible]
        found += ["copy_in"] if demand.status not in FINAL else []
    if (holds(user, demand) or is_copied(user, demand)) and demand.status not in FINAL:
        found.append("note")
    if user.role is Role.SUPERVISOR and DemandAction.ASSIGN.value in possible:
        found.append("assign")
    return found


def render_demand(
    demand: Demand, refused: Mapping[str, Any] | None = None, status: int = 200
) -> tuple[str, int]:
    """The ticket's page; a refused form comes back as it was sent, its messages beside it."""
    me = acting_user()
    refused = refused or {}
    forms = {a: refused.get(a) or new_form(a) for a in actions_for(me, demand)}
    return render_template(
        "demands/show.html",
        demand=demand,
        history=demand_queries.history_for(me, demand),
        forms=forms,
        is_owner=owns(me, demand),
        now=utcnow(),
    ), status


@bp.get("/<int:demand_id>")
@roles_required(*READERS)
def show(demand_id: int) -> tuple[str, int]:
    return render_demand(load_demand(demand_id))


Call = Callable[[User, Demand, Any], object]


def _act(demand_id: int, action: str, call: Call, done: str) -> Response | tuple[str, int]:
    """Load → check → one service call → flash and back to the ticket; a refused form is shown
    again with what was typed and each message beside its field (the refusal is rolled back)."""
    demand = load_demand(demand_id)
    form = new_form(action, posted=True)
    if not form.validate_on_submit():
        return render_demand(demand, {action: form}, status=400)
    try:
        call(acting_user(), demand, form)
    except ValidationFailed as exc:
        fields = {
            ("copy_department" if k == "department" and action == "copy_in" else k): v
            for k, v in exc.fields.items()
        }
        if show_problems(form, fields):
            flash(str(exc.message), "error")
        return render_demand(load_demand(demand_id), {action: form}, status=exc.status)
    except DomainError as exc:
        flash(str(exc.message), "error")
    else:
        flash(done, "success")
        if not can_see(acting_user(), demand):  # transferred away: back to what is left
            return redirect(url_for("demands.queue"))
    return redirect(url_for("demands.show", demand_id=demand_id))


# --- the enterprise -------------------------------------------------------------------------


@bp.get("/")
@roles_required(Role.ENTERPRISE)
def index() -> str:
    """The enterprise's tickets, newest first."""
    me = acting_user()
    assert me.enterprise_id is not None
    items = demand_queues.enterprise_demands(
        me.enterprise_id, before_id=int_arg("before"), limit=PAGE_SIZE + 1
    )
    return render_template(
        "demands/index.html",
        items=items[:PAGE_SIZE],
        older=items[PAGE_SIZE - 1].id if len(items) > PAGE_SIZE else None,
        now=utcnow(),
    )


def _file_form(enterprise_id: int) -> FileDemandForm:
    form = FileDemandForm()
    form.category.choices = _choices(DEMAND_CATEGORY_NAMES, _("Choose…"))
    own = application_queries.enterprise_applications(enterprise_id, limit=50)
    form.application_id.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(str(a.id), f"#{a.id} · {KIND_NAMES[a.kind]}") for a in own
    ]
    return form


def _application_id(raw: str | None) -> int | None:
    """The chosen application's id; a number no row can have is 0, which none of them is."""
    raw = (raw or "").strip()
    if not raw:
        return None
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) <= MAX_ROW_ID else 0


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE)
def new() -> Response | tuple[str, int]:
    me = acting_user()
    assert me.enterprise_id is not None
    form = _file_form(me.enterprise_id)
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("demands/new.html", form=form), status
    try:
        demand = demands.file_demand(
            me,
            category=form.category.data or "",
            title=form.title.data or "",
            description=form.description.data or "",
            application_id=_application_id(form.application_id.data),
            now=utcnow(),
        )
    except DomainError as exc:
        if show_problems(form, exc.fields) or not exc.fields:
            flash(str(exc.message), "error")
        return render_template("demands/new.html", form=form), exc.status
    flash(
        _("Your demand is filed; the department is told and you will hear of every step."),
        "success",
    )
    return redirect(url_for("demands.show", demand_id=demand.id))


@bp.post("/<int:demand_id>/withdraw")
@roles_required(Role.ENTERPRISE)
def withdraw(demand_id: int) -> Response | tuple[str, int]:
    return _act(
        demand_id,
        "withdraw",
        lambda me, demand, form: demands.withdraw(me, demand, now=utcnow()),
        _("The demand is withdrawn."),
    )


@bp.post("/<int:demand_id>/confirm")
@roles_required(Role.ENTERPRISE)
def confirm(demand_id: int) -> Response | tuple[str, int]:
    return _act(
        demand_id,
        "confirm",
        lambda me, demand, form: demands.confirm(
            me,
            demand,
            rating=form.rating.data or "",
            comment=form.comment.data or "",
            now=utcnow(),
        ),
        _("Thank you: the demand is closed as solved."),
    )


@bp.post("/<int:demand_id>/reopen")
@roles_required(Role.ENTERPRISE)
def reopen(demand_id: int) -> Response | tuple[str, int]:
    return _act(
        demand_id,
        "reopen",
        lambda me, demand, form: demands.reopen(
            me, demand, reason=form.reason.data or "", now=utcnow()
        ),
        _("The demand is reopened; the department will answer again."),
    )


# --- the departments ------------------------------------------------------------------------


def _enum_arg(name: str, enum_type: type[Any], allowed: Any) -> Any:
    try:
        value = enum_type(request.args.get(name) or "")
    except ValueError:
        return None
    return value if value in allowed else None


@bp.get("/queue")
@roles_required(*HANDLING)
def queue() -> str:
    """What my department holds, soonest due first (the overdue on top), and what it was
    copied in on."""
    department = acting_user().department
    if department is None:
        abort(403)
    filters = demand_queues.QueueFilter(
        category=_enum_arg("category", DemandCategory, set(DemandCategory)),
        status=_enum_arg("status", DemandState, set(QUEUE_STATES)),
        district=(request.args.get("district") or "")[:6] or None,
    )
    items = demand_queues.department_queue(
        department, filters, after=(request.args.get("after") or "")[:64], limit=PAGE_SIZE + 1
    )
    return render_template(
        "demands/queue.html",
        department=department,
        items=items[:PAGE_SIZE],
        more=demand_queues.encode_cursor(items[PAGE_SIZE - 1]) if len(items) > PAGE_SIZE else None,
        copied=demand_queues.copied_to(department),
        filters=filters,
        categories=_choices(DEMAND_CATEGORY_NAMES),
        states=[SelectChoice(s.value, str(DEMAND_STATE_NAMES[s])) for s in QUEUE_STATES],
        districts=_scopes()[2:] if department.scope == CITY_SCOPE else [],
        now=utcnow(),
    )


@bp.post("/<int:demand_id>/accept")
@roles_required(*HANDLING)
def accept(demand_id: int) -> Response | tuple[str, int]:
    return _act(
        demand_id,
        "accept",
        lambda me, demand, form: demand_handling.accept(me, demand, now=utcnow()),
        _("Accepted: the enterprise is told. Answer it before it is due."),
    )


@bp.post("/<int:demand_id>/answer")
@roles_required(*HANDLING)
def answer(demand_id: int) -> Response | tuple[str, int]:
    return _act(
        demand_id,
        "answer",
        lambda me, demand, form: demand_handling.answer(
            me, demand, response=form.response.data or "", now=utcnow()
        ),
        _("Your answer is sent to the enterprise."),
    )


@bp.post("/<int:demand_id>/transfer")
@roles_required(*HANDLING)
def transfer(demand_id: int) -> Response | tuple[str, int]:
    return _act(
        demand_id,
        "transfer",
        lambda me, demand, form: demand_handling.transfer(
            me,
            demand,
            department_code=form.department.data or "",
            reason=form.reason.data or "",
            now=utcnow(),
        ),
        _("The demand is transferred."),
    )


@bp.post("/<int:demand_id>/copy")
@roles_required(*HANDLING)
def copy(demand_id: int) -> Response | tuple[str, int]:
    return _act(
        demand_id,
        "copy_in",
        lambda me, demand, form: demand_handling.copy_to(
            me, demand, department_code=form.copy_department.data or "", now=utcnow()
        ),
        _("The department is copied in."),
    )


@bp.post("/<int:demand_id>/note")
@roles_required(*HANDLING)
def note(demand_id: int) -> Response | tuple[str, int]:
    return _act(
        demand_id,
        "note",
        lambda me, demand, form: demand_handling.add_note(
            me, demand, text=form.text.data or "", now=utcnow()
        ),
        _("Note added."),
    )


# --- the supervisors ------------------------------------------------------------------------


@bp.get("/to-assign")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def to_assign() -> str:
    """Tickets transferred too often: the supervisors choose their department."""
    items = demand_queues.waiting_for_supervisors(after_id=int_arg("after"), limit=PAGE_SIZE + 1)
    return render_template(
        "demands/to_assign.html",
        items=items[:PAGE_SIZE],
        more=items[PAGE_SIZE - 1].id if len(items) > PAGE_SIZE else None,
        now=utcnow(),
    )


@bp.post("/<int:demand_id>/assign")
@roles_required(Role.SUPERVISOR)
def assign(demand_id: int) -> Response | tuple[str, int]:
    return _act(
        demand_id,
        "assign",
        lambda me, demand, form: demand_handling.assign(
            me,
            demand,
            department_code=form.department.data or "",
            scope=form.scope.data or "",
            now=utcnow(),
        ),
        _("The demand is assigned; the department is told."),
    )
