"""Forms of revoking a pass, and of a mass revocation (its criteria, then the request)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from permits.forms.common import date_field as _date_field


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for the revocation"),
        description=_l("The enterprise is told; checkpoints see that the pass is revoked."),
        render_kw={"rows": 3, "maxlength": 500},
    )


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
