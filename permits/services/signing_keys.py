"""Signing keys seen by the administration: their periods, the passes they signed; rotation.

The web page and `flask keys rotate` both rotate through `rotate`, so both are audited alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from permits import audit
from permits.extensions import db
from permits.models import Pass, PassStatus, User
from permits.passes.keys import SigningKey
from permits.services import issuance


@dataclass(frozen=True)
class KeyRow:
    key: SigningKey
    is_current: bool
    is_published: bool
    #: Active, unexpired passes signed by this key.
    valid_passes: int


def valid_pass_counts(now: datetime) -> dict[str, int]:
    """kid (hex) → how many passes it signed are valid now (active and not expired)."""
    rows = db.session.execute(
        select(Pass.kid, func.count(Pass.id))
        .where(Pass.status == PassStatus.ACTIVE, Pass.expires_at > now)
        .group_by(Pass.kid)
    )
    return {kid: int(count) for kid, count in rows}


def overview(now: datetime) -> list[KeyRow]:
    """Every key, newest first, with whether it signs now, whether verifiers still get it, and
    how many valid passes depend on it."""
    keys = issuance.key_store().all()
    counts = valid_pass_counts(now)
    signing = [k for k in keys if k.private_key is not None and k.retired_at is None]
    current = signing[-1].kid if signing else None
    return [
        KeyRow(
            key=key,
            is_current=key.kid == current,
            is_published=key.expires_at > now,
            valid_passes=counts.get(key.kid_hex, 0),
        )
        for key in reversed(keys)
    ]


def rotate(actor: User | None, *, now: datetime) -> SigningKey:
    """A new current signing key; the old ones stay published while their passes may be valid."""
    key = issuance.key_store().rotate(now)
    audit.record("keys.rotate", actor=actor, details={"kid": key.kid_hex}, now=now)
    return key
