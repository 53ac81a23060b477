"""Users: list, search, create, deactivate, reset password, unlock after throttling.

A first password (new account or reset) is shown once, in the answer to the POST that made it:
never in a URL, the session, a log or the audit trail.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from permits.extensions import db
from permits.forms.admin import ROLE_FILTER, NewUserForm
from permits.forms.common import ConfirmForm, show_problems
from permits.inputs import int_arg
from permits.models import Role, User, utcnow
from permits.permissions import acting_user, roles_required
from permits.services import accounts
from permits.services.errors import DomainError
from permits.views.admin import bp


def load_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _page_arg() -> int:
    return int_arg("page", 1, low=1) or 1


@bp.get("/users")
def users() -> str:
    raw_role = request.args.get("role") or ""
    role = Role(raw_role) if raw_role in Role.__members__.values() else None
    text = (request.args.get("q") or "")[: accounts.MAX_SEARCH]
    page = accounts.search_users(text, role, page=_page_arg())
    return render_template("admin/users.html", page=page, q=text, role=role, roles=ROLE_FILTER)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)  # a supervisor reads /admin, but is not shown a form it cannot send
def user_new() -> str | tuple[str, int]:
    form = NewUserForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("admin/user_new.html", form=form), status
    details = accounts.NewUser(
        email=form.email.data or "",
        role=form.role.data or "",
        name=form.name.data or "",
        department=form.department.data or "",
        scope=form.scope.data or "",
        checkpoint=form.checkpoint.data or "",
        enterprise_uscc=form.enterprise_uscc.data or "",
    )
    try:
        user, password = accounts.create_staff_user(acting_user(), details, now=utcnow())
    except DomainError as exc:
        unplaced = show_problems(form, exc.fields)
        return render_template(
            "admin/user_new.html", form=form, message=exc.message, unplaced=unplaced
        ), exc.status
    return render_template(
        "admin/user_password.html", user=user, password=password, created=True
    ), 201


@bp.get("/users/<int:user_id>")
def user(user_id: int) -> str:
    return render_template("admin/user.html", user=load_user(user_id), confirm_form=ConfirmForm())


def _act(user_id: int, action: str) -> Response:
    """Runs one admin action on a user (POST with a CSRF token) and goes back to their page."""
    target = load_user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    now = utcnow()
    try:
        if action == "deactivate":
            accounts.deactivate_user(target, now=now, actor=acting_user())
            flash(
                _("The account is deactivated; its sessions and API tokens have ended."), "success"
            )
        elif action == "reactivate":
            accounts.reactivate_user(acting_user(), target, now=now)
            flash(_("The account is active again."), "success")
        else:
            accounts.unlock_login(acting_user(), target, now=now)
            flash(_("Failed logins are forgotten: the user may log in again now."), "success")
    except DomainError as exc:
        flash(str(exc.message), "error")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/deactivate")
def user_deactivate(user_id: int) -> Response:
    return _act(user_id, "deactivate")


@bp.post("/users/<int:user_id>/reactivate")
def user_reactivate(user_id: int) -> Response:
    return _act(user_id, "reactivate")


@bp.post("/users/<int:user_id>/unlock")
def user_unlock(user_id: int) -> Response:
    return _act(user_id, "unlock")


@bp.post("/users/<int:user_id>/reset-password")
def user_reset_password(user_id: int) -> str:
    target = load_user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    password = accounts.reset_password(acting_user(), target, now=utcnow())
    return render_template(
        "admin/user_password.html", user=target, password=password, created=False
    )
