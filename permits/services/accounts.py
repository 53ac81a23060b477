"""Accounts: registration, staff users, passwords, sessions and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cachetools import TTLCache
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload, make_transient_to_detached

from permits import audit, database, validators
from permits.extensions import db
from permits.models import ApiToken, Checkpoint, Department, Enterprise, Role, User
from permits.models.accounts import new_session_nonce
from permits.services import login_throttle, organisations, two_person
from permits.services import text as typed_text
from permits.services.errors import Conflict, NotAllowed, ValidationFailed

#: Argon2id with the library's current recommended parameters (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
#: Cheap parameters for the test suite only (PASSWORD_HASH_FAST); never for real accounts.
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

TOKEN_PREFIX = "pt_"  # noqa: S105 - marks our tokens, not a secret
#: A token's last-used time is written at most this often, to keep reads cheap.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)

SUPPORTED_LOCALES = ("zh", "en")
EMAIL_TAKEN = _l("An account with this email address exists already; log in instead.")

log = logging.getLogger(__name__)


def _current_hasher() -> PasswordHasher:
    return _fast_hasher if current_app.config.get("PASSWORD_HASH_FAST") else _hasher


def hash_password(password: str) -> str:
    return _current_hasher().hash(password)


def password_messages(problem: str) -> str:
    messages = {
        "short": _l("Use at least %(n)d characters.", n=current_app.config["PASSWORD_MIN_LENGTH"]),
        "common": _l("This password is too common and easy to guess; choose another."),
        "personal": _l("Do not use your name or email address in the password."),
    }
    return str(messages[problem])


def check_new_password(
    password: str, *, personal: tuple[str, ...] = (), field: str = "password"
) -> None:
    """Refuses a password that is short, common or made of the user's own details."""
    problem = validators.password_problem(
        password, int(current_app.config["PASSWORD_MIN_LENGTH"]), personal=personal
    )
    if problem:
        raise ValidationFailed(
            _l("Some fields need your attention."), {field: password_messages(problem)}
        )


def _ensure_email_free(email: str) -> None:
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
    check_new_password(password, personal=(email, name))
    _ensure_email_free(email)
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        password_hash=password_hash or hash_password(password),
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


@dataclass(frozen=True)
class Registration:
    enterprise: organisations.EnterpriseDetails
    email: str
    password: str


def registration_problems(registration: Registration) -> dict[str, str]:
    """Every field of a self-registration that is wrong, with its message; writes nothing."""
    details = registration.enterprise
    problems = organisations.enterprise_problems(details, require_contact=True)
    try:
        email = organisations.normalize_email(registration.email)
    except ValidationFailed as exc:
        problems.update({k: str(v) for k, v in exc.fields.items()})
        email = registration.email
    try:
        check_new_password(registration.password, personal=(email, details.contact_name))
    except ValidationFailed as exc:
        problems.update({k: str(v) for k, v in exc.fields.items()})
    return problems


def register_enterprise(registration: Registration) -> User:
    """Self-registration: the enterprise and its first account, or every problem at once."""
    details = registration.enterprise
    problems = registration_problems(registration)
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    email = organisations.normalize_email(registration.email)
    _ensure_email_free(email)
    enterprise = organisations.create_enterprise(
        organisations.EnterpriseDetails(
            uscc=details.uscc,
            name=details.name,
            district=details.district,
            address=details.address,
            contact_name=details.contact_name,
            contact_phone=details.contact_phone,
            email=email,
        ),
        require_contact=True,
    )
    return create_user(
        email,
        Role.ENTERPRISE,
        registration.password,
        name=details.contact_name,
        enterprise=enterprise,
    )


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def authenticate(email: str, password: str, *, now: datetime) -> User | None:
    """The active user with this email and password, or None; upgrades an outdated hash."""
    user = user_by_email(email)
    if user is None:
        # Spend the same time as for a real account, so timing does not tell which exist.
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password) or not user.is_active:
        return None
    if _current_hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    db.session.flush()
    audit.record("auth.login", actor=user, obj=user, now=now)
    return user


@cache
def _dummy_hash_for(fast: bool) -> str:
    return (_fast_hasher if fast else _hasher).hash("not the password of anyone")


def _dummy_hash() -> str:
    return _dummy_hash_for(bool(current_app.config.get("PASSWORD_HASH_FAST")))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _current_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def same_text(a: str, b: str) -> bool:
    """Constant-time equality of two texts; compare_digest refuses non-ASCII str, so UTF-8 bytes."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def user_for_session(session_id: str) -> User | None:
    """The user a session identity ("id:nonce") stands for, if that session is still live."""
    user_id, _, nonce = session_id.partition(":")
    if not user_id.isdigit() or not nonce:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active:
        return None
    if not same_text(user.session_nonce, nonce):
        return None
    return user


def end_all_sessions(user: User) -> None:
    """Every session cookie issued to this user stops working."""
    user.session_nonce = new_session_nonce()
    db.session.flush()
    forget_api_tokens(user.id)


def change_password(user: User, current: str, new: str, *, now: datetime) -> None:
    """Sets a new password and ends every other session (the caller logs this one in again)."""
    if not _verify(user.password_hash, current):
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"current_password": _l("This is not your current password.")},
        )
    if same_text(current, new):
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"new_password": _l("Choose a password different from the current one.")},
        )
    check_new_password(new, personal=(user.email, user.name), field="new_password")
    user.password_hash = hash_password(new)
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
    forget_api_tokens(user.id)
    audit.record("user.deactivate", actor=actor, obj=user, now=now)


def set_locale(user: User, locale: str) -> None:
    if locale not in SUPPORTED_LOCALES:
        raise ValidationFailed(_l("Unknown language."), {"locale": locale})
    user.locale = locale
    db.session.flush()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(user: User, name: str, *, now: datetime) -> tuple[ApiToken, str]:
    """A new API token for the user; the plain token is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"name": _l("Name the token (1–100 characters), e.g. after the system that uses it.")},
        )
    typed_text.refuse({"name": name})
    if not user.is_active:
        raise NotAllowed(_l("This account is deactivated."))
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, name=name, token_hash=_token_hash(plain), prefix=plain[:10], created_at=now
    )
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", actor=user, obj=token, details={"name": name}, now=now)
    return token, plain


def revoke_api_token(token: ApiToken, *, now: datetime) -> None:
    if token.revoked_at is None:
        token.revoked_at = now
        db.session.flush()
        forget_api_tokens(token.user_id)
        audit.record("token.revoke", actor=None, obj=token, now=now)


@dataclass(frozen=True)
class _KnownToken:
    """A token's owner, remembered for API_TOKEN_CACHE_SECONDS as a detached copy that no
    session holds: the scan endpoints read its columns only (id, role, checkpoint, locale), so
    it is handed out as it is, without attaching it to the request's session (a merge cost a
    tenth of a verification)."""

    user: User
    token_id: int
    last_used_at: datetime | None
    remembered_at: float


#: Tokens remembered per process at most (the oldest go first): a flood of distinct tokens
#: cannot grow a worker without bound.
API_TOKEN_CACHE_SIZE = 10_000


class _TokenCache:
    """The remembered tokens of this process, bounded in number and in age; behind a lock
    because a TTLCache's bookkeeping is not safe across threads (the dev server, the tests)."""

    def __init__(self, seconds: float) -> None:
        self._items: TTLCache[str, _KnownToken] = TTLCache(API_TOKEN_CACHE_SIZE, max(seconds, 1))
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get(self, digest: str) -> _KnownToken | None:
        with self._lock:
            return self._items.get(digest)

    def put(self, digest: str, known: _KnownToken) -> None:
        with self._lock:
            self._items[digest] = known

    def pop(self, digest: str) -> None:
        with self._lock:
            self._items.pop(digest, None)

    def forget_user(self, user_id: int | None) -> None:
        with self._lock:
            for digest, known in list(self._items.items()):
                if user_id is None or known.user.id == user_id:
                    self._items.pop(digest, None)


def _token_cache() -> _TokenCache:
    cache: _TokenCache | None = current_app.extensions.get("permits.api_tokens")
    if cache is None:
        seconds = float(current_app.config["API_TOKEN_CACHE_SECONDS"])
        cache = current_app.extensions.setdefault("permits.api_tokens", _TokenCache(seconds))
    return cache


def forget_api_tokens(user_id: int | None = None) -> None:
    """Drops remembered tokens (of one user, or all) in this process, after a revocation."""
    _token_cache().forget_user(user_id)


def _detached_copy(user: User) -> User:
    copy = User(**{c.key: getattr(user, c.key) for c in User.__mapper__.column_attrs})
    make_transient_to_detached(copy)
    return copy


#: Built once: every API call with a token that is not remembered runs it.
_TOKEN_OWNER = (
    select(User, ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"))
    # An approver's department decides what they may see and do: joined, not a second round
    # trip on the first permission check.
    .options(joinedload(User.department))
)


def user_for_api_token(plain: str, *, now: datetime, may_remember: bool = False) -> User | None:
    """The active owner of a live token; notes at most every few minutes when the token was
    last used. One query, or none while remembered: `may_remember` is for the hot, read-only
    verification calls, where a revocation on another worker taking a few seconds is harmless."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    digest = _token_hash(plain)
    cache = _token_cache()
    ttl = float(current_app.config["API_TOKEN_CACHE_SECONDS"]) if may_remember else 0.0
    known = cache.get(digest)
    if (
        known is not None
        and time.monotonic() - known.remembered_at < ttl
        and inspect(known.user).session_id is None  # never attached by a request: still a copy
    ):
        user = known.user  # no query, no session bookkeeping
        token_id, last_used_at = known.token_id, known.last_used_at
    else:
        row = db.session.execute(_TOKEN_OWNER, {"digest": digest}).first()
        if row is None or row[2] is not None or not row[0].is_active:
            cache.pop(digest)
            return None
        user, token_id, _revoked_at, last_used_at = row
        if ttl > 0:
            remembered = _detached_copy(user)
            cache.put(digest, _KnownToken(remembered, token_id, last_used_at, time.monotonic()))
    if last_used_at is None or now - last_used_at > TOKEN_TOUCH_INTERVAL:
        _touch_token(token_id, now)
        if (kept := cache.get(digest)) is not None:
            cache.put(digest, replace(kept, last_used_at=now))
    return user


def _touch_token(token_id: int, now: datetime) -> None:
    statement = update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
    if database.write_intent.get():
        # A writing request: in its own transaction, which holds (or will hold) the write lock.
        db.session.execute(statement)
        return
    try:
        # A reading request holds no write lock: a short transaction of its own.
        with db.engine.begin() as conn:
            conn.execute(statement)
    except OperationalError:
        # Best effort: a busy database must not refuse an otherwise good request.
        log.warning("could not record the use of API token %s", token_id)


# --- administration ----------------------------------------------------------------------

#: Letters and digits that cannot be mistaken for one another when read out or copied.
_FIRST_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105
#: Longest search text taken from the user list's search box.
MAX_SEARCH = 100


def first_password() -> str:
    """A random password for a new or reset account, shown once; the user must change it."""
    length = max(16, int(current_app.config["PASSWORD_MIN_LENGTH"]))
    return "".join(secrets.choice(_FIRST_PASSWORD_ALPHABET) for _ in range(length))


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
    if role is Role.APPROVER:
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
    password = first_password()
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
    password = first_password()
    user.password_hash = hash_password(password)
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
