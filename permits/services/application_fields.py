"""An application's given fields checked into values, or a translated message per field.

The one validation of the web form, the spreadsheet rows and the JSON API. Which fields a kind
has, their lengths, ranges and choices come from the schema (permits/schemas/applications.py);
here is only what the schema cannot say: how a form's text becomes a value, the messages, and
the domain rules (plate, mobile number, region codes, ID numbers).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, get_args
from zoneinfo import ZoneInfo

from annotated_types import Ge, Le, MaxLen
from flask import current_app
from flask_babel import lazy_gettext as _l
from pydantic.fields import FieldInfo

from permits import regions, validators
from permits.models import Kind
from permits.schemas.application_fields import FIELDS_OF, NAME_MAX, STAFF_MAX, STAFF_MIN
from permits.services import text as typed_text

#: Each kind's fields, in the schema's order.
FIELDS = {kind: tuple(model.model_fields) for kind, model in FIELDS_OF.items()}
WR_FIELDS = FIELDS[Kind.WORK_RESUMPTION]
VP_FIELDS = FIELDS[Kind.VEHICLE_PASS]
#: Every field a submission needs (a work-resumption plan is an attachment, checked apart).
REQUIRED = FIELDS
#: The column a field is stored in, where the names differ.
COLUMN_OF = {"resume_date": "valid_from"}

REQUIRED_MESSAGE = _l("This field is required.")
#: Text fields stored as "" rather than NULL when cleared.
NOT_NULL_TEXT = ("contact_name", "contact_phone")
MOBILE = _l("Enter a mainland mobile number of 11 digits, such as 13812345678.")
DATE = _l("Enter a date as YYYY-MM-DD.")
#: What a value of the wrong shape is told, by field (else "This value is not valid.").
SHAPE_MESSAGES = {
    "resume_date": DATE,
    "valid_from": DATE,
    "valid_until": DATE,
    "staff_on_site": _l(
        "A whole number from %(low)d to %(high)s.", low=STAFF_MIN, high=f"{STAFF_MAX:,}"
    ),
    "closed_loop": _l("Answer yes or no."),
    "vehicle_type": _l("Choose one of the vehicle types."),
    "cargo_category": _l("Choose one of the key-supply cargo categories."),
}
ID_MESSAGES = {
    "shape": _l("A resident ID number has 18 characters: 17 digits and a digit or X."),
    "date": _l("The date of birth in this ID number does not exist."),
    "check": _l("The last character of this ID number does not match; please check each digit."),
}


@dataclass
class Cleaned:
    values: dict[str, Any]
    problems: dict[str, str]


def today(now: datetime) -> date:
    """The calendar day in the service's time zone."""
    return now.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def clean(kind: Kind, data: Mapping[str, Any], *, now: datetime) -> Cleaned:
    """Checks the fields that were given (blank ones clear the field) for this kind."""
    out = Cleaned(values={}, problems={})
    rules = RULES[kind]
    for name, raw in data.items():
        if name not in rules:
            out.problems[name] = str(_l("Unknown field for this kind of application."))
        elif _blank(raw) and name in NOT_NULL_TEXT:
            out.values[name] = ""  # a blank contact is simply empty; submit asks for it
        elif _blank(raw) and name == "district":
            out.problems[name] = str(_l("Choose one of the city's districts."))
        elif _blank(raw) and name != "closed_loop":
            out.values[name] = None
        else:
            try:
                rules[name](name, raw, out)
            except (TypeError, ValueError):
                out.problems[name] = str(SHAPE_MESSAGES.get(name, _l("This value is not valid.")))
    return out


# --- Shapes: a rule per type of field, its limits read from the schema.

Rule = Callable[[str, Any, Cleaned], None]


def _text(limit: int) -> Rule:
    def rule(name: str, raw: Any, out: Cleaned) -> None:
        if not isinstance(raw, str | int) or isinstance(raw, bool):
            raise TypeError
        text = str(raw).strip()
        if len(text) > limit:
            out.problems[name] = str(_l("At most %(n)d characters.", n=limit))
        elif (problem := typed_text.problem_message(text)) is not None:
            out.problems[name] = problem
        else:
            out.values[name] = text

    return rule


def _whole_number(low: int, high: int) -> Rule:
    def rule(name: str, raw: Any, out: Cleaned) -> None:
        number = int(str(raw).strip()) if not isinstance(raw, bool) else None
        if number is None or not low <= number <= high:
            out.problems[name] = str(SHAPE_MESSAGES[name])
        else:
            out.values[name] = number

    return rule


def _date(name: str, value: Any, out: Cleaned) -> None:
    if isinstance(value, date) and not isinstance(value, datetime):
        out.values[name] = value
    elif not isinstance(value, str):
        raise TypeError
    else:
        out.values[name] = date.fromisoformat(value.strip())


def _bool(name: str, value: Any, out: Cleaned) -> None:
    word = value.strip().lower() if isinstance(value, str) else None
    if isinstance(value, bool):
        out.values[name] = value
    elif word in ("true", "1", "yes", "y", "on"):
        out.values[name] = True
    elif word in ("false", "0", "no", "n", "off", ""):
        out.values[name] = False
    else:
        raise TypeError


def _choice(choices: type[enum.Enum]) -> Rule:
    def rule(name: str, raw: Any, out: Cleaned) -> None:
        out.values[name] = choices(str(raw))

    return rule


# --- Domain rules: what a value means, beyond its shape.


def _mobile(name: str, raw: Any, out: Cleaned) -> None:
    if not validators.is_mobile(str(raw)):
        out.problems[name] = str(MOBILE)
    else:
        out.values[name] = validators.normalize_mobile(str(raw))


def _district(name: str, raw: Any, out: Cleaned) -> None:
    if not regions.is_district_of(str(raw).strip(), current_app.config["CITY_CODE"]):
        out.problems[name] = str(_l("Choose one of the city's districts."))
    else:
        out.values[name] = str(raw).strip()


def _county(name: str, raw: Any, out: Cleaned) -> None:
    code = regions.county_code(str(raw), current_app.config["CITY_CODE"])
    if code is None:
        out.problems[name] = str(
            _l(
                "Unknown district or county: choose one from the list by its name, or give its "
                "6-digit code, such as 310115 for Pudong."
            )
        )
    else:
        out.values[name] = code


def _plate(name: str, raw: Any, out: Cleaned) -> None:
    if not isinstance(raw, str) or not validators.is_plate(raw):
        out.problems[name] = str(
            _l(
                "Not a mainland plate: a province character, a letter and 5 letters or digits, "
                "never I or O, such as 沪A12345 (new-energy plates have 6, such as 沪AD12345)."
            )
        )
    else:
        out.values[name] = validators.normalize_plate(raw)


def _drivers(name: str, raw: Any, out: Cleaned) -> None:
    """Blank rows (a form's spare lines) are skipped; messages keep each row's own index."""
    if not isinstance(raw, list):
        raise TypeError
    limit = int(current_app.config["MAX_DRIVERS"])
    rows = [
        (i, d)
        for i, d in enumerate(raw)
        if not (isinstance(d, Mapping) and all(_blank(v) for v in d.values()))
    ]
    if not rows:
        out.problems[name] = str(_l("Name at least one driver."))
        return
    if len(rows) > limit:
        out.problems[name] = str(_l("At most %(n)d drivers per vehicle.", n=limit))
        return
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, driver in rows:
        if (row := _driver(i, driver, seen, out)) is not None:
            cleaned.append(row)
    if not any(key.startswith("drivers") for key in out.problems):
        out.values[name] = cleaned


def _driver(i: int, driver: Any, seen: set[str], out: Cleaned) -> dict[str, str] | None:
    """One driver row checked, its problems under `drivers.i.<field>`; None if not a row."""
    if not isinstance(driver, Mapping):
        out.problems[f"drivers.{i}"] = str(_l("Each driver has a name, an ID number and a phone."))
        return None
    name = str(driver.get("name") or "").strip()
    id_number = validators.normalize_id_number(str(driver.get("id_number") or ""))
    phone = str(driver.get("phone") or "")
    if not name or len(name) > NAME_MAX:
        out.problems[f"drivers.{i}.name"] = str(
            _l("Enter the driver's name (at most 50 characters).")
        )
    typed_text.check(out.problems, {f"drivers.{i}.name": name})
    problem = validators.id_number_problem(id_number)
    if problem:
        out.problems[f"drivers.{i}.id_number"] = str(ID_MESSAGES[problem])
    elif id_number in seen:
        out.problems[f"drivers.{i}.id_number"] = str(_l("This driver is listed twice."))
    seen.add(id_number)
    if not validators.is_mobile(phone):
        out.problems[f"drivers.{i}.phone"] = str(MOBILE)
    return {"name": name, "id_number": id_number, "phone": validators.normalize_mobile(phone)}


#: The fields whose value a domain rule checks, beyond the shape its type gives.
DOMAIN_RULES: dict[str, Rule] = {
    "contact_phone": _mobile,
    "district": _district,
    "origin": _county,
    "destination": _county,
    "plate": _plate,
    "drivers": _drivers,
}


def _shape_rule(field: FieldInfo) -> Rule:
    """The rule a field's type and limits in the schema call for."""
    types = [field.annotation, *get_args(field.annotation)]
    limits = {type(m): m for m in _metadata([*field.metadata, *types])}
    if MaxLen in limits:
        return _text(limits[MaxLen].max_length)
    if Ge in limits and Le in limits:
        return _whole_number(int(limits[Ge].ge), int(limits[Le].le))
    for candidate in types:
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return _choice(candidate)
        if candidate is date:
            return _date
        if candidate is bool:
            return _bool
    raise LookupError(f"no rule for the field {field!r}")


def _metadata(items: list[Any]) -> list[Any]:
    """The constraints among these, unpacked from Annotated types and nested Field()s."""
    found: list[Any] = []
    for item in items:
        if isinstance(item, FieldInfo):
            found += _metadata(list(item.metadata))
        elif hasattr(item, "__metadata__"):
            found += _metadata(list(item.__metadata__))
        else:
            found.append(item)
    return found


def _rules(kind: Kind) -> dict[str, Rule]:
    model = FIELDS_OF[kind]
    return {
        name: DOMAIN_RULES.get(name) or _shape_rule(field)
        for name, field in model.model_fields.items()
    }


#: Each kind's fields and the rule that checks each.
RULES = {kind: _rules(kind) for kind in FIELDS_OF}
