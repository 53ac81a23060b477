"""Log in, log out, register an enterprise, choose the language."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import RouteLimit
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from permits import devices, mail, regions
from permits.extensions import db, limiter
from permits.forms.accounts import LanguageForm, LoginForm, RegistrationForm
from permits.forms.common import show_problems
from permits.i18n import current_locale_name
from permits.inputs import local_path
from permits.login import mark_session_started
from permits.models import User, utcnow
from permits.permissions import public
from permits.services import accounts, login_throttle
from permits.services.errors import Conflict, ValidationFailed
from permits.services.organisations import EnterpriseDetails
from permits.services.registration import Registration, register_enterprise, registration_problems

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only a path on this site; anything else (another host, a scheme, //host, a line break)
    goes home."""
    return local_path(target, url_for("main.home"))


def start_session(user: User) -> None:
    """A fresh session for this user: nothing from the anonymous one survives but the language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)
    mark_session_started()
    session.permanent = True


def _account_locked(form: LoginForm, email: str) -> tuple[Response | None, bool]:
    """Counts this attempt on the account (and says whether it did); while it is locked, a
    refusal (429) that says for how long, unless this browser is known to the account. The
    owner is emailed an unlock link once per lock."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return None, False  # benchmarks only, like the rate limiter itself
    now = utcnow()
    wait = login_throttle.reserve(email, now=now)
    user = accounts.user_by_email(email) if wait is not None else None
    if wait is None or (user is not None and user.id in devices.known_accounts()):
        db.session.commit()  # the attempt counts, even though a wrong password rolls back
        return None, wait is None
    owner = login_throttle.owner_to_tell(user, now=now)
    if owner is not None:
        link = url_for("auth.unlock", token=devices.unlock_token(owner.id), _external=True)
        login_throttle.send_unlock_link(owner, link, wait_seconds=wait)
    db.session.commit()
    minutes = max(1, math.ceil(wait / 60))
    locked = ngettext(
        "Too many failed log-ins: this account is locked for %(num)d more minute.",
        "Too many failed log-ins: this account is locked for %(num)d more minutes.",
        minutes,
    )
    way_in = (
        _(
            "Its owner gets in at once from a browser that logged in to it before, or with the"
            " link we emailed to the account's address."
        )
        if mail.is_enabled()
        else _(
            "Its owner gets in at once from a browser that logged in to it before, or an"
            " administrator can unlock it."
        )
    )
    form.password.errors = [f"{locked} {way_in}"]
    response = make_response(render_template("auth/login.html", form=form), 429)
    response.headers["Retry-After"] = str(wait)
    return response, False


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_IP"], methods=["POST"])
def login() -> Response | str | tuple[str, int]:
    """Per address, the rate limiter; per account, the database (services.login_throttle)."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data))
    if form.validate_on_submit():
        email = form.email.data or ""
        locked, counted = _account_locked(form, email)
        if locked is not None:
            return locked
        user = accounts.authenticate(email, form.password.data or "", now=utcnow())
        if user is not None:
            if counted:
                login_throttle.give_back(email, now=utcnow())
            start_session(user)
            if user.locale:
                session["lang"] = user.locale
            response = redirect(safe_next(form.next.data))
            devices.remember(response, user.id)
            return response
        form.password.errors = [_("Wrong email address or password.")]
        return render_template("auth/login.html", form=form), 401
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.get("/login/unlock/<token>")
@public
def unlock(token: str) -> Response:
    """The link emailed to the owner of a locked account: this browser may log in to it."""
    user_id = devices.unlocked_account(token, timedelta(minutes=login_throttle.UNLOCK_LINK_MINUTES))
    response = redirect(url_for("auth.login"))
    if user_id is None:
        flash(_("This unlock link has expired or is not valid."), "error")
        return response
    devices.remember(response, user_id)
    flash(_("This browser may log in to your account now, with your password."), "success")
    return response


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


def _typed(field: str) -> str:
    return (request.form.get(field) or "").strip()


def _register_email_key() -> str:
    return "register-email:" + _typed("email").lower()[:254]


def _register_uscc_key() -> str:
    return "register-uscc:" + _typed("uscc").upper()[:18]


def _account_limit(key_func: Callable[[], str], field: str) -> RouteLimit:
    """Registration attempts per account being created, from any address (a blank field has
    no account to count under: the per-address limit covers it)."""
    return limiter.limit(
        lambda: current_app.config["REGISTER_LIMIT_ACCOUNT"],
        key_func=key_func,
        methods=["POST"],
        exempt_when=lambda: not _typed(field),
    )


@bp.route("/register", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["REGISTER_LIMIT_IP"], methods=["POST"])
@_account_limit(_register_email_key, "email")
@_account_limit(_register_uscc_key, "uscc")
def register() -> Response | str | tuple[str, int]:
    """Enterprise self-registration; staff accounts are made by an administrator."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegistrationForm()
    form.district.choices = district_choices()
    if form.is_submitted():
        form_ok = form.validate()
        registration = Registration(
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
                show_problems(form, registration_problems(registration))
        else:
            try:
                user = register_enterprise(registration)
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
