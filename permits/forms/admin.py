"""Forms of the administration: departments, checkpoints, workflow chains, users, enterprise
suspension, and the filters of the supervision exports."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from permits.forms.common import required as _required
from permits.labels import DEPARTMENT_NAMES, ROLE_NAMES
from permits.models import CITY_SCOPE, DEPARTMENT_CODES, Role
from permits.services.organisations import CheckpointDetails
from permits.services.workflows import MAX_STEPS

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


#: The roles an administrator gives a new account (enterprise staff need an existing USCC).
ADMIN_CREATED_ROLES = (
    Role.APPROVER,
    Role.HANDLER,
    Role.CHECKPOINT,
    Role.ADMIN,
    Role.SUPERVISOR,
    Role.ENTERPRISE,
)


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
        _l("Department (approvers, demand handlers)"),
        choices=[SelectChoice("", _l("Choose…"))]
        + [SelectChoice(code, DEPARTMENT_NAMES[code]) for code in DEPARTMENT_CODES],
        validate_choice=False,
    )
    scope = StringField(
        _l("Scope (approvers, demand handlers)"),
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
