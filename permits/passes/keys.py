"""ES256 signing keys in a folder (instance/keys or PERMITS_KEYS_DIR), one PEM and one JSON each.

A key signs passes only within its signing period: a pass's exp never outlives the key that
signed it, so a key can be dropped from the published set once its period is over. Rotation
retires the current key (it signs no more) and makes a new one; retired keys stay published
until their period ends, because passes they signed may still be valid.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from permits.passes.token import kid_for

#: How long a process trusts its copy of the key folder before looking at it again (seconds).
RECHECK_SECONDS = 1.0


class KeyStorageError(OSError):
    """The key folder cannot be written: the disk is full or the folder is not writable."""


@contextmanager
def _writing() -> Iterator[None]:
    try:
        yield
    except KeyStorageError:
        raise
    except OSError as exc:
        raise KeyStorageError(exc.errno, exc.strerror) from exc


@dataclass(frozen=True)
class SigningKey:
    kid: bytes
    public_key: ec.EllipticCurvePublicKey
    private_key: ec.EllipticCurvePrivateKey | None
    created_at: datetime
    #: The signing period: passes it signs are valid only inside [not_before, expires_at].
    not_before: datetime
    expires_at: datetime
    #: When it was rotated out; a retired key signs nothing more.
    retired_at: datetime | None = None

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()

    def can_sign(self, pass_expires: datetime, now: datetime) -> bool:
        return (
            self.private_key is not None
            and self.retired_at is None
            and self.not_before <= now
            and pass_expires <= self.expires_at
        )

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK, with its signing period as nbf/exp."""
        numbers = self.public_key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
            "kid": _b64url(self.kid),
            "use": "sig",
            "alg": "ES256",
            "nbf": int(self.not_before.timestamp()),
            "exp": int(self.expires_at.timestamp()),
        }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class KeyStore:
    """The keys of one folder, reloaded when the folder changes (e.g. after `flask keys rotate`)."""

    def __init__(self, folder: Path, lifetime: timedelta) -> None:
        self.folder = folder
        self.lifetime = lifetime
        self._cache: tuple[float, list[SigningKey]] | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    # --- reading ---------------------------------------------------------------------------

    def all(self, *, recheck: bool = False) -> list[SigningKey]:
        """Every key in the folder, oldest first. The folder is looked at again at most once a
        second (a stat per verification was a fiftieth of its time), or at once with `recheck`:
        another process's `flask keys rotate` shows within a second, this process's at once."""
        if (
            not recheck
            and self._cache is not None
            and time.monotonic() - self._checked_at < RECHECK_SECONDS
        ):
            return list(self._cache[1])
        try:
            stamp = self.folder.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        with self._lock:
            if self._cache is None or self._cache[0] != stamp:
                self._cache = (stamp, self._load())
            self._checked_at = time.monotonic()
            return list(self._cache[1])

    def _load(self) -> list[SigningKey]:
        loaded = []
        for meta_path in sorted(self.folder.glob("*.json")):
            meta = json.loads(meta_path.read_text())
            pem_path = meta_path.with_suffix(".pem")
            private = None
            if pem_path.exists():
                key = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
                assert isinstance(key, ec.EllipticCurvePrivateKey)
                private = key
                public = key.public_key()
            else:
                public_key = serialization.load_pem_public_key(meta["public_key"].encode())
                assert isinstance(public_key, ec.EllipticCurvePublicKey)
                public = public_key
            loaded.append(
                SigningKey(
                    kid=bytes.fromhex(meta["kid"]),
                    public_key=public,
                    private_key=private,
                    created_at=datetime.fromisoformat(meta["created_at"]),
                    not_before=datetime.fromisoformat(meta["not_before"]),
                    expires_at=datetime.fromisoformat(meta["expires_at"]),
                    retired_at=datetime.fromisoformat(meta["retired_at"])
                    if meta.get("retired_at")
                    else None,
                )
            )
        return sorted(loaded, key=lambda k: k.created_at)

    def published(self, now: datetime, *, recheck: bool = False) -> list[SigningKey]:
        """Keys whose passes may still be valid: every key whose signing period has not ended."""
        return [k for k in self.all(recheck=recheck) if k.expires_at > now]

    def public_keys(
        self, now: datetime, *, recheck: bool = False
    ) -> dict[bytes, ec.EllipticCurvePublicKey]:
        return {k.kid: k.public_key for k in self.published(now, recheck=recheck)}

    # --- writing ---------------------------------------------------------------------------

    def signer_for(self, pass_expires: datetime, now: datetime) -> SigningKey:
        """The current key if it may sign a pass that ends then; else a new key is made."""
        for key in reversed(self.all()):
            if key.can_sign(pass_expires, now):
                return key
        with _writing(), self._exclusive():
            self._cache = None
            for key in reversed(self.all()):  # another process may have made one meanwhile
                if key.can_sign(pass_expires, now):
                    return key
            return self._create(now, max(now + self.lifetime, pass_expires))

    def rotate(self, now: datetime) -> SigningKey:
        """Retires every signing key and makes a new current one."""
        with _writing(), self._exclusive():
            for key in self.all():
                if key.retired_at is None:
                    self._write_meta(replace(key, retired_at=now))
            self._cache = None
            return self._create(now, now + self.lifetime)

    def ensure_current(self, now: datetime) -> SigningKey:
        """Makes the first key on first run."""
        return self.signer_for(now, now)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.folder / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _create(self, now: datetime, expires_at: datetime) -> SigningKey:
        private = ec.generate_private_key(ec.SECP256R1())
        key = SigningKey(
            kid=kid_for(private.public_key()),
            public_key=private.public_key(),
            private_key=private,
            created_at=now,
            not_before=now,
            expires_at=expires_at,
        )
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        pem_path = self.folder / f"{key.kid_hex}.pem"
        descriptor = os.open(pem_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        self._write_meta(key)
        self._cache = None
        return key

    def _write_meta(self, key: SigningKey) -> None:
        public_pem = key.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        meta = {
            "kid": key.kid_hex,
            "created_at": key.created_at.isoformat(),
            "not_before": key.not_before.isoformat(),
            "expires_at": key.expires_at.isoformat(),
            "retired_at": key.retired_at.isoformat() if key.retired_at else None,
            "public_key": public_pem,
        }
        temporary = self.folder / f".{key.kid_hex}.json.tmp"
        temporary.write_text(json.dumps(meta, indent=2))
        os.replace(temporary, self.folder / f"{key.kid_hex}.json")
