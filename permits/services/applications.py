"""The enterprise's verbs: draft, edit, submit, withdraw; the fields are checked by `clean`
(services/application_fields.py), the one validation of form, spreadsheet and API.

Drafts may be incomplete, but whatever a draft holds is valid; submit checks completeness.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from permits import audit, regions
from permits.extensions import db
from permits.models import (
    Application,
    Attachment,
    Decision,
    Driver,
    Kind,
    Role,
    User,
)
from permits.services import notifications, workflows
from permits.services.application_fields import COLUMN_OF, REQUIRED, REQUIRED_MESSAGE
from permits.services.application_fields import clean as clean  # the callers' one entry point
from permits.services.application_fields import today as today
from permits.services.conflict_locks import hold
from permits.services.conflicts import conflicts, values_of
from permits.services.errors import (
    Conflict,
    NotAllowed,
    ValidationFailed,
)
from permits.services.state import StateMoved, move
from permits.workflow import EDITABLE, Action, IllegalTransition, State

INVALID = _l("Some fields need your attention.")

log = logging.getLogger(__name__)


def _check_dates(application: Application, problems: dict[str, str], *, now: datetime) -> None:
    _check_period(
        application.kind, application.valid_from, application.valid_until, problems, now=now
    )


def _check_period(
    kind: Kind, start: date | None, end: date | None, problems: dict[str, str], *, now: datetime
) -> None:
    start_field = "resume_date" if kind is Kind.WORK_RESUMPTION else "valid_from"
    if start is not None and start < today(now):
        problems[start_field] = str(_l("The start cannot be in the past."))
    if start is not None and end is not None:
        longest = int(current_app.config["MAX_VALIDITY_DAYS"])
        if end < start:
            problems["valid_until"] = str(_l("The end cannot be before the start."))
        elif (end - start).days + 1 > longest:
            too_long = (
                _l("A permit is valid for at most %(n)d days; choose an earlier end.", n=longest)
                if kind is Kind.WORK_RESUMPTION
                else _l("A pass is valid for at most %(n)d days; choose an earlier end.", n=longest)
            )
            problems["valid_until"] = str(too_long)


def _route_vehicle(application: Application, problems: dict[str, str]) -> None:
    district = _vehicle_district(application.origin, application.destination, problems)
    if district is not None:
        application.district = district


def _vehicle_district(
    origin: str | None, destination: str | None, problems: dict[str, str]
) -> str | None:
    """A vehicle pass is decided in its origin district, or its destination when coming in."""
    city = current_app.config["CITY_CODE"]
    for code in (origin, destination):
        if code and regions.is_district_of(code, city):
            return code
    if origin and destination:
        problems["origin"] = str(
            _l("The origin or the destination must be a district of this city.")
        )
    return None


def _columns(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]] | None]:
    """Cleaned fields → (application columns, the drivers if given)."""
    columns: dict[str, Any] = {}
    drivers: list[dict[str, str]] | None = None
    for name, value in values.items():
        if name == "drivers":
            drivers = list(value or [])
        else:
            columns[COLUMN_OF.get(name, name)] = value
    return columns, drivers


def _apply(application: Application, values: dict[str, Any], *, now: datetime) -> None:
    columns, drivers = _columns(values)
    for name, value in columns.items():
        setattr(application, name, value)
    if drivers is not None:
        application.drivers = [
            Driver(position=i, **driver) for i, driver in enumerate(drivers, start=1)
        ]
    application.updated_at = now


def _validate_and_apply(
    application: Application,
    data: Mapping[str, Any],
    *,
    now: datetime,
    check_conflicts: bool = True,
) -> None:
    cleaned = clean(application.kind, data, now=now)
    if cleaned.problems:
        raise ValidationFailed(INVALID, cleaned.problems)
    _apply(application, cleaned.values, now=now)
    problems: dict[str, str] = {}
    if set(data) & {"resume_date", "valid_from", "valid_until"}:
        _check_dates(application, problems, now=now)
    if application.kind is Kind.VEHICLE_PASS:
        _route_vehicle(application, problems)
        if check_conflicts:
            problems.update(taken_by_others(application, now=now))
    if problems:
        raise ValidationFailed(INVALID, problems)


def taken_by_others(application: Application, *, now: datetime) -> dict[str, str]:
    """The vehicle's plate or drivers already on another overlapping pass or application,
    held (`conflict_locks.hold`) until the caller's write commits."""
    with db.session.no_autoflush:  # the application's unsaved changes are not the other's
        values = values_of(application)
        hold([values])
        return conflicts(
            values,
            now=now,
            enterprise_id=application.enterprise_id,
            exclude_application_id=application.id,
            renewal_of_id=application.renewal_of_id,
        )


def create_draft(
    actor: User, kind: Kind | str, data: Mapping[str, Any], *, now: datetime
) -> Application:
    """A new draft for the actor's enterprise; the given fields must be valid."""
    if actor.role is not Role.ENTERPRISE or actor.enterprise is None:
        raise NotAllowed(_l("Only enterprise accounts apply."))
    try:
        kind = Kind(kind)
    except ValueError:
        raise ValidationFailed(
            INVALID, {"kind": _l("The kind is work_resumption or vehicle_pass.")}
        ) from None
    enterprise = actor.enterprise
    application = Application(
        kind=kind,
        enterprise_id=enterprise.id,
        enterprise=enterprise,
        created_by_id=actor.id,
        status=State.DRAFT,
        round=0,
        district=enterprise.district,
        created_at=now,
        updated_at=now,
    )
    if kind is Kind.WORK_RESUMPTION:
        application.contact_name = enterprise.contact_name
        application.contact_phone = enterprise.contact_phone
    _validate_and_apply(application, data, now=now)
    db.session.add(application)
    db.session.flush()
    audit.record(
        "application.create", actor=actor, obj=application, details={"kind": kind.value}, now=now
    )
    return application


@dataclass
class Prepared:
    """A new application checked but not stored: its columns and its drivers as plain values.

    A spreadsheet's thousands of rows are checked on the preview and again on the submit, then
    inserted in bulk; as ORM objects their bookkeeping alone cost about 0.1 ms a row each time,
    and flushing 10,000 of them about 4 s.
    """

    values: dict[str, Any]
    drivers: list[dict[str, str]]

    @property
    def plate(self) -> str | None:
        return self.values.get("plate")

    def conflict_fields(self) -> dict[str, Any]:
        """What `conflicts` reads (as `values_of` gives it for a stored application)."""
        return {
            "plate": self.values.get("plate"),
            "drivers": [{"id_number": d["id_number"]} for d in self.drivers],
            "valid_from": self.values.get("valid_from"),
            "valid_until": self.values.get("valid_until"),
        }


def prepare_new(
    actor: User,
    kind: Kind,
    data: Mapping[str, Any],
    *,
    now: datetime,
    check_conflicts: bool = True,
) -> tuple[Prepared, dict[str, str]]:
    """A new application filled from these fields, not stored, with what create_draft and then
    submit would refuse in them, by field (none: it can be stored and submitted as it is).

    The same checks, in the same order, as `create_draft` (`_validate_and_apply`) followed by
    `submit`, on plain values. A spreadsheet's rows are checked with it before the enterprise
    chooses to submit them; `check_conflicts=False` leaves the conflict check to the caller
    (see bulk.check_rows).
    """
    assert actor.enterprise is not None
    values: dict[str, Any] = {
        "kind": kind,
        "enterprise_id": actor.enterprise.id,
        "created_by_id": actor.id,
        "status": State.DRAFT,
        "round": 0,
        "district": actor.enterprise.district,
        "created_at": now,
        "updated_at": now,
    }
    prepared = Prepared(values=values, drivers=[])
    cleaned = clean(kind, data, now=now)
    if cleaned.problems:
        return prepared, cleaned.problems
    columns, drivers = _columns(cleaned.values)
    values.update(columns)
    if drivers is not None:
        prepared.drivers = drivers
    problems: dict[str, str] = {}
    if set(data) & {"resume_date", "valid_from", "valid_until"}:
        _check_period(kind, values.get("valid_from"), values.get("valid_until"), problems, now=now)
    if kind is Kind.VEHICLE_PASS:
        _route_prepared(prepared, problems)
        if check_conflicts:
            problems.update(prepared_taken(prepared, now=now))
    if problems:
        return prepared, problems
    problems = _missing(kind, {**values, "drivers": prepared.drivers}, attachments=())
    _check_period(kind, values.get("valid_from"), values.get("valid_until"), problems, now=now)
    if kind is Kind.VEHICLE_PASS:
        _route_prepared(prepared, problems)
    return prepared, problems


def _route_prepared(prepared: Prepared, problems: dict[str, str]) -> None:
    values = prepared.values
    district = _vehicle_district(values.get("origin"), values.get("destination"), problems)
    if district is not None:
        values["district"] = district


def prepared_taken(prepared: Prepared, *, now: datetime) -> dict[str, str]:
    """`taken_by_others` for an application not stored yet."""
    return conflicts(
        prepared.conflict_fields(), now=now, enterprise_id=prepared.values["enterprise_id"]
    )


def update_draft(
    actor: User, application: Application, data: Mapping[str, Any], *, now: datetime
) -> None:
    """Changes the given fields of a draft or returned application."""
    if "kind" in data and data["kind"] != application.kind.value:
        raise ValidationFailed(INVALID, {"kind": _l("The kind of an application cannot change.")})
    if application.status not in EDITABLE:
        raise Conflict(_l("Only a draft or a returned application can be changed."))
    _validate_and_apply(application, {k: v for k, v in data.items() if k != "kind"}, now=now)
    db.session.flush()
    audit.record(
        "application.update",
        actor=actor,
        obj=application,
        details={"fields": sorted(data)},
        now=now,
    )


def missing_fields(application: Application) -> dict[str, str]:
    """What a submission still lacks, by field."""
    columns = [COLUMN_OF.get(name, name) for name in REQUIRED[application.kind]]
    values = {column: getattr(application, column) for column in columns}
    return _missing(application.kind, values, attachments=application.attachments)


def _missing(
    kind: Kind, columns: Mapping[str, Any], *, attachments: Sequence[Attachment]
) -> dict[str, str]:
    """What a submission lacks, from the application's columns (and "drivers")."""
    values = {**columns, "resume_date": columns.get("valid_from")}
    missing = {
        name: str(REQUIRED_MESSAGE)
        for name in REQUIRED[kind]
        if values.get(name) is None or values[name] == "" or values[name] == []
    }
    if kind is Kind.WORK_RESUMPTION and not any(
        a.purpose == "prevention_plan" for a in attachments
    ):
        missing["prevention_plan"] = str(
            _l("Upload the epidemic prevention plan (PDF, JPEG or PNG) before submitting.")
        )
    return missing


def submit(actor: User, application: Application, *, now: datetime) -> Application:
    """Sends a complete draft (or a fixed returned application) to step 1 of the current chain.

    A resubmission starts on the current version too: a return ends the old round.
    """
    problems = missing_fields(application)
    _check_dates(application, problems, now=now)
    if application.kind is Kind.VEHICLE_PASS:
        _route_vehicle(application, problems)
        taken = taken_by_others(application, now=now)
        if taken and not problems:
            raise ValidationFailed(
                _l("The vehicle or a driver is already on another pass for these dates."), taken
            )
        problems.update(taken)
    if problems:
        raise ValidationFailed(_l("The application is not complete yet."), problems)
    workflow = workflows.current_workflow(application.kind)
    first = workflows.step_at(workflow, 1)
    signer = workflows.signer(first, application)
    try:
        move(
            application,
            Action.SUBMIT,
            now=now,
            values={
                "workflow_id": workflow.id,
                "round": application.round + 1,
                "submitted_at": now,
                **workflows.enter_step(first, signer, now=now),
            },
        )
    except IllegalTransition:
        raise Conflict(_l("This application was submitted already.")) from None
    except StateMoved:
        raise Conflict(_l("This application changed in the meantime; reload it.")) from None
    application.workflow = workflow
    _record_applicant_action(actor, application, Action.SUBMIT, now=now)
    notifications.notify([application.created_by], "submitted", application, step=1)
    notifications.notify(
        notifications.approvers_of(signer.department_code, signer.scope), "waiting", application
    )
    return application


def _record_applicant_action(
    actor: User, application: Application, action: Action, *, now: datetime
) -> None:
    """A submission or withdrawal joins the timeline (as a step-less entry) and the audit log."""
    db.session.add(
        Decision(
            application_id=application.id,
            round=application.round,
            step=None,
            action=action,
            actor_id=actor.id,
            comment="",
            created_at=now,
        )
    )
    db.session.flush()
    audit.record(
        f"application.{action.value}",
        actor=actor,
        obj=application,
        details={"round": application.round},
        now=now,
    )


def withdraw(actor: User, application: Application, *, now: datetime) -> Application:
    """The enterprise takes back a draft or an application under review; final."""
    department_code, scope = application.current_department_code, application.current_scope
    try:
        move(
            application,
            Action.WITHDRAW,
            now=now,
            values={**workflows.AT_NO_STEP, "closed_at": now},
        )
    except IllegalTransition:
        raise Conflict(_l("This application can no longer be withdrawn.")) from None
    except StateMoved:
        raise Conflict(_l("This application changed in the meantime; reload it.")) from None
    _record_applicant_action(actor, application, Action.WITHDRAW, now=now)
    if department_code is not None and scope is not None:
        notifications.notify(
            notifications.approvers_of(department_code, scope), "withdrawn", application
        )
    return application
