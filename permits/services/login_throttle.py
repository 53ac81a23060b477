"""Failed log-ins per account, counted in the database: every worker and every app server on it
sees one count (the rate limiter's default storage is per process, which multiplied the limit).

The key is the email typed, hashed, whether or not an account has it, so the answers tell
nobody which accounts exist. An attempt is counted before its password is checked, with
conditional UPDATEs, so concurrent attempts cannot slip past the limit; a right password gives
its attempt back. While an account is locked, its owner is emailed (once per window) a link
that lets their browser in with the right password (see views.auth).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from limits import parse
from sqlalchemy import CursorResult, Update, delete, select, update
from sqlalchemy.exc import IntegrityError

from permits import mail
from permits.extensions import db
from permits.models import LoginFailures, User

UNLOCK_SUBJECT = _l("Permits: your account was locked after failed log-ins")
UNLOCK_BODY = _l(
    "Someone tried to log in to your account %(email)s with wrong passwords, so it is locked"
    " for %(minutes)d minutes. If it was you, open this link in the browser you log in with;"
    " it lets that browser in with your password now (valid for %(link_minutes)d minutes):"
    "\n\n%(link)s\n\nIf it was not you, nobody got in: your password was not given. Ignore"
    " this email, or change your password if it is weak."
)
#: How long the emailed unlock link works.
UNLOCK_LINK_MINUTES = 60


@dataclass(frozen=True)
class Policy:
    attempts: int
    window: timedelta


def policy() -> Policy:
    """LOGIN_LIMIT_ACCOUNT (e.g. "5 per 15 minutes"): attempts that may fail in one window."""
    item = parse(str(current_app.config["LOGIN_LIMIT_ACCOUNT"]))
    return Policy(item.amount, timedelta(seconds=item.get_expiry()))


def account_key(email: str) -> str:
    typed = email.strip().lower()[:254]
    return hashlib.sha256(typed.encode("utf-8", "surrogatepass")).hexdigest()


def _changed(statement: Update) -> bool:
    """Runs a conditional UPDATE; whether it changed the row."""
    statement = statement.execution_options(synchronize_session=False)
    result = cast(CursorResult[Any], db.session.execute(statement))
    return result.rowcount == 1


def reserve(email: str, *, now: datetime) -> int | None:
    """Counts an attempt on this account before its password is checked: None when it may go
    ahead, else the seconds until the account's window ends. The caller commits at once."""
    key, limit = account_key(email), policy()
    cutoff = now - limit.window
    for _ in range(3):
        if _changed(
            update(LoginFailures)
            .where(
                LoginFailures.key == key,
                LoginFailures.window_started_at > cutoff,
                LoginFailures.failures < limit.attempts,
            )
            .values(failures=LoginFailures.failures + 1)
        ):
            return None
        if _changed(
            update(LoginFailures)
            .where(LoginFailures.key == key, LoginFailures.window_started_at <= cutoff)
            .values(failures=1, window_started_at=now, is_owner_told=False)
        ):
            return None
        row = db.session.execute(
            select(LoginFailures.failures, LoginFailures.window_started_at).where(
                LoginFailures.key == key
            )
        ).one_or_none()
        if row is None:
            try:
                with db.session.begin_nested():
                    db.session.add(LoginFailures(key=key, failures=1, window_started_at=now))
                return None
            except IntegrityError:
                continue  # another attempt made the row first: count on it
        started: datetime = row.window_started_at
        if row.failures >= limit.attempts and started > cutoff:
            return max(1, math.ceil((started + limit.window - now).total_seconds()))
        # Another attempt committed the row after the UPDATEs looked (read committed): again.
    return math.ceil(limit.window.total_seconds())


def give_back(email: str, *, now: datetime) -> None:
    """The password was right: its attempt does not count as a failure."""
    _changed(
        update(LoginFailures)
        .where(
            LoginFailures.key == account_key(email),
            LoginFailures.failures > 0,
            LoginFailures.window_started_at > now - policy().window,
        )
        .values(failures=LoginFailures.failures - 1)
    )


def clear(email: str) -> None:
    """Forgets the account's failed log-ins (an administrator unlocked it)."""
    db.session.execute(delete(LoginFailures).where(LoginFailures.key == account_key(email)))


def owner_to_tell(user: User | None, *, now: datetime) -> User | None:
    """The active owner of a locked account, the first time in this window it is asked."""
    if user is None or not user.is_active:
        return None
    if _changed(
        update(LoginFailures)
        .where(
            LoginFailures.key == account_key(user.email),
            LoginFailures.is_owner_told.is_(False),
            LoginFailures.window_started_at > now - policy().window,
        )
        .values(is_owner_told=True)
    ):
        return user
    return None


def send_unlock_link(user: User, link: str, *, wait_seconds: int) -> None:
    """Emails the owner the link that lets their browser in (after the caller's commit)."""
    locale = user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        body = UNLOCK_BODY % {
            "email": user.email,
            "minutes": max(1, math.ceil(wait_seconds / 60)),
            "link_minutes": UNLOCK_LINK_MINUTES,
            "link": link,
        }
        mail.queue(db.session(), mail.Mail(to=user.email, subject=str(UNLOCK_SUBJECT), body=body))
