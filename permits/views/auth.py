"""Log in, log out, register an enterprise, choose the language."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from permits import regions
from permits.extensions import limiter
from permits.forms import LanguageForm, LoginForm, RegistrationForm, show_problems
from permits.i18n import current_locale_name
from permits.inputs import local_path
from permits.login import mark_session_started
from permits.models import User, utcnow
from permits.permissions import public
from permits.services import accounts
from permits.services.errors import Conflict, ValidationFailed
from permits.services.organisations import EnterpriseDetails

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only a path on this site; anything else (another host, a scheme, //host, a line break)
    goes home."""
    return local_path(target, url_for("main.home"))


def _login_account_key() -> str:
    return accounts.login_throttle_key(request.form.get("email") or "")


def _login_failed(response: Response) -> bool:
    return request.method == "POST" and response.status_code != 302


def start_session(user: User) -> None:
    """A fresh session for this user: nothing from the anonymous one survives but the language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)
    mark_session_started()
    session.permanent = True


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_IP"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"],
    key_func=_login_account_key,
    methods=["POST"],
    deduct_when=_login_failed,
)
def login() -> Response | str | tuple[str, int]:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data))
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data or "", form.password.data or "", now=utcnow())
        if user is not None:
            start_session(user)
            if user.locale:
                session["lang"] = user.locale
            return redirect(safe_next(form.next.data))
        form.password.errors = [_("Wrong email address or password.")]
        return render_template("auth/login.html", form=form), 401
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Ends this and every other session of the user (a copied cookie stops working too)."""
    accounts.end_all_sessions(current_user._get_current_object())
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


def district_choices() -> list[SelectChoice]:
    locale = current_locale_name()
    return [SelectChoice("", _("Choose…"))] + [
        SelectChoice(d.code, d.name(locale))
        for d in regions.districts(current_app.config["CITY_CODE"])
    ]


@bp.route("/register", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["REGISTER_LIMIT_IP"], methods=["POST"])
def register() -> Response | str | tuple[str, int]:
    """Enterprise self-registration; staff accounts are made by an administrator."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegistrationForm()
    form.district.choices = district_choices()
    if form.is_submitted():
        form_ok = form.validate()
        registration = accounts.Registration(
            enterprise=EnterpriseDetails(
                uscc=form.uscc.data or "",
                name=form.name.data or "",
                district=form.district.data or "",
                address=form.address.data or "",
                contact_name=form.contact_name.data or "",
                contact_phone=form.contact_phone.data or "",
            ),
            email=form.email.data or "",
            password=form.password.data or "",
        )
        if not form_ok:
            # Show the domain's messages too, so one round trip reveals every problem.
            if not form.csrf_token.errors:
                show_problems(form, accounts.registration_problems(registration))
        else:
            try:
                user = accounts.register_enterprise(registration)
            except (ValidationFailed, Conflict) as exc:
                show_problems(form, exc.fields)
            else:
                start_session(user)
                flash(_("Welcome! Your enterprise is registered and you are logged in."), "success")
                return redirect(url_for("main.home"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/language", methods=["POST"])
@public
def set_language() -> Response:
    """Switch the interface language; remembered for the user and, before login, the session."""
    form = LanguageForm()
    if form.validate_on_submit() and form.locale.data:
        session["lang"] = form.locale.data
        if current_user.is_authenticated:
            accounts.set_locale(current_user._get_current_object(), form.locale.data)
    return redirect(safe_next(form.next.data))
