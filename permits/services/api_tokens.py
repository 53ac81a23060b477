"""API tokens: issuing and revoking them, and finding a token's owner on every API call; the
owners of the hot verification calls are remembered per process, in a cache bounded in size and
age."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cachetools import TTLCache
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload, make_transient_to_detached

from permits import audit, database
from permits.extensions import db
from permits.models import ApiToken, User
from permits.services import text as typed_text
from permits.services.errors import NotAllowed, ValidationFailed

TOKEN_PREFIX = "pt_"  # noqa: S105 - marks our tokens, not a secret
#: A token's last-used time is written at most this often, to keep reads cheap.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)

log = logging.getLogger(__name__)


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
