"""Enterprises, departments and checkpoints: the organisations users belong to."""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from permits import audit, regions, validators
from permits.extensions import db
from permits.models import (
    CITY_SCOPE,
    DEPARTMENT_CODES,
    Checkpoint,
    Decision,
    Department,
    Enterprise,
    Role,
    User,
)
from permits.services import text as typed_text
from permits.services.errors import Conflict, ValidationFailed

USCC_MESSAGES = {
    "length": _l("A unified social credit code has 18 characters."),
    "characters": _l(
        "This is not a unified social credit code: it uses only digits and the letters "
        "A–Y without I, O, Z, S and V."
    ),
    "check": _l(
        "The last character of this unified social credit code does not match the others; "
        "please check each character against your business licence."
    ),
}
USCC_TAKEN = _l(
    "An enterprise with this code is registered already. Ask the colleague who holds its "
    "account to add you, or contact the service desk."
)
_CHECKPOINT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


def city_code() -> str:
    return str(current_app.config["CITY_CODE"])


def district_problem(code: str) -> str | None:
    if not regions.is_district_of(code, city_code()):
        return str(_l("Choose one of the city's districts."))
    return None


def normalize_email(value: str) -> str:
    """Lower-cased and checked; raises ValidationFailed on the `email` field."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"email": _l("Enter an email address such as name@example.com.")},
        ) from None


@dataclass(frozen=True)
class EnterpriseDetails:
    uscc: str
    name: str
    district: str
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    email: str = ""


def enterprise_problems(details: EnterpriseDetails, *, require_contact: bool) -> dict[str, str]:
    """Each wrong field of an enterprise with its message; empty when all is well."""
    problems: dict[str, str] = {}
    uscc_issue = validators.uscc_problem(details.uscc)
    if uscc_issue:
        problems["uscc"] = str(USCC_MESSAGES[uscc_issue])
    if not details.name.strip():
        problems["name"] = str(_l("Enter the enterprise's registered name."))
    elif len(details.name.strip()) > 200:
        problems["name"] = str(_l("At most 200 characters."))
    district_issue = district_problem(details.district)
    if district_issue:
        problems["district"] = district_issue
    if require_contact:
        if not details.address.strip():
            problems["address"] = str(_l("Enter the address of the enterprise."))
        if not details.contact_name.strip():
            problems["contact_name"] = str(_l("Enter the name of a contact person."))
        if not validators.is_mobile(details.contact_phone):
            problems["contact_phone"] = str(
                _l("Enter a mainland mobile number of 11 digits, such as 13812345678.")
            )
    single_line = {"name": details.name, "address": details.address}
    typed_text.check(problems, single_line | {"contact_name": details.contact_name})
    return problems


def create_enterprise(details: EnterpriseDetails, *, require_contact: bool = False) -> Enterprise:
    """A new enterprise; refuses a bad field or a USCC that is registered already."""
    problems = enterprise_problems(details, require_contact=require_contact)
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    uscc = validators.normalize_uscc(details.uscc)
    if db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc)) is not None:
        raise Conflict(
            _l("This enterprise is registered already."),
            {"uscc": USCC_TAKEN},
        )
    enterprise = Enterprise(
        uscc=uscc,
        name=details.name.strip(),
        district=details.district,
        address=details.address.strip(),
        contact_name=details.contact_name.strip(),
        contact_phone=validators.normalize_mobile(details.contact_phone)
        if details.contact_phone
        else "",
        email=details.email.strip().lower(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(enterprise)
    except IntegrityError:
        # Registered by someone else a moment ago (PostgreSQL lets both pass the check above).
        raise Conflict(_l("This enterprise is registered already."), {"uscc": USCC_TAKEN}) from None
    audit.record("enterprise.create", actor=None, obj=enterprise, details={"uscc": uscc})
    return enterprise


def enterprise_by_uscc(uscc: str) -> Enterprise | None:
    return db.session.scalar(
        select(Enterprise).where(Enterprise.uscc == validators.normalize_uscc(uscc))
    )


def department_problems(code: str, scope: str) -> dict[str, str]:
    """Each wrong part of a department (fields `department` and `scope`); empty when all is well."""
    problems: dict[str, str] = {}
    if code not in DEPARTMENT_CODES:
        problems["department"] = str(
            _l("Unknown department code; use one of: %(codes)s", codes=", ".join(DEPARTMENT_CODES))
        )
    if scope != CITY_SCOPE and district_problem(scope):
        problems["scope"] = str(_l("The scope is a district code of the city, or “city”."))
    return problems


def _department(code: str, scope: str) -> Department | None:
    return db.session.scalar(
        select(Department).where(Department.code == code, Department.scope == scope)
    )


def get_or_create_department(code: str, scope: str) -> Department:
    """The department (code, scope), made if it does not exist yet."""
    problems = department_problems(code, scope)
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    department = _department(code, scope)
    if department is None:
        department = Department(code=code, scope=scope)
        db.session.add(department)
        db.session.flush()
        audit.record(
            "department.create", actor=None, obj=department, details={"code": code, "scope": scope}
        )
    return department


DEPARTMENT_EXISTS = _l("This department exists already, with this scope.")
DEPARTMENT_IN_USE = _l(
    "Approvers or decisions belong to this department, so its code and scope cannot change: "
    "that would move their reach. Create the department you need instead, then move the "
    "approvers to it on the Users page."
)


def create_department(code: str, scope: str, *, actor: User) -> Department:
    """A new department; refuses a bad code or scope, and one that exists already."""
    problems = department_problems(code, scope)
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    if _department(code, scope) is not None:
        raise Conflict(DEPARTMENT_EXISTS, {"scope": DEPARTMENT_EXISTS})
    department = Department(code=code, scope=scope)
    try:
        with db.session.begin_nested():
            db.session.add(department)
    except IntegrityError:
        raise Conflict(DEPARTMENT_EXISTS, {"scope": DEPARTMENT_EXISTS}) from None
    audit.record(
        "department.create", actor=actor, obj=department, details={"code": code, "scope": scope}
    )
    return department


def department_is_in_use(department: Department) -> bool:
    """Users or decisions refer to it: its code and scope are then part of who may do what."""
    users = select(User.id).where(User.department_id == department.id)
    decisions = select(Decision.id).where(Decision.department_id == department.id)
    return bool(db.session.scalar(select(or_(users.exists(), decisions.exists()))))


def change_department(department: Department, code: str, scope: str, *, actor: User) -> None:
    """A new code or scope for a department nobody belongs to yet (a typo fixed)."""
    if (code, scope) == (department.code, department.scope):
        return
    problems = department_problems(code, scope)
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    if department_is_in_use(department):
        raise Conflict(DEPARTMENT_IN_USE, {"department": DEPARTMENT_IN_USE})
    if _department(code, scope) is not None:
        raise Conflict(DEPARTMENT_EXISTS, {"scope": DEPARTMENT_EXISTS})
    before = {"code": department.code, "scope": department.scope}
    try:
        with db.session.begin_nested():
            department.code, department.scope = code, scope
    except IntegrityError:
        raise Conflict(DEPARTMENT_EXISTS, {"scope": DEPARTMENT_EXISTS}) from None
    audit.record(
        "department.change",
        actor=actor,
        obj=department,
        details={"from": before, "to": {"code": code, "scope": scope}},
    )


def delete_department(department: Department, *, actor: User) -> None:
    """Removes a department made by mistake; one that users or decisions refer to stays."""
    if department_is_in_use(department):
        raise Conflict(
            _l("Approvers or decisions belong to this department; it cannot be deleted.")
        )
    details = {"code": department.code, "scope": department.scope}
    audit.record("department.delete", actor=actor, obj=department, details=details)
    db.session.delete(department)
    db.session.flush()


def departments_with_approvers() -> list[tuple[Department, int]]:
    """Every department with its number of active approvers, by code then scope.

    Not paginated: there are at most 7 codes times (districts + 1) scopes.
    """
    approvers = (
        select(func.count(User.id))
        .where(
            User.department_id == Department.id,
            User.role == Role.APPROVER,
            User.is_active.is_(True),
        )
        .correlate(Department)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Department, approvers).order_by(Department.code, Department.scope)
    )
    return [(department, int(count)) for department, count in rows]


@dataclass(frozen=True)
class CheckpointDetails:
    code: str
    name: str
    district: str
    latitude: float | None = None
    longitude: float | None = None
    is_active: bool = True


CHECKPOINT_CODE_TAKEN = _l("A checkpoint with this code exists already.")


def checkpoint_problems(details: CheckpointDetails) -> dict[str, str]:
    """Each wrong field of a checkpoint with its message; empty when all is well."""
    problems: dict[str, str] = {}
    if not _CHECKPOINT_CODE.fullmatch(details.code):
        problems["code"] = str(
            _l("A checkpoint code has 1–32 letters, digits, hyphens or underscores.")
        )
    if not details.name.strip():
        problems["name"] = str(_l("Enter the checkpoint's name."))
    elif len(details.name.strip()) > 100:
        problems["name"] = str(_l("At most %(n)d characters.", n=100))
    district_issue = district_problem(details.district)
    if district_issue:
        problems["district"] = district_issue
    latitude, longitude = details.latitude, details.longitude
    if latitude is not None and not -90 <= latitude <= 90:
        problems["latitude"] = str(_l("A latitude lies between -90 and 90."))
    if longitude is not None and not -180 <= longitude <= 180:
        problems["longitude"] = str(_l("A longitude lies between -180 and 180."))
    if latitude is None and longitude is not None:
        problems["latitude"] = str(_l("Enter both coordinates, or neither."))
    if longitude is None and latitude is not None:
        problems["longitude"] = str(_l("Enter both coordinates, or neither."))
    typed_text.check(problems, {"name": details.name})
    return problems


def create_checkpoint(
    code: str,
    name: str,
    district: str,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    is_active: bool = True,
) -> Checkpoint:
    details = CheckpointDetails(code, name, district, latitude, longitude, is_active)
    problems = checkpoint_problems(details)
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    if checkpoint_by_code(code) is not None:
        raise Conflict(CHECKPOINT_CODE_TAKEN, {"code": CHECKPOINT_CODE_TAKEN})
    checkpoint = Checkpoint(
        code=code,
        name=name.strip(),
        district=district,
        latitude=latitude,
        longitude=longitude,
        is_active=is_active,
    )
    try:
        with db.session.begin_nested():
            db.session.add(checkpoint)
    except IntegrityError:
        raise Conflict(CHECKPOINT_CODE_TAKEN, {"code": CHECKPOINT_CODE_TAKEN}) from None
    audit.record("checkpoint.create", actor=None, obj=checkpoint, details={"code": code})
    return checkpoint


def update_checkpoint(checkpoint: Checkpoint, details: CheckpointDetails, *, actor: User) -> None:
    """New details for a checkpoint; the coordinates feed the anomaly check of later scans."""
    problems = checkpoint_problems(details)
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    other = checkpoint_by_code(details.code)
    if other is not None and other.id != checkpoint.id:
        raise Conflict(CHECKPOINT_CODE_TAKEN, {"code": CHECKPOINT_CODE_TAKEN})
    wanted = {
        "code": details.code,
        "name": details.name.strip(),
        "district": details.district,
        "latitude": details.latitude,
        "longitude": details.longitude,
        "is_active": details.is_active,
    }
    changes = {
        name: {"from": getattr(checkpoint, name), "to": value}
        for name, value in wanted.items()
        if getattr(checkpoint, name) != value
    }
    if not changes:
        return
    try:
        with db.session.begin_nested():
            for name, value in wanted.items():
                setattr(checkpoint, name, value)
    except IntegrityError:
        raise Conflict(CHECKPOINT_CODE_TAKEN, {"code": CHECKPOINT_CODE_TAKEN}) from None
    audit.record("checkpoint.change", actor=actor, obj=checkpoint, details=changes)


def list_checkpoints(*, offset: int, limit: int) -> list[Checkpoint]:
    """A page of checkpoints, by district then code."""
    query = select(Checkpoint).order_by(Checkpoint.district, Checkpoint.code, Checkpoint.id)
    return list(db.session.scalars(query.offset(offset).limit(limit)))


def checkpoint_by_code(code: str) -> Checkpoint | None:
    return db.session.scalar(select(Checkpoint).where(Checkpoint.code == code))
