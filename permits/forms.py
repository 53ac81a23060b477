"""HTML forms (Flask-WTF, so every one carries a CSRF token). Domain rules live in the services."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from permits.labels import DEPARTMENT_NAMES, ROLE_NAMES
from permits.models import CITY_SCOPE, DEPARTMENT_CODES, Role
from permits.schemas.application_fields import STAFF_MIN
from permits.services.organisations import CheckpointDetails
from permits.services.workflows import MAX_STEPS

_required = DataRequired(message=_l("This field is required."))


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[_required, Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[InputRequired(_l("This field is required."))]
    )
    next = HiddenField()


class RegistrationForm(FlaskForm):
    name = StringField(_l("Enterprise name"), validators=[_required, Length(max=200)])
    uscc = StringField(
        _l("Unified social credit code"),
        validators=[_required, Length(max=30)],
        description=_l("18 characters, on your business licence."),
    )
    # The district is checked by the services, which say which districts are allowed.
    district = SelectField(_l("District"), choices=[], validate_choice=False)
    address = StringField(_l("Address"), validators=[_required, Length(max=300)])
    contact_name = StringField(_l("Contact person"), validators=[_required, Length(max=50)])
    contact_phone = TelField(
        _l("Mobile number"), validators=[_required, Length(max=20)], description=_l("11 digits.")
    )
    email = EmailField(
        _l("Email"),
        validators=[_required, Length(max=254)],
        description=_l("You will log in with this address."),
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(_l("This field is required."))],
        description=_l("At least 10 characters; not a common password."),
    )
    password_again = PasswordField(
        _l("Password again"),
        validators=[
            InputRequired(_l("This field is required.")),
            EqualTo("password", message=_l("The two passwords differ.")),
        ],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[InputRequired(_l("This field is required."))]
    )
    new_password = PasswordField(
        _l("New password"), validators=[InputRequired(_l("This field is required."))]
    )
    new_password_again = PasswordField(
        _l("New password again"),
        validators=[
            InputRequired(_l("This field is required.")),
            EqualTo("new_password", message=_l("The two passwords differ.")),
        ],
    )


class LanguageForm(FlaskForm):
    locale = SelectField(
        _l("Language"), choices=[SelectChoice("zh", "中文"), SelectChoice("en", "English")]
    )
    next = HiddenField()


class ApiTokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        validators=[_required, Length(max=100)],
        description=_l("For example the name of the system that will use it."),
    )


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change state."""


def show_problems(form: FlaskForm, problems: Mapping[str, Any]) -> dict[str, str]:
    """Puts each message from the services next to its field ("drivers.0.name" included).

    Returns the messages that have no field on this form, for the page to show on their own.
    """
    unplaced: dict[str, str] = {}
    for name, message in problems.items():
        field: Any = form
        for part in name.split("."):
            if part.isdigit() and hasattr(field, "entries"):
                index = int(part)
                field = field.entries[index] if index < len(field.entries) else None
            elif field is not None and hasattr(field, "form"):
                field = getattr(field.form, part, None)
            else:
                field = getattr(field, part, None)
            if field is None:
                break
        if field is not None and hasattr(field, "errors") and not hasattr(field, "entries"):
            if not field.errors:
                field.errors = [str(message)]
        elif field is not None and hasattr(field, "entries"):
            field.errors = [str(message)]
            unplaced[name] = str(message)
        else:
            unplaced[name] = str(message)
    return unplaced


def field_errors(
    form: Any, item_label: Callable[[int], str] | None = None
) -> list[tuple[str, str, str]]:
    """(id, label, message) of every field with an error, in page order, for the summary.

    A row of a list (a driver, a step) is named by `item_label(n)` ("Driver 2"), else "2.".
    """
    found: list[tuple[str, str, str]] = []
    for field in form:
        if field.type == "CSRFTokenField":
            continue
        if hasattr(field, "entries"):
            # A message about the list as a whole ("at least one driver"); its label is the
            # field name WTForms made up, translated like the page's own heading.
            for message in (e for e in field.errors if isinstance(e, str)):
                found.append((field.id, gettext(str(field.label.text)), message))
            for n, entry in enumerate(field.entries, start=1):
                prefix = f"{item_label(n)} · " if item_label else f"{n}. "
                for sub_id, label, message in field_errors(entry.form):
                    found.append((sub_id, prefix + label, message))
            continue
        for message in field.errors if isinstance(field.errors, list | tuple) else []:
            found.append((field.id, str(field.label.text), str(message)))
    return found


# --- applications ------------------------------------------------------------------------
# The services validate; these forms render labelled fields and carry the CSRF token.


def _date_field(label: Any, description: Any = None) -> StringField:
    return StringField(label, description=description, render_kw={"type": "date"})


class DriverForm(Form):
    name = StringField(_l("Driver's name"))
    id_number = StringField(_l("Resident ID number"), render_kw={"autocomplete": "off"})
    phone = TelField(_l("Driver's mobile number"), render_kw={"inputmode": "tel"})


class WorkResumptionForm(FlaskForm):
    site_address = StringField(_l("Site address"))
    district = SelectField(_l("District of the site"), choices=[], validate_choice=False)
    resume_date = _date_field(_l("Resume work on"))
    valid_until = _date_field(_l("Valid until"), _l("The permit is valid to the end of this day."))
    staff_on_site = IntegerField(
        _l("Staff on site"),
        validators=[Optional()],
        render_kw={"inputmode": "numeric", "min": STAFF_MIN},
    )
    closed_loop = BooleanField(_l("Closed-loop management (staff live and work on site)"))
    contact_name = StringField(_l("Contact person"))
    contact_phone = TelField(_l("Contact's mobile number"), render_kw={"inputmode": "tel"})

    def to_data(self) -> dict[str, Any]:
        return {
            "site_address": self.site_address.data,
            "district": self.district.data,
            "resume_date": self.resume_date.data,
            "valid_until": self.valid_until.data,
            "staff_on_site": self.staff_on_site.raw_data[0] if self.staff_on_site.raw_data else "",
            "closed_loop": bool(self.closed_loop.data),
            "contact_name": self.contact_name.data,
            "contact_phone": self.contact_phone.data,
        }


class VehiclePassForm(FlaskForm):
    plate = StringField(
        _l("Plate number"),
        description=_l("For a semi-trailer, the tractor's plate, e.g. 沪A12345 or 沪AD12345."),
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )
    vehicle_type = SelectField(_l("Vehicle type"), choices=[], validate_choice=False)
    cargo_category = SelectField(_l("Cargo category"), choices=[], validate_choice=False)
    #: A district or county chosen by name from a searchable list (its code typed works too).
    origin = StringField(
        _l("Origin: district or county"),
        description=_l(
            "Type its name, e.g. 浦东, and choose it from the list; a 6-digit code works too."
        ),
        render_kw={"list": "divisions", "autocomplete": "off"},
    )
    destination = StringField(
        _l("Destination: district or county"),
        render_kw={"list": "divisions", "autocomplete": "off"},
    )
    valid_from = _date_field(_l("Valid from"))
    valid_until = _date_field(_l("Valid until"), _l("The pass is valid to the end of this day."))
    drivers = FieldList(FormField(DriverForm), min_entries=3, max_entries=3)

    def to_data(self) -> dict[str, Any]:
        return {
            "plate": self.plate.data,
            "vehicle_type": self.vehicle_type.data,
            "cargo_category": self.cargo_category.data,
            "origin": self.origin.data,
            "destination": self.destination.data,
            "valid_from": self.valid_from.data,
            "valid_until": self.valid_until.data,
            "drivers": [dict(entry.data) for entry in self.drivers],
        }


class AttachmentForm(FlaskForm):
    purpose = SelectField(_l("What the file is"), choices=[], validate_choice=False)
    file = FileField(_l("File (PDF, JPEG or PNG)"))


#: The decisions an approver chooses between; none is ticked until they choose.
DECISION_CHOICES = [
    SelectChoice("approve", _l("Approve")),
    SelectChoice("return", _l("Return for changes")),
    SelectChoice("reject", _l("Reject")),
]


class DecisionForm(FlaskForm):
    # The service says what a missing or unknown decision is (the API's answer too).
    decision = RadioField(_l("Decision"), choices=DECISION_CHOICES, validate_choice=False)
    reason_code = SelectField(_l("Reason for a rejection"), choices=[], validate_choice=False)
    comment = TextAreaField(
        _l("Comment"),
        description=_l("Required to return or reject; the enterprise sees it."),
        render_kw={"rows": 4},
    )


class WithdrawForm(FlaskForm):
    """Withdrawing is final, so it needs a tick as well as the button (works without JS)."""

    confirm = BooleanField(
        _l("I understand that a withdrawn application cannot be submitted again."),
        validators=[DataRequired(message=_l("Tick the box to confirm the withdrawal."))],
    )


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for the revocation"),
        description=_l("The enterprise is told; checkpoints see that the pass is revoked."),
        render_kw={"rows": 3, "maxlength": 500},
    )


# --- administration: departments, checkpoints, workflow chains -----------------------------

_DECIMAL = re.compile(r"-?\d{1,3}(\.\d{1,8})?")


class DepartmentForm(FlaskForm):
    department = SelectField(_l("Department"), choices=[], validate_choice=False)
    scope = SelectField(
        _l("Scope"),
        choices=[],
        validate_choice=False,
        description=_l("Its approvers decide the steps of this district, or city-wide ones."),
    )


class CheckpointForm(FlaskForm):
    code = StringField(
        _l("Code"),
        description=_l("1–32 letters, digits, hyphens or underscores, e.g. G15-JIADING."),
        render_kw={"autocomplete": "off", "autocapitalize": "characters"},
    )
    name = StringField(_l("Name"), render_kw={"maxlength": 100})
    district = SelectField(_l("District"), choices=[], validate_choice=False)
    latitude = StringField(
        _l("Latitude"),
        description=_l("WGS-84 decimal degrees, e.g. 31.2304. Enter both coordinates or neither."),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    longitude = StringField(
        _l("Longitude"),
        description=_l("WGS-84 decimal degrees, e.g. 121.4737."),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    is_active = BooleanField(_l("Active (its staff can record scans here)"), default=True)

    def to_details(self) -> tuple[CheckpointDetails, dict[str, str]]:
        """The details typed in, and a message for each coordinate that is not a number."""
        problems: dict[str, str] = {}
        coordinates: dict[str, float | None] = {}
        for field in (self.latitude, self.longitude):
            text = (field.data or "").strip()
            if not text:
                coordinates[field.name] = None
            elif _DECIMAL.fullmatch(text):
                coordinates[field.name] = float(text)
            else:
                coordinates[field.name] = None
                problems[field.name] = str(_l("Enter a number in decimal degrees, e.g. 31.2304."))
        details = CheckpointDetails(
            code=(self.code.data or "").strip(),
            name=self.name.data or "",
            district=self.district.data or "",
            latitude=coordinates["latitude"],
            longitude=coordinates["longitude"],
            is_active=bool(self.is_active.data),
        )
        return details, problems

    def fill(self, details: Any) -> None:
        """Shows a checkpoint's stored values (coordinates as typed text)."""
        self.code.data = details.code
        self.name.data = details.name
        self.district.data = details.district
        self.latitude.data = "" if details.latitude is None else repr(details.latitude)
        self.longitude.data = "" if details.longitude is None else repr(details.longitude)
        self.is_active.data = details.is_active


class StepForm(Form):
    """One row of the chain editor."""

    department_code = SelectField(_l("Department"), choices=[], validate_choice=False)
    scope_rule = SelectField(_l("Which department signs"), choices=[], validate_choice=False)
    sla_hours = StringField(
        _l("Time limit (hours)"),
        description=_l("1 to 720."),
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 4},
    )


class ChainForm(FlaskForm):
    #: The version the admin started from, so a concurrent save is noticed.
    base_version = HiddenField()
    steps = FieldList(FormField(StepForm), min_entries=0, max_entries=MAX_STEPS)

    def rows(self) -> list[dict[str, str]]:
        return [
            {
                "department_code": entry.form.department_code.data or "",
                "scope_rule": entry.form.scope_rule.data or "",
                "sla_hours": entry.form.sla_hours.data or "",
            }
            for entry in self.steps
        ]

    def set_choices(self, departments: list[SelectChoice], scope_rules: list[SelectChoice]) -> None:
        for entry in self.steps:
            entry.form.department_code.choices = departments
            entry.form.scope_rule.choices = scope_rules


# --- administration: mass revocation --------------------------------------------------


class MassRevocationCriteriaForm(FlaskForm):
    """Which active passes: every criterion given must match (the service checks them)."""

    district = SelectField(_l("Issuing district"), choices=[], validate_choice=False)
    cargo_category = SelectField(
        _l("Cargo category (vehicle passes)"), choices=[], validate_choice=False
    )
    uscc = StringField(
        _l("Enterprise (unified social credit code)"),
        render_kw={"maxlength": 30, "autocomplete": "off"},
    )
    issued_from = _date_field(_l("Issued on or after"))
    issued_until = _date_field(_l("Issued on or before"))


class MassRevocationAskForm(MassRevocationCriteriaForm):
    reason = TextAreaField(
        _l("Reason for the revocation"),
        description=_l("The enterprises are told; checkpoints see that their passes are revoked."),
        render_kw={"rows": 3, "maxlength": 500},
    )


# --- administration ------------------------------------------------------------------------
#: The roles an administrator gives a new account (enterprise staff need an existing USCC).
ADMIN_CREATED_ROLES = (Role.APPROVER, Role.CHECKPOINT, Role.ADMIN, Role.SUPERVISOR, Role.ENTERPRISE)


class NewUserForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[_required, Length(max=254)],
        description=_l("The user logs in with this address."),
    )
    name = StringField(_l("Name"), validators=[Length(max=100)])
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, ROLE_NAMES[role]) for role in ADMIN_CREATED_ROLES],
        validate_choice=False,
    )
    department = SelectField(
        _l("Department (approvers)"),
        choices=[SelectChoice("", _l("Choose…"))]
        + [SelectChoice(code, DEPARTMENT_NAMES[code]) for code in DEPARTMENT_CODES],
        validate_choice=False,
    )
    scope = StringField(
        _l("Scope (approvers)"),
        validators=[Length(max=6)],
        description=_l(
            "A district code such as 310112, or “%(city)s” for the whole city.", city=CITY_SCOPE
        ),
    )
    checkpoint = StringField(
        _l("Checkpoint code (checkpoint staff)"),
        validators=[Length(max=32)],
        description=_l("The checkpoint must exist already."),
    )
    enterprise_uscc = StringField(
        _l("Unified social credit code (enterprise staff)"),
        validators=[Length(max=30)],
        description=_l("Enterprises register themselves; this adds a colleague to one."),
    )


class SuspendForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for the suspension"),
        validators=[_required, Length(max=500)],
        description=_l("Shown to checkpoint staff and to the enterprise."),
    )


ROLE_FILTER = [SelectChoice("", _l("All roles"))] + [
    SelectChoice(role.value, ROLE_NAMES[role]) for role in Role
]


class ExportFilterForm(FlaskForm):
    """The filters of the supervision exports: a GET form that changes nothing, so no CSRF."""

    class Meta:
        csrf = False

    # The view sets the choices, "" (all) first.
    state = SelectField(_l("State"), choices=[], default="")
    kind = SelectField(_l("Kind"), choices=[], default="")
    district = SelectField(_l("District"), choices=[], default="")
    date_from = DateField(
        _l("From (date)"), validators=[InputRequired(_l("This field is required."))]
    )
    date_to = DateField(
        _l("To (date, included)"),
        description=_l("At most %(n)d days.", n=366),
        validators=[InputRequired(_l("This field is required."))],
    )

    def validate_date_to(self, field: DateField) -> None:
        start, end = self.date_from.data, field.data
        if start is None or end is None:
            return
        if end < start:
            raise ValidationError(_l("The end comes before the start."))
        if (end - start).days >= 366:
            raise ValidationError(_l("At most %(n)d days.", n=366))


class BulkUploadForm(FlaskForm):
    """A filled vehicle template (XLSX or CSV); the services read and check it."""

    file = FileField(
        _l("Filled template (XLSX or CSV)"),
        description=_l("One row per vehicle, as in the template; the example row is skipped."),
        render_kw={"accept": ".xlsx,.csv,text/csv"},
    )


# --- bulk decisions (issue #9) -------------------------------------------------------------


class BulkDecisionForm(DecisionForm):
    """One decision for the applications ticked on a queue or batch page."""

    ids = SelectMultipleField(_l("Applications"), coerce=int, choices=[], validate_choice=False)
    #: Every application listed on the page, for "select all" without JavaScript.
    page_ids = SelectMultipleField(coerce=int, choices=[], validate_choice=False)
    all_on_page = BooleanField(_l("Select all on this page"))
    next = HiddenField()
