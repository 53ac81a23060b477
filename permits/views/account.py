"""The user's own account: details, password, language and API tokens."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from permits.extensions import db
from permits.forms.accounts import ApiTokenForm, ChangePasswordForm
from permits.forms.common import ConfirmForm, show_problems
from permits.models import ApiToken, utcnow
from permits.permissions import acting_user, can_revoke_token
from permits.services import accounts, api_tokens
from permits.services.errors import ValidationFailed
from permits.views.auth import start_session

bp = Blueprint("account", __name__, url_prefix="/account")


def _render(
    password_form: ChangePasswordForm | None = None,
    token_form: ApiTokenForm | None = None,
    new_token: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    page = render_template(
        "account/profile.html",
        user=acting_user(),
        password_form=password_form or ChangePasswordForm(formdata=None),
        token_form=token_form or ApiTokenForm(formdata=None),
        confirm_form=ConfirmForm(),
        new_token=new_token,
    )
    return page, status


@bp.route("/")
def profile() -> tuple[str, int]:
    return _render()


@bp.route("/password", methods=["POST"])
def change_password() -> Response | tuple[str, int]:
    """A new password ends every other session; this one continues under a fresh identity."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = acting_user()
        try:
            accounts.change_password(
                user, form.current_password.data or "", form.new_password.data or "", now=utcnow()
            )
        except ValidationFailed as exc:
            show_problems(form, exc.fields)
        else:
            start_session(user)
            flash(_("Your password is changed. Other devices have been logged out."), "success")
            return redirect(url_for("account.profile"))
    return _render(password_form=form, status=422)


@bp.route("/tokens", methods=["POST"])
def create_token() -> tuple[str, int]:
    form = ApiTokenForm()
    if form.validate_on_submit():
        try:
            _token, plain = api_tokens.issue_api_token(
                acting_user(), form.name.data or "", now=utcnow()
            )
        except ValidationFailed as exc:
            show_problems(form, exc.fields)
        else:
            # Shown once, on this page only; never put into a URL or a flash cookie.
            return _render(new_token=plain, status=201)
    return _render(token_form=form, status=422)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token(token_id: int) -> Response:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    if not can_revoke_token(acting_user(), token):
        abort(404)  # another user's token: do not even confirm it exists
    if ConfirmForm().validate_on_submit():
        api_tokens.revoke_api_token(token, now=utcnow())
        flash(_("The token “%(name)s” no longer works.", name=token.name), "success")
    return redirect(url_for("account.profile") + "#tokens")
