"""Tell people what happened: in the app always, by email when SMTP is configured."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from permits import mail
from permits.extensions import db
from permits.models import (
    Application,
    Department,
    Enterprise,
    Notification,
    Role,
    User,
    utcnow,
)

#: Every event a notification can tell, as a sentence with named parameters.
MESSAGES = {
    "submitted": _l("Application %(number)s was submitted and waits at step %(step)s."),
    "waiting": _l("Application %(number)s from %(enterprise)s waits for your decision."),
    "approved_step": _l("Application %(number)s passed step %(step)s and moves on."),
    "returned": _l("Application %(number)s was returned for changes: %(comment)s"),
    "rejected": _l("Application %(number)s was rejected: %(comment)s"),
    "approved": _l("Application %(number)s is approved."),
    "withdrawn": _l("Application %(number)s was withdrawn by the enterprise."),
    "issued": _l("The pass for application %(number)s is issued: pass number %(pass_number)s."),
    "revoked": _l("Pass %(pass_number)s was revoked: %(comment)s"),
    "mass_revoked": _l("%(count)s of your passes were revoked: %(comment)s"),
    "mass_revocation_waiting": _l(
        "Mass revocation #%(id)s (%(count)s passes), asked for by %(requester)s,"
        " waits for a second administrator."
    ),
    "enterprise_suspended": _l(
        "%(enterprise)s is suspended (%(comment)s); its passes are invalid until the "
        "suspension is lifted."
    ),
    "enterprise_reinstated": _l(
        "The suspension of %(enterprise)s is lifted; its passes are valid again."
    ),
    "batch_submitted": _l(
        "%(count)s vehicle applications from the file %(filename)s were submitted as batch "
        "#%(batch)s."
    ),
    "batch_waiting": _l(
        "Batch #%(batch)s from %(enterprise)s: %(count)s vehicle applications wait for your "
        "decision."
    ),
    "overdue": _l(
        "Application %(number)s is overdue at step %(step)s (%(department)s): please decide it."
    ),
    "overdue_twice": _l(
        "Application %(number)s has waited at step %(step)s (%(department)s) for more than "
        "twice its time limit."
    ),
    "password_reset": _l(
        "%(actor)s reset your password. If you did not ask for it, tell another administrator."
    ),
    "admin_created": _l(
        "%(actor)s created the administrator account %(account)s. It cannot confirm what"
        " %(actor)s asks for in the next %(days)s days. If this was not agreed, act now."
    ),
    "admin_password_reset": _l(
        "%(actor)s reset the password of the administrator account %(account)s. It cannot"
        " confirm what %(actor)s asks for in the next %(days)s days. If this was not agreed,"
        " act now."
    ),
    "demand_waiting": _l(
        "Demand ticket %(ticket)s from %(enterprise)s (%(category)s: %(title)s) waits for your"
        " department to accept it."
    ),
    "demand_accepted": _l("Your demand ticket %(ticket)s (%(title)s) was accepted."),
    "demand_answered": _l(
        "Your demand ticket %(ticket)s (%(title)s) was answered: read the answer, then confirm"
        " it solved or say it is not."
    ),
    "demand_reopened": _l(
        "Demand ticket %(ticket)s (%(title)s) is not solved, says %(enterprise)s: %(reason)s"
    ),
    "demand_copied": _l(
        "Your department was copied in on demand ticket %(ticket)s from %(enterprise)s (%(title)s)."
    ),
    "demand_confirmed": _l("%(enterprise)s confirmed demand ticket %(ticket)s solved."),
    "demand_withdrawn": _l("%(enterprise)s withdrew demand ticket %(ticket)s."),
    "demand_to_assign": _l(
        "Demand ticket %(ticket)s from %(enterprise)s was transferred three times: choose the"
        " department that handles it."
    ),
    "demand_overdue": _l(
        "Demand ticket %(ticket)s from %(enterprise)s (%(title)s) is overdue with your"
        " department: please accept or answer it."
    ),
    "demand_overdue_twice": _l(
        "Demand ticket %(ticket)s from %(enterprise)s (%(title)s) has waited at %(department)s"
        " for more than twice its time limit."
    ),
    "demand_closed_unconfirmed": _l(
        "Your demand ticket %(ticket)s (%(title)s) was closed: its answer was not confirmed in"
        " time. File a new one if the difficulty remains."
    ),
}
SUBJECT = _l("Permits: application %(number)s")
DEMAND_SUBJECT = _l("Permits: demand ticket %(ticket)s")
ENTERPRISE_SUBJECT = _l("Permits: %(enterprise)s")
NOTICE_SUBJECT = _l("Permits: notice")


def render(event: str, params: dict[str, Any]) -> str:
    return str(MESSAGES[event] % params)


def application_params(application: Application, **extra: Any) -> dict[str, str]:
    params = {"number": f"#{application.id}", "enterprise": application.enterprise.name}
    params.update({k: str(v) for k, v in extra.items()})
    return params


def notify(users: Iterable[User], event: str, application: Application, **extra: Any) -> None:
    """An in-app notification for each active user, and an email after the commit."""
    _deliver(users, event, application_params(application, **extra), application.id, SUBJECT)


def notify_enterprise(enterprise: Enterprise, event: str, **extra: Any) -> None:
    """Tells every active user of the enterprise about something that is not one application's."""
    params = {"enterprise": enterprise.name, **{k: str(v) for k, v in extra.items()}}
    _deliver(enterprise.users, event, params, None, ENTERPRISE_SUBJECT)


def _deliver(
    users: Iterable[User],
    event: str,
    params: dict[str, str],
    application_id: int | None,
    subject: Any,
    *,
    email: bool = True,
    demand_id: int | None = None,
) -> None:
    """In-app notifications now; emails queued to go out after the commit."""
    session = db.session()
    email = email and mail.is_enabled()
    for user in users:
        if not user.is_active:
            continue
        db.session.add(
            Notification(
                user_id=user.id,
                application_id=application_id,
                demand_id=demand_id,
                event=event,
                params=params,
                created_at=utcnow(),
            )
        )
        if not email:
            continue
        locale = user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
        with force_locale(locale):
            mail.queue(
                session,
                mail.Mail(to=user.email, subject=str(subject % params), body=render(event, params)),
            )
    # No flush here: the notices of one decision (or many) go in one INSERT at the next flush.


def notify_users(users: Iterable[User], event: str, *, email: bool = True, **params: Any) -> None:
    """Like `notify`, for events about no one application (an enterprise's passes, admin work)."""
    text_params = {k: str(v) for k, v in params.items()}
    _deliver(users, event, text_params, None, NOTICE_SUBJECT, email=email)


def enterprise_users(enterprise_id: int) -> list[User]:
    """The active users of an enterprise."""
    return list(
        db.session.scalars(
            select(User).where(
                User.enterprise_id == enterprise_id,
                User.role == Role.ENTERPRISE,
                User.is_active.is_(True),
            )
        )
    )


def approvers_of(department_code: str, scope: str) -> list[User]:
    """The active approvers of the department that signs a step."""
    return list(
        db.session.scalars(
            select(User)
            .join(Department, User.department_id == Department.id)
            .where(
                User.role == Role.APPROVER,
                User.is_active.is_(True),
                Department.code == department_code,
                Department.scope == scope,
            )
        )
    )


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count()).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def recent(user: User, limit: int = 50) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def mark_all_read(user: User) -> None:
    for notification in db.session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ):
        notification.read_at = utcnow()
    db.session.flush()


def notify_demand(
    users: Iterable[User], event: str, params: dict[str, str], demand_id: int
) -> None:
    """Like `notify`, about one demand ticket (services.demand_notices says who and what)."""
    _deliver(users, event, params, None, DEMAND_SUBJECT, demand_id=demand_id)
