"""PP1, the signed QR pass: "PP1:" + Base45(zlib(COSE_Sign1(CWT claims))), signed with ES256.

The public contract is docs/pass-format.md. This module is pure (stdlib, cbor2, cryptography;
no Flask, no database, no other permits module), so other verifiers can copy it as it is.
`verify` answers every input with a `Verification` and never raises; it always checks the
signature. `unpack` and `validity` are its steps before and after that check, for an issuer that
recognises a text as its own by other means (see services/verification.py); any other verifier
calls `verify`.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import io
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import cbor2
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

PREFIX = "PP1:"
#: The CWT claim (private-use range) that holds the pass claims map.
CLAIM_KEY = -70001
#: The value of "v" in the pass claims map; another version is refused, not guessed at.
SCHEMA_VERSION = 1
#: Longer text is refused before decoding (the largest QR code holds 4,296 characters).
MAX_TEXT_LENGTH = 8192
#: The most bytes zlib may inflate to, so a small token cannot expand into a large one.
MAX_DECOMPRESSED_SIZE = 64 * 1024

_COSE_SIGN1_TAG = 18
_HEADER_ALG = 1
_HEADER_CRIT = 2
_HEADER_KID = 4
_ES256 = -7
_CWT_ISS, _CWT_EXP, _CWT_NBF, _CWT_IAT, _CWT_CTI = 1, 4, 5, 6, 7
_KINDS = frozenset({"VP", "WR"})
_P256_BYTES = 32

_T = TypeVar("_T")


class Result(enum.StrEnum):
    """The outcome of a scan; the same codes as the JSON API's `result`."""

    VALID = "valid"
    #: Signed by us, but the validity period is over.
    EXPIRED = "expired"
    #: Signed by us, but the validity period has not begun.
    NOT_YET_VALID = "not_yet_valid"
    #: Signed by us, but on the revocation list (decided by the caller, never by `verify`).
    REVOKED = "revoked"
    BAD_SIGNATURE = "bad_signature"
    #: The kid names no key the verifier holds.
    UNKNOWN_KEY = "unknown_key"
    MALFORMED = "malformed"
    WRONG_PREFIX = "wrong_prefix"
    #: A control code or plate looked up without a QR matched no pass (the caller's answer).
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class PassClaims:
    """What a pass says, as signed into its token (short wire keys in the comments)."""

    issuer: str  # CWT 1 iss, e.g. "CN-310000"
    issued_at: int  # CWT 6 iat (epoch seconds)
    not_before: int  # CWT 5 nbf: 00:00 of the first valid day
    expires: int  # CWT 4 exp: 00:00 of the day after the last valid day
    number: str  # CWT 7 cti (as UTF-8 bytes) and "no"
    control_code: str  # "cc"
    kind: str  # "t": "VP" vehicle pass or "WR" work resumption
    enterprise: str  # "ent"
    uscc: str  # "uscc"
    plate: str | None = None  # VP "pl"
    origin: str | None = None  # VP "fr"
    destination: str | None = None  # VP "to"
    cargo: str | None = None  # VP "cg"
    drivers: tuple[tuple[str, str], ...] = ()  # VP "dr": [[name, last 4 of ID], ...]
    site: str | None = None  # WR "site"
    district: str | None = None  # WR "dist"
    staff: int | None = None  # WR "staff"


@dataclass(frozen=True)
class Verification:
    """The answer to one scan; claims only once the signature has been checked."""

    result: Result
    claims: PassClaims | None = None
    kid: bytes | None = None
    #: A short English reason for logs and tests; never personal data.
    detail: str = ""


class _Malformed(Exception):
    """Internal: the token cannot be read; its argument is the `detail`."""


def kid_for(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The key id: the first 8 bytes of SHA-256 of the SubjectPublicKeyInfo (DER)."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:8]


def sign(claims: PassClaims, private_key: ec.EllipticCurvePrivateKey, kid: bytes) -> str:
    """The QR text of a pass. Raises ValueError for claims that `verify` would refuse."""
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        private_key.curve, ec.SECP256R1
    ):
        raise ValueError("PP1 is signed with a P-256 key")
    if not isinstance(kid, bytes) or not kid:
        raise ValueError("the kid must be non-empty bytes")
    cwt = _cwt_map(claims)
    try:
        _claims_from(cwt)
    except _Malformed as problem:
        raise ValueError(f"claims would not verify: {problem}") from None
    protected = cbor2.dumps({_HEADER_ALG: _ES256, _HEADER_KID: kid}, canonical=True)
    payload = cbor2.dumps(cwt, canonical=True)
    der = private_key.sign(_sig_structure(protected, payload), _SIGNING_ALGORITHM)
    r, s = decode_dss_signature(der)
    signature = r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")
    message = cbor2.dumps(
        cbor2.CBORTag(_COSE_SIGN1_TAG, [protected, {}, payload, signature]), canonical=True
    )
    return PREFIX + b45encode(zlib.compress(message, 9))


class Unpacked(NamedTuple):
    """A PP1 text taken apart and its kid matched to one of the verifier's P-256 keys, its
    signature NOT yet checked: nothing in it counts until `verify` has checked that."""

    kid: bytes
    key: ec.EllipticCurvePublicKey
    protected: bytes
    payload: bytes
    signature: bytes


def verify(text: str, keys: Mapping[bytes, ec.EllipticCurvePublicKey], now: int) -> Verification:
    """Decode and check a scanned text against the verifier's own keys, at epoch second `now`.

    Revocation is not decided here: the caller checks `claims.number` against its list.
    """
    return _answered(_verify, text, keys, now)


def unpack(text: str, keys: Mapping[bytes, ec.EllipticCurvePublicKey]) -> Unpacked | Verification:
    """`verify`'s steps before the signature check (prefix, wrapping, COSE, kid among `keys`,
    signature length), or the answer of the step that refused. Not a verdict: see `verify`."""
    return _answered(_unpack, text, keys)


def validity(unpacked: Unpacked, now: int) -> Verification:
    """The claims of an unpacked text and where `now` falls in their validity window. The
    signature is not looked at: this is a verdict only for a text whose signature was checked."""
    return _answered(_judge, unpacked, now)


def _answered(step: Callable[..., _T], *args: Any) -> _T | Verification:
    """The step's answer; the contract is an answer for any input whatsoever, even a broken
    key map."""
    try:
        return step(*args)
    except _Malformed as problem:
        return Verification(Result.MALFORMED, detail=str(problem))
    except Exception:
        return Verification(Result.MALFORMED, detail="unreadable input")


def _verify(text: str, keys: Mapping[bytes, ec.EllipticCurvePublicKey], now: int) -> Verification:
    unpacked = _unpack(text, keys)
    if isinstance(unpacked, Verification):
        return unpacked
    if not _signature_holds(unpacked):
        return Verification(
            Result.BAD_SIGNATURE, kid=unpacked.kid, detail="signature does not verify"
        )
    return _judge(unpacked, now)


def _unpack(text: str, keys: Mapping[bytes, ec.EllipticCurvePublicKey]) -> Unpacked | Verification:
    if not isinstance(text, str):
        raise _Malformed("not text")
    text = text.strip()
    if not text.startswith(PREFIX):
        return Verification(Result.WRONG_PREFIX, detail="does not start with PP1:")
    protected, payload, signature = _sign1(_message(text))
    kid = _kid(protected)
    # Only the verifier's own keys count; a key carried in the token is never used.
    key = keys.get(kid)
    if key is None:
        return Verification(Result.UNKNOWN_KEY, kid=kid, detail="unknown kid")
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        return Verification(Result.UNKNOWN_KEY, kid=kid, detail="kid names a key that is not P-256")
    if len(signature) != 2 * _P256_BYTES:
        return Verification(Result.BAD_SIGNATURE, kid=kid, detail="signature is not 64 bytes")
    return Unpacked(kid, key, protected, payload, signature)


def _message(text: str) -> Any:
    """The CBOR item inside a PP1 text (after its prefix): Base45, then zlib, then CBOR."""
    if len(text) > MAX_TEXT_LENGTH:
        raise _Malformed("too long")
    try:
        compressed = b45decode(text[len(PREFIX) :])
    except ValueError:
        raise _Malformed("bad base45") from None
    return _decode_cbor(_inflate(compressed), "bad cbor")


def _sign1(message: Any) -> tuple[bytes, bytes, bytes]:
    """The protected header, payload and signature of a tagged COSE_Sign1."""
    if not (
        isinstance(message, cbor2.CBORTag)
        and message.tag == _COSE_SIGN1_TAG
        and isinstance(message.value, list)
        and len(message.value) == 4
    ):
        raise _Malformed("bad COSE structure")
    protected, unprotected, payload, signature = message.value
    if not (
        isinstance(protected, bytes)
        and isinstance(unprotected, dict)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise _Malformed("bad COSE structure")
    return protected, payload, signature


def _kid(protected: bytes) -> bytes:
    """The kid of a protected header that asks for ES256 and nothing we do not understand."""
    header = _decode_cbor(protected, "bad protected header")
    if not isinstance(header, dict):
        raise _Malformed("bad protected header")
    alg = header.get(_HEADER_ALG)
    if type(alg) is not int or alg != _ES256:
        raise _Malformed("unsupported alg")
    if _HEADER_CRIT in header:
        raise _Malformed("critical header not understood")
    kid = header.get(_HEADER_KID)
    if not isinstance(kid, bytes) or not kid:
        raise _Malformed("missing kid")
    return kid


def _signature_holds(unpacked: Unpacked) -> bool:
    r = int.from_bytes(unpacked.signature[:_P256_BYTES], "big")
    s = int.from_bytes(unpacked.signature[_P256_BYTES:], "big")
    try:
        unpacked.key.verify(
            encode_dss_signature(r, s),
            _sig_structure(unpacked.protected, unpacked.payload),
            _VERIFYING_ALGORITHM,
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def _judge(unpacked: Unpacked, now: int) -> Verification:
    claims = _claims_from(_decode_cbor(unpacked.payload, "missing claims"))
    if now < claims.not_before:
        return Verification(Result.NOT_YET_VALID, claims, unpacked.kid, "before nbf")
    if now >= claims.expires:
        return Verification(Result.EXPIRED, claims, unpacked.kid, "at or after exp")
    return Verification(Result.VALID, claims, unpacked.kid)


def _signature_algorithm() -> ec.ECDSA:
    """RFC 6979 deterministic ECDSA where available: the same pass then gives the same token."""
    try:
        return ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    except (TypeError, UnsupportedAlgorithm):  # cryptography < 43, or OpenSSL < 3.2
        return ec.ECDSA(hashes.SHA256())


_SIGNING_ALGORITHM = _signature_algorithm()
_VERIFYING_ALGORITHM = ec.ECDSA(hashes.SHA256())


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes an ES256 signature covers (RFC 9052 §4.4, no external AAD)."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def _inflate(data: bytes) -> bytes:
    """zlib, one whole stream with nothing after it, at most MAX_DECOMPRESSED_SIZE bytes."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_DECOMPRESSED_SIZE + 1)
    except zlib.error:
        raise _Malformed("bad zlib") from None
    if len(out) > MAX_DECOMPRESSED_SIZE:
        raise _Malformed("too large when decompressed")
    if not inflater.eof or inflater.unused_data:
        raise _Malformed("bad zlib")
    return out


def _decode_cbor(data: bytes, detail: str) -> Any:
    """One CBOR item that uses every byte; anything else is malformed."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception:
        raise _Malformed(detail) from None
    if stream.tell() != len(data):
        raise _Malformed(detail)
    return value


def _cwt_map(claims: PassClaims) -> dict[int, Any]:
    fields: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "t": claims.kind,
        "no": claims.number,
        "cc": claims.control_code,
        "ent": claims.enterprise,
        "uscc": claims.uscc,
        "pl": claims.plate,
        "fr": claims.origin,
        "to": claims.destination,
        "cg": claims.cargo,
        "dr": [list(driver) for driver in claims.drivers] or None,
        "site": claims.site,
        "dist": claims.district,
        "staff": claims.staff,
    }
    cti = claims.number.encode() if isinstance(claims.number, str) else claims.number
    return {
        _CWT_ISS: claims.issuer,
        _CWT_IAT: claims.issued_at,
        _CWT_NBF: claims.not_before,
        _CWT_EXP: claims.expires,
        _CWT_CTI: cti,
        CLAIM_KEY: {key: value for key, value in fields.items() if value is not None},
    }


def _claims_from(cwt: Any) -> PassClaims:
    """The pass claims of a CWT map, every one present and of its type, or _Malformed."""
    if not isinstance(cwt, dict):
        raise _Malformed("missing claims")
    fields = cwt.get(CLAIM_KEY)
    if not isinstance(fields, dict):
        raise _Malformed("missing claims")
    if _required(fields, "v", int) != SCHEMA_VERSION:
        raise _Malformed("unsupported claims version")
    kind = _required(fields, "t", str)
    if kind not in _KINDS:
        raise _Malformed("unknown pass kind")
    number = _required(fields, "no", str)
    if _required(cwt, _CWT_CTI, bytes) != number.encode():
        raise _Malformed("cti does not match pass number")
    return PassClaims(
        issuer=_required(cwt, _CWT_ISS, str),
        issued_at=_time(cwt, _CWT_IAT),
        not_before=_time(cwt, _CWT_NBF),
        expires=_time(cwt, _CWT_EXP),
        number=number,
        control_code=_required(fields, "cc", str),
        kind=kind,
        enterprise=_required(fields, "ent", str),
        uscc=_required(fields, "uscc", str),
        plate=_optional(fields, "pl", str),
        origin=_optional(fields, "fr", str),
        destination=_optional(fields, "to", str),
        cargo=_optional(fields, "cg", str),
        drivers=_drivers(fields.get("dr", [])),
        site=_optional(fields, "site", str),
        district=_optional(fields, "dist", str),
        staff=_optional(fields, "staff", int),
    )


#: 9999-12-30 00:00 UTC: a later time is year 10000 in some time zone, which no date type can
#: show (a verifier printing the validity would overflow); such a token is malformed, however
#: it is signed.
MAX_TIME = 253_402_128_000


def _time(cwt: dict[Any, Any], key: int) -> int:
    value = _required(cwt, key, int)
    if not 0 <= value <= MAX_TIME:
        raise _Malformed("time out of range")
    return value


def _required(mapping: dict[Any, Any], key: object, kind: type[_T]) -> _T:
    value = _optional(mapping, key, kind)
    if value is None:
        raise _Malformed("missing claims")
    return value


def _optional(mapping: dict[Any, Any], key: object, kind: type[_T]) -> _T | None:
    value = mapping.get(key)
    if value is None and key not in mapping:
        return None
    # bool is an int in Python, never in a claim.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _Malformed("missing claims")
    return value


def _drivers(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise _Malformed("missing claims")
    drivers = []
    for driver in value:
        if not (
            isinstance(driver, list)
            and len(driver) == 2
            and all(isinstance(x, str) for x in driver)
        ):
            raise _Malformed("missing claims")
        drivers.append((driver[0], driver[1]))
    return tuple(drivers)


_B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
#: Maps each Base45 character's byte to its value, every other byte to 255.
_B45_VALUE_OF = bytes(
    _B45_ALPHABET.index(chr(b)) if chr(b) in _B45_ALPHABET else 255 for b in range(256)
)


@functools.cache
def _b45_triples() -> tuple[str, ...]:
    """The three characters of every 16-bit value: encoding becomes one lookup per pair."""
    a = _B45_ALPHABET
    return tuple(a[n % 45] + a[n // 45 % 45] + a[n // 2025] for n in range(65536))


def b45encode(data: bytes) -> str:
    """Base45 (RFC 9285): two bytes to three characters, a last odd byte to two."""
    pairs = len(data) // 2
    triples = _b45_triples()
    out = [triples[n] for n in struct.unpack(f">{pairs}H", data[: pairs * 2])]
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out.append(_B45_ALPHABET[c] + _B45_ALPHABET[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Base45 (RFC 9285), strictly: ValueError for other characters, lengths or values."""
    if len(text) % 3 == 1:
        raise ValueError("Base45 text of a length that leaves one character over")
    try:
        values = text.encode("ascii").translate(_B45_VALUE_OF)
    except (UnicodeEncodeError, AttributeError):
        raise ValueError("not a Base45 character") from None
    if 255 in values:
        raise ValueError("not a Base45 character")
    whole = len(values) - len(values) % 3
    numbers = [
        low + middle * 45 + high * 2025
        for low, middle, high in zip(
            values[0:whole:3], values[1:whole:3], values[2:whole:3], strict=True
        )
    ]
    if numbers and max(numbers) > 0xFFFF:
        raise ValueError("Base45 group above 65535")
    out = bytearray(struct.pack(f">{len(numbers)}H", *numbers))
    if whole < len(values):
        n = values[whole] + values[whole + 1] * 45
        if n > 0xFF:
            raise ValueError("Base45 pair above 255")
        out.append(n)
    return bytes(out)
