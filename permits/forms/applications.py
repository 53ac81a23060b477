"""Forms of an enterprise's applications: the two kinds, attachments, withdrawal, bulk upload.
The services validate; these forms render labelled fields and carry the CSRF token."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TelField,
)
from wtforms.validators import DataRequired, Optional

from permits.forms.common import date_field as _date_field
from permits.schemas.application_fields import STAFF_MIN


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


class WithdrawForm(FlaskForm):
    """Withdrawing is final, so it needs a tick as well as the button (works without JS)."""

    confirm = BooleanField(
        _l("I understand that a withdrawn application cannot be submitted again."),
        validators=[DataRequired(message=_l("Tick the box to confirm the withdrawal."))],
    )


class BulkUploadForm(FlaskForm):
    """A filled vehicle template (XLSX or CSV); the services read and check it."""

    file = FileField(
        _l("Filled template (XLSX or CSV)"),
        description=_l("One row per vehicle, as in the template; the example row is skipped."),
        render_kw={"accept": ".xlsx,.csv,text/csv"},
    )
