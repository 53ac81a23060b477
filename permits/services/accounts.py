"""Accounts: creating users, logging in, sessions, and the administration of staff users.

Passwords are `services.passwords`, API tokens `services.api_tokens`, self-registration
`services.registration`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from permits import audit
from permits.extensions import db
from permits.models import Checkpoint, Department, Enterprise, Role, User
from permits.models.accounts import new_session_nonce
from permits.services import api_tokens, login_throttle, organisations, passwords, two_person
from permits.services import text as typed_text
from permits.services.errors import Conflict, NotAllowed, ValidationFailed

SUPPORTED_LOCALES = ("zh", "en")
EMAIL_TAKEN = _l("An account with this email address exists already; log in instead.")


def ensure_email_free(email: str) -> None:
    """Refuses an email address an account has already (the unique index checks it again)."""
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(
            _l("An account with this email address exists already."),
            {"email": EMAIL_TAKEN},
        )


def create_user(
    email: str,
    role: Role,
    password: str,
    *,
    name: str = "",
    enterprise: Enterprise | None = None,
    department: Department | None = None,
    checkpoint: Checkpoint | None = None,
    must_change_password: bool = False,
    password_hash: str | None = None,
    actor: User | None = None,
) -> User:
    """A new account; the role decides which organisation it must belong to.

    `password_hash` lets bulk loaders (the demo city) hash a shared password once.
    """
    email = organisations.normalize_email(email)
    problems: dict[str, str] = {}
    if role is Role.ENTERPRISE and enterprise is None:
        problems["enterprise"] = str(_l("An enterprise account needs its enterprise."))
    if role is Role.APPROVER and department is None:
        problems["department"] = str(_l("An approver needs a department and a scope."))
    if role is Role.HANDLER and department is None:
        problems["department"] = str(_l("A demand handler needs a department and a scope."))
    if role is Role.CHECKPOINT and checkpoint is None:
        problems["checkpoint"] = str(_l("A checkpoint account needs its checkpoint."))
    typed_text.check(problems, {"name": name})
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    passwords.check_new_password(password, personal=(email, name))
    ensure_email_free(email)
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        password_hash=password_hash or passwords.hash_password(password),
        enterprise_id=enterprise.id if enterprise and role is Role.ENTERPRISE else None,
        department_id=(
            department.id if department and role in (Role.APPROVER, Role.HANDLER) else None
        ),
        checkpoint_id=checkpoint.id if checkpoint and role is Role.CHECKPOINT else None,
        must_change_password=must_change_password,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise Conflict(
            _l("An account with this email address exists already."), {"email": EMAIL_TAKEN}
        ) from None
    audit.record("user.create", actor=actor, obj=user, details={"role": role.value})
    return user


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def authenticate(email: str, password: str, *, now: datetime) -> User | None:
    """The active user with this email and password, or None; upgrades an outdated hash."""
    user = user_by_email(email)
    if user is None:
        # Spend the same time as for a real account, so timing does not tell which exist.
        passwords.spend_verification_time(password)
        return None
    if not passwords.verify_password(user.password_hash, password) or not user.is_active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = now
    db.session.flush()
    audit.record("auth.login", actor=user, obj=user, now=now)
    return user


def user_for_session(session_id: str) -> User | None:
    """The user a session identity ("id:nonce") stands for, if that session is still live."""
    user_id, _, nonce = session_id.partition(":")
    if not user_id.isdigit() or not nonce:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active:
        return None
    if not passwords.same_text(user.session_nonce, nonce):
        return None
    return user


def end_all_sessions(user: User) -> None:
    """Every session cookie issued to this user stops working."""
    user.session_nonce = new_session_nonce()
    db.session.flush()
    api_tokens.forget_api_tokens(user.id)


def change_password(user: User, current: str, new: str, *, now: datetime) -> None:
    """Sets a new password and ends every other session (the caller logs this one in again)."""
    if not passwords.verify_password(user.password_hash, current):
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"current_password": _l("This is not your current password.")},
        )
    if passwords.same_text(current, new):
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"new_password": _l("Choose a password different from the current one.")},
        )
    passwords.check_new_password(new, personal=(user.email, user.name), field="new_password")
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = now
    user.must_change_password = False
    end_all_sessions(user)
    audit.record("auth.password_change", actor=user, obj=user, now=now)


def deactivate_user(user: User, *, now: datetime, actor: User | None = None) -> None:
    """The account can no longer log in; its sessions and API tokens stop at once."""
    if actor is not None and actor.id == user.id:
        raise NotAllowed(_l("You cannot deactivate your own account."))
    user.is_active = False
    end_all_sessions(user)
    for token in user.api_tokens:
        if token.revoked_at is None:
            token.revoked_at = now
    db.session.flush()
    api_tokens.forget_api_tokens(user.id)
    audit.record("user.deactivate", actor=actor, obj=user, now=now)


def set_locale(user: User, locale: str) -> None:
    if locale not in SUPPORTED_LOCALES:
        raise ValidationFailed(_l("Unknown language."), {"locale": locale})
    user.locale = locale
    db.session.flush()


# --- administration ----------------------------------------------------------------------

#: Longest search text taken from the user list's search box.
MAX_SEARCH = 100


@dataclass(frozen=True)
class NewUser:
    email: str
    role: str
    name: str = ""
    department: str = ""
    scope: str = ""
    checkpoint: str = ""
    enterprise_uscc: str = ""


def create_staff_user(actor: User, details: NewUser, *, now: datetime) -> tuple[User, str]:
    """An account made by an administrator, with a first password to hand over (returned once,
    never stored or logged); the user must change it at the first login."""
    try:
        role = Role(details.role)
    except ValueError:
        raise ValidationFailed(
            _l("Some fields need your attention."), {"role": _l("Choose a role.")}
        ) from None
    department = checkpoint = enterprise = None
    if role in (Role.APPROVER, Role.HANDLER):
        department = organisations.get_or_create_department(
            details.department.strip(), details.scope.strip().lower()
        )
    elif role is Role.CHECKPOINT:
        checkpoint = organisations.checkpoint_by_code(details.checkpoint.strip())
        if checkpoint is None:
            raise ValidationFailed(
                _l("Some fields need your attention."),
                {"checkpoint": _l("There is no checkpoint with this code.")},
            )
    elif role is Role.ENTERPRISE:
        enterprise = organisations.enterprise_by_uscc(details.enterprise_uscc)
        if enterprise is None:
            raise ValidationFailed(
                _l("Some fields need your attention."),
                {"enterprise_uscc": _l("There is no registered enterprise with this code.")},
            )
    password = passwords.first_password()
    user = create_user(
        details.email,
        role,
        password,
        name=details.name,
        department=department,
        checkpoint=checkpoint,
        enterprise=enterprise,
        must_change_password=True,
        actor=actor,
    )
    user.created_at = now
    two_person.note_handover(user, actor, created=True, now=now)
    db.session.flush()
    return user, password


def reactivate_user(actor: User, user: User, *, now: datetime) -> None:
    """The account may log in again (its old API tokens stay revoked)."""
    if user.is_active:
        raise Conflict(_l("This account is active already."))
    user.is_active = True
    end_all_sessions(user)
    audit.record("user.reactivate", actor=actor, obj=user, now=now)


def reset_password(actor: User, user: User, *, now: datetime) -> str:
    """A new first password (returned once), to be changed at the next login; every session of
    the user ends."""
    password = passwords.first_password()
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = now
    user.must_change_password = True
    two_person.note_handover(user, actor, created=False, now=now)
    end_all_sessions(user)
    audit.record("user.password_reset", actor=actor, obj=user, now=now)
    return password


def unlock_login(actor: User, user: User, *, now: datetime) -> None:
    """Forgets the user's failed logins, so a throttled account may log in again at once."""
    login_throttle.clear(user.email)
    audit.record("user.unlock", actor=actor, obj=user, now=now)


@dataclass(frozen=True)
class UserPage:
    items: list[User]
    page: int
    has_next: bool


def search_users(
    text: str, role: Role | None = None, *, page: int = 1, per_page: int = 25
) -> UserPage:
    """Users whose email or name contains the text, newest first, one page at a time."""
    text = text.strip()[:MAX_SEARCH]
    page = max(1, min(page, 1000))
    query = select(User).order_by(User.id.desc())
    if text:
        query = query.where(
            or_(
                User.email.icontains(text, autoescape=True),
                User.name.icontains(text, autoescape=True),
            )
        )
    if role is not None:
        query = query.where(User.role == role)
    rows = list(db.session.scalars(query.offset((page - 1) * per_page).limit(per_page + 1)))
    return UserPage(rows[:per_page], page, len(rows) > per_page)
