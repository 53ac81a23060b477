"""Writes the PP1 conformance vectors: one JSON file per case, next to this script.

Every run makes fresh keys, so tokens, kids and signatures change each time: the committed JSON
files are the reference, not this script. Regenerate only when the format changes (with a
version bump), and then update the byte-level walk-through in docs/pass-format.md, which quotes
valid_work_resumption.json.

Each file: {"description", "token", "public_keys" (JWKs: kty, crv, x, y, kid), "now" (epoch
seconds), "expected" (a result code), and for valid vectors "claims" (the PassClaims fields)}.

Run from the project root:  .venv/bin/python tests/vectors/make_vectors.py
"""

from __future__ import annotations

import base64
import dataclasses
import json
import zlib
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from permits.passes import token
from permits.passes.token import PREFIX, PassClaims, Result

HERE = Path(__file__).resolve().parent

# Validity 10 to 30 April 2022 in Asia/Shanghai: nbf 2022-04-10 00:00, exp 2022-05-01 00:00.
NOT_BEFORE = 1649520000
EXPIRES = 1651334400
ISSUED_AT = 1649507400  # 2022-04-09 20:30 in Shanghai
DURING = 1649986200  # 2022-04-15 09:30 in Shanghai

VEHICLE = PassClaims(
    issuer="CN-310000",
    issued_at=ISSUED_AT,
    not_before=NOT_BEFORE,
    expires=EXPIRES,
    number="310115000042",
    control_code="7K3MQ9XJ",
    kind="VP",
    enterprise="上海浦江物流有限公司",
    uscc="91310115MA1H7X2Q33",
    plate="沪A12345",
    origin="310115",
    destination="320583",
    cargo="medical",
    drivers=(("张伟", "1234"), ("李娜", "567X")),
)
WORKSITE = PassClaims(
    issuer="CN-310000",
    issued_at=ISSUED_AT,
    not_before=NOT_BEFORE,
    expires=EXPIRES,
    number="310104000007",
    control_code="H4TW2RDJ",
    kind="WR",
    enterprise="上海徐汇精密零件有限公司",
    uscc="91310104MA1FR5XK2Y",
    site="漕溪北路88号",
    district="310104",
    staff=120,
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
        "kid": b64url(token.kid_for(key.public_key())),
    }


def wrap(message: Any) -> str:
    return PREFIX + token.b45encode(zlib.compress(cbor2.dumps(message), 9))


def unwrap(text: str) -> Any:
    return cbor2.loads(zlib.decompress(token.b45decode(text[len(PREFIX) :])))


def forge(key: ec.EllipticCurvePrivateKey, header: dict[int, Any], payload: Any) -> str:
    """A correctly signed COSE_Sign1 with any protected header and payload."""
    protected = cbor2.dumps(header)
    body = cbor2.dumps(payload)
    der = key.sign(cbor2.dumps(["Signature1", protected, b"", body]), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return wrap(cbor2.CBORTag(18, [protected, {}, body, signature]))


def main() -> None:
    current = ec.generate_private_key(ec.SECP256R1())
    retired = ec.generate_private_key(ec.SECP256R1())
    stranger = ec.generate_private_key(ec.SECP256R1())
    kid = token.kid_for(current.public_key())
    # A verifier holds every published key; the kid picks the one that signed.
    published = [jwk(retired), jwk(current)]

    vehicle = token.sign(VEHICLE, current, kid)
    worksite = token.sign(WORKSITE, current, kid)
    protected, unprotected, payload, signature = unwrap(vehicle).value
    tampered = payload.replace("沪A12345".encode(), "沪A12346".encode())
    cwt_without_pass_claims = {
        key: value for key, value in cbor2.loads(payload).items() if key != token.CLAIM_KEY
    }

    # name: (description, token, now, expected, detail token.verify gives, claims)
    cases: dict[str, tuple[str, str, int, Result, str, PassClaims | None]] = {
        "valid_vehicle_pass": (
            "A vehicle pass (VP) inside its validity period, signed by the current key.",
            vehicle,
            DURING,
            Result.VALID,
            "",
            VEHICLE,
        ),
        "valid_work_resumption": (
            "A work-resumption pass (WR) inside its validity period; quoted byte by byte in "
            "docs/pass-format.md.",
            worksite,
            DURING,
            Result.VALID,
            "",
            WORKSITE,
        ),
        "expired": (
            "The vehicle pass at its exp instant (00:00 of the day after its last day): "
            "now >= exp is expired.",
            vehicle,
            EXPIRES,
            Result.EXPIRED,
            "at or after exp",
            None,
        ),
        "not_yet_valid": (
            "The vehicle pass one second before its nbf (00:00 of its first day).",
            vehicle,
            NOT_BEFORE - 1,
            Result.NOT_YET_VALID,
            "before nbf",
            None,
        ),
        "bad_signature": (
            "The vehicle pass with one payload byte changed (plate 沪A12345 to 沪A12346) and the "
            "original signature kept.",
            wrap(cbor2.CBORTag(18, [protected, unprotected, tampered, signature])),
            DURING,
            Result.BAD_SIGNATURE,
            "signature does not verify",
            None,
        ),
        "unknown_key": (
            "A well-formed vehicle pass signed by a key that is not published; its kid matches "
            "none of public_keys.",
            token.sign(VEHICLE, stranger, token.kid_for(stranger.public_key())),
            DURING,
            Result.UNKNOWN_KEY,
            "unknown kid",
            None,
        ),
        "malformed_bad_base45": (
            "After the prefix, characters outside the Base45 alphabet (lower case).",
            PREFIX + vehicle[len(PREFIX) :].lower(),
            DURING,
            Result.MALFORMED,
            "bad base45",
            None,
        ),
        "malformed_bad_zlib": (
            "Valid Base45 of the COSE_Sign1 bytes without zlib compression.",
            PREFIX + token.b45encode(cbor2.dumps(unwrap(vehicle))),
            DURING,
            Result.MALFORMED,
            "bad zlib",
            None,
        ),
        "malformed_bad_cbor": (
            "Valid Base45 and zlib around bytes that are not CBOR (a truncated COSE_Sign1).",
            PREFIX + token.b45encode(zlib.compress(cbor2.dumps(unwrap(vehicle))[:-10], 9)),
            DURING,
            Result.MALFORMED,
            "bad cbor",
            None,
        ),
        "malformed_bad_cose_structure": (
            "The vehicle pass's four COSE_Sign1 items as an untagged array: only CBOR tag 18 "
            "is accepted.",
            wrap([protected, unprotected, payload, signature]),
            DURING,
            Result.MALFORMED,
            "bad COSE structure",
            None,
        ),
        "malformed_unsupported_alg": (
            "A protected header naming ES384 (alg -35) instead of ES256 (-7); only -7 is "
            "accepted, whatever the signature.",
            forge(current, {1: -35, 4: kid}, cbor2.loads(payload)),
            DURING,
            Result.MALFORMED,
            "unsupported alg",
            None,
        ),
        "malformed_missing_claims": (
            "Correctly signed by the current key, but the CWT has no pass claims map (-70001).",
            forge(current, {1: -7, 4: kid}, cwt_without_pass_claims),
            DURING,
            Result.MALFORMED,
            "missing claims",
            None,
        ),
        "wrong_prefix": (
            "The vehicle pass's Base45 text behind the prefix HC1: instead of PP1:.",
            "HC1:" + vehicle[len(PREFIX) :],
            DURING,
            Result.WRONG_PREFIX,
            "does not start with PP1:",
            None,
        ),
    }

    keys = {token.kid_for(key.public_key()): key.public_key() for key in (current, retired)}
    for path in HERE.glob("*.json"):
        path.unlink()
    for name, (description, text, now, expected, detail, claims) in cases.items():
        verdict = token.verify(text, keys, now)
        assert (verdict.result, verdict.detail) == (expected, detail), (name, verdict)
        vector: dict[str, Any] = {
            "description": description,
            "token": text,
            "public_keys": published,
            "now": now,
            "expected": expected.value,
        }
        if claims is not None:
            assert verdict.claims == claims
            vector["claims"] = dataclasses.asdict(claims)
        (HERE / f"{name}.json").write_text(
            json.dumps(vector, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        print(f"{name}.json: {expected.value}")


if __name__ == "__main__":
    main()
