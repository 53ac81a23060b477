"""Names of the domain's codes in the reader's language (for pages, PDFs and messages)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from permits.demand_workflow import DemandAction, DemandNote, DemandState
from permits.models import (
    CargoCategory,
    DemandCategory,
    Kind,
    MassRevocationStatus,
    Role,
    VehicleType,
)
from permits.passes.token import Result
from permits.services.reviews import REJECT_REASONS
from permits.workflow import Action, State

ROLE_NAMES = {
    Role.ENTERPRISE: _l("Enterprise"),
    Role.APPROVER: _l("Approver"),
    Role.CHECKPOINT: _l("Checkpoint staff"),
    Role.ADMIN: _l("Administrator"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.HANDLER: _l("Demand handler"),
}

DEPARTMENT_NAMES = {
    "economy": _l("Economy and Informatization Commission"),
    "commerce": _l("Commerce Commission"),
    "health": _l("Health Commission"),
    "transport": _l("Transport Commission"),
    "postal": _l("Postal Administration"),
    "agriculture": _l("Agriculture and Rural Affairs Commission"),
    "development_reform": _l("Development and Reform Commission"),
}

KIND_NAMES = {
    Kind.WORK_RESUMPTION: _l("Work-resumption permit"),
    Kind.VEHICLE_PASS: _l("Vehicle pass"),
}

STATE_NAMES = {
    State.DRAFT: _l("Draft"),
    State.IN_REVIEW: _l("In review"),
    State.RETURNED: _l("Returned for changes"),
    State.APPROVED: _l("Approved"),
    State.REJECTED: _l("Rejected"),
    State.WITHDRAWN: _l("Withdrawn"),
}

ACTION_NAMES = {
    Action.SUBMIT: _l("Submitted"),
    Action.APPROVE: _l("Approved"),
    Action.RETURN: _l("Returned for changes"),
    Action.REJECT: _l("Rejected"),
    Action.WITHDRAW: _l("Withdrawn"),
}

VEHICLE_TYPE_NAMES = {
    VehicleType.HEAVY_TRUCK: _l("Heavy truck"),
    VehicleType.LIGHT_TRUCK: _l("Light truck"),
    VehicleType.VAN: _l("Van"),
    VehicleType.REFRIGERATED_TRUCK: _l("Refrigerated truck"),
    VehicleType.TANKER: _l("Tanker"),
    VehicleType.CAR: _l("Car"),
    VehicleType.BUS: _l("Bus"),
}

CARGO_NAMES = {
    CargoCategory.MEDICAL: _l("Medical supplies"),
    CargoCategory.DAILY_NECESSITIES: _l("Daily necessities"),
    CargoCategory.RESERVES: _l("Government reserves"),
    CargoCategory.POSTAL: _l("Post and express"),
    CargoCategory.AGRICULTURE: _l("Agricultural supplies"),
    CargoCategory.ENERGY: _l("Energy"),
    CargoCategory.RAW_MATERIALS: _l("Raw materials"),
    CargoCategory.INDUSTRIAL: _l("Industrial goods"),
    CargoCategory.FOREIGN_TRADE: _l("Foreign trade"),
}

PURPOSE_NAMES = {
    "prevention_plan": _l("Epidemic prevention plan"),
    "vehicle_licence": _l("Vehicle licence (行驶证)"),
    "driving_licence": _l("Driving licence (驾驶证)"),
    "other": _l("Other document"),
}


#: A scan's result in the words of the scanner's verdict (the officer's history lists them).
RESULT_NAMES = {
    Result.VALID: _l("VALID"),
    Result.EXPIRED: _l("EXPIRED"),
    Result.NOT_YET_VALID: _l("NOT VALID YET"),
    Result.REVOKED: _l("REVOKED"),
    Result.BAD_SIGNATURE: _l("FORGED"),
    Result.UNKNOWN_KEY: _l("UNKNOWN ISSUER"),
    Result.MALFORMED: _l("UNREADABLE"),
    Result.WRONG_PREFIX: _l("NOT A PASS"),
    Result.NOT_FOUND: _l("NO SUCH PASS"),
}


def reject_reason_choices() -> list[SelectChoice]:
    return [SelectChoice(code, str(label)) for code, label in REJECT_REASONS.items()]


MASS_REVOCATION_STATUS_NAMES = {
    MassRevocationStatus.PENDING: _l("Waiting for a second administrator"),
    MassRevocationStatus.DONE: _l("Carried out"),
    MassRevocationStatus.CANCELLED: _l("Cancelled"),
}

DEMAND_CATEGORY_NAMES = {
    DemandCategory.STAFF_RETURN: _l("Staff cannot return to work"),
    DemandCategory.LOGISTICS: _l("Logistics and transport"),
    DemandCategory.SUPPLY_CHAIN: _l("Suppliers or customers not resumed"),
    DemandCategory.PREVENTION_SUPPLIES: _l("Epidemic prevention supplies"),
    DemandCategory.TESTING: _l("Testing services"),
    DemandCategory.FINANCE: _l("Rent, tax and loans"),
    DemandCategory.UTILITIES: _l("Water, power, gas and networks"),
    DemandCategory.POLICY: _l("Policy questions"),
    DemandCategory.OTHER: _l("Other difficulty"),
}

DEMAND_STATE_NAMES = {
    DemandState.OPEN: _l("Waiting to be accepted"),
    DemandState.ACCEPTED: _l("Accepted, being handled"),
    DemandState.ANSWERED: _l("Answered, waiting for your confirmation"),
    DemandState.REOPENED: _l("Reopened, not solved"),
    DemandState.ASSIGNED_BY_SUPERVISOR: _l("With the supervisors, to be assigned"),
    DemandState.CLOSED: _l("Solved"),
    DemandState.CLOSED_UNCONFIRMED: _l("Closed without confirmation"),
    DemandState.WITHDRAWN: _l("Withdrawn"),
}

DEMAND_ACTION_NAMES = {
    DemandAction.FILE: _l("Filed"),
    DemandAction.ACCEPT: _l("Accepted"),
    DemandAction.ANSWER: _l("Answered"),
    DemandAction.TRANSFER: _l("Transferred"),
    DemandAction.ASSIGN: _l("Assigned by the supervisors"),
    DemandAction.CONFIRM: _l("Confirmed solved"),
    DemandAction.REOPEN: _l("Reopened"),
    DemandAction.EXPIRE: _l("Closed without confirmation"),
    DemandAction.WITHDRAW: _l("Withdrawn"),
    DemandNote.NOTE: _l("Note"),
    DemandNote.COPY: _l("Department copied in"),
}
