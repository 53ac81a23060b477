"""The two-person rule: who counts as the second person for what another admin asked for.

One predicate for every action that needs a second administrator (today: confirming a mass
revocation). An account whose password an administrator set for it (creation or reset) is not
a second person to that administrator for ADMIN_HANDOVER_DAYS, nor to anyone for what was asked
before the handover, and no account on a one-time password is (docs/access.md states the rule).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from permits.extensions import db
from permits.models import Role, User
from permits.services import notifications


def handover_period() -> timedelta:
    return timedelta(days=int(current_app.config["ADMIN_HANDOVER_DAYS"]))


def refusal(
    user: User, *, requested_by_id: int, requested_at: datetime, now: datetime
) -> str | None:
    """Why this user may not be the second person for a request, or None if they may."""
    if user.role is not Role.ADMIN or not user.is_active:
        return str(_l("Only another administrator can confirm this."))
    if user.id == requested_by_id:
        return str(_l("You asked for this; a different administrator must confirm it."))
    if user.must_change_password:
        return str(
            _l(
                "Set your own password first: an account on a one-time password cannot confirm"
                " what another administrator asked for."
            )
        )
    handed_over_at = user.handed_over_at
    if handed_over_at is None:
        return None
    if handed_over_at >= requested_at:
        return str(
            _l(
                "Your password was set by an administrator after this was asked for; a different"
                " administrator must confirm it."
            )
        )
    if user.handed_over_by_id == requested_by_id and now - handed_over_at < handover_period():
        return str(
            _l(
                "The administrator who asked for this set your password less than %(days)d days"
                " ago; a different administrator must confirm it.",
                days=handover_period().days,
            )
        )
    return None


def note_handover(user: User, actor: User | None, *, created: bool, now: datetime) -> None:
    """An administrator set this account's password for it: remembered; for an admin account
    every other administrator is told, for another account its holder (in the app and by
    email)."""
    if actor is None or actor.id == user.id:
        return  # the server's operator (CLI), or the holder themselves
    user.handed_over_at = now
    user.handed_over_by_id = actor.id
    if user.role is not Role.ADMIN:
        if not created:  # the holder learns of it at their own address, whoever logs in now
            notifications.notify_users([user], "password_reset", actor=actor.email)
        return
    others = db.session.scalars(
        select(User).where(User.role == Role.ADMIN, User.is_active.is_(True), User.id != actor.id)
    )
    notifications.notify_users(
        others,
        "admin_created" if created else "admin_password_reset",
        actor=actor.email,
        account=user.email,
        days=handover_period().days,
    )
