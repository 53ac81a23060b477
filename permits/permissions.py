"""Who may do what. Deny by default: every endpoint needs a login unless marked @public.

Views use the role decorators; templates and views share the per-object `can_*` predicates.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from permits.models import ApiToken, Application, Attachment, Role, User
from permits.services import reviews, workflows
from permits.workflow import EDITABLE, Action, State, is_allowed

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Marks a view as reachable without logging in."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def acting_user() -> User:
    """The logged-in user of this request, as the model (for views; services take an actor)."""
    user: User = current_user._get_current_object()
    return user


#: Endpoints for machines outside /api/ (probes): they answer JSON, errors included.
_PROBES = frozenset({"/livez", "/healthz"})


def is_api_request() -> bool:
    return request.path.startswith("/api/") or request.path in _PROBES


def require_login() -> Response | None:
    """before_request: refuse anonymous access to anything not explicitly public."""
    if request.endpoint is None:
        return None  # no route matched: let the 404/405 handler answer
    view = current_app.view_functions.get(request.endpoint)
    if request.endpoint == "static" or getattr(view, "is_public", False):
        return None
    if current_user.is_authenticated:
        return None
    if is_api_request() or getattr(g, "token_error", False):
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Only users holding one of these roles may call the view (403 otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                abort(401)
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def must_change_password_block() -> Response | None:
    """before_request: a user with a one-time password must set their own before anything else."""
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    if request.endpoint in {"account.profile", "account.change_password", "auth.logout", "static"}:
        return None
    if is_api_request():
        abort(403, description="change_password")
    return redirect(url_for("account.profile"))


def can_revoke_token(user: User, token: ApiToken) -> bool:
    return token.user_id == user.id or user.role is Role.ADMIN


def can_view_application(user: User, application: Application) -> bool:
    """The owner enterprise, the departments on its chain once submitted, admins, supervisors."""
    if user.role in (Role.ADMIN, Role.SUPERVISOR):
        return True
    if user.role is Role.ENTERPRISE:
        return application.enterprise_id == user.enterprise_id
    if user.role is Role.APPROVER and user.department is not None:
        if application.status is State.DRAFT or application.round == 0:
            return False
        # Its chain now, or a decision of this department in an earlier round (the chain of a
        # resubmitted application may have changed since): what they signed they may reread.
        return workflows.signs_a_step(user.department, application) or any(
            d.department_id == user.department_id for d in application.decisions
        )
    return False


def can_edit_application(user: User, application: Application) -> bool:
    return (
        user.role is Role.ENTERPRISE
        and application.enterprise_id == user.enterprise_id
        and application.status in EDITABLE
    )


def can_withdraw_application(user: User, application: Application) -> bool:
    return (
        user.role is Role.ENTERPRISE
        and application.enterprise_id == user.enterprise_id
        and is_allowed(application.status, Action.WITHDRAW)
    )


def can_decide(user: User, application: Application) -> bool:
    """An approver of the department at the current step who signed no other step of it."""
    return reviews.is_signer_now(user, application) and not reviews.signed_another_step(
        user, application
    )


def can_download_attachment(user: User, attachment: Attachment) -> bool:
    return can_view_application(user, attachment.application)
