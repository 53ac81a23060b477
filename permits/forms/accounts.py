"""Forms of logging in, self-registration and the user's own account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, Length

from permits.forms.common import required as _required


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
