"""The PP1 conformance vectors in tests/vectors: each gives its expected result with our verifier,
and the valid ones also verify by hand, without permits.passes.token."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from permits.passes import token
from permits.passes.token import PassClaims

VECTORS = Path(__file__).parent / "vectors"
FILES = sorted(VECTORS.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return vector


VALID_FILES = [path for path in FILES if load(path)["expected"] == "valid"]


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key(jwk: dict[str, str]) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from a JWK's x and y (the JWK holds nothing private)."""
    x = int.from_bytes(b64url_decode(jwk["x"]), "big")
    y = int.from_bytes(b64url_decode(jwk["y"]), "big")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def key_map(vector: dict[str, Any]) -> dict[bytes, ec.EllipticCurvePublicKey]:
    return {b64url_decode(jwk["kid"]): public_key(jwk) for jwk in vector["public_keys"]}


def claims_of(data: dict[str, Any]) -> PassClaims:
    drivers = tuple((name, digits) for name, digits in data["drivers"])
    return PassClaims(**{**data, "drivers": drivers})


def test_there_are_vectors_for_every_result_a_token_alone_can_give() -> None:
    results = [load(path)["expected"] for path in FILES]
    assert set(results) == {
        "valid",
        "expired",
        "not_yet_valid",
        "bad_signature",
        "unknown_key",
        "malformed",
        "wrong_prefix",
    }
    assert results.count("malformed") >= 6


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_every_vector_has_the_documented_fields_and_public_keys_only(path: Path) -> None:
    vector = load(path)
    fields = {"description", "token", "public_keys", "now", "expected"}
    assert set(vector) == (fields | {"claims"} if vector["expected"] == "valid" else fields)
    assert isinstance(vector["now"], int)
    for jwk in vector["public_keys"]:
        assert set(jwk) == {"kty", "crv", "x", "y", "kid"}
        assert (jwk["kty"], jwk["crv"]) == ("EC", "P-256")
        assert len(b64url_decode(jwk["kid"])) == 8


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_every_published_kid_is_the_sha256_prefix_of_its_key(path: Path) -> None:
    for jwk in load(path)["public_keys"]:
        spki = public_key(jwk).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert b64url_decode(jwk["kid"]) == hashlib.sha256(spki).digest()[:8]


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_every_vector_gives_its_expected_result(path: Path) -> None:
    vector = load(path)
    verdict = token.verify(vector["token"], key_map(vector), vector["now"])
    assert verdict.result == vector["expected"], verdict.detail
    if vector["expected"] == "valid":
        assert verdict.claims == claims_of(vector["claims"])


# A second verifier, written from the format description alone.

_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def base45_by_hand(text: str) -> bytes:
    out = bytearray()
    for i in range(0, len(text), 3):
        value = sum(_B45.index(char) * 45**place for place, char in enumerate(text[i : i + 3]))
        out += value.to_bytes(2 if len(text) - i >= 3 else 1, "big")
    return bytes(out)


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda path: path.stem)
def test_a_valid_vector_verifies_by_hand_without_the_token_module(path: Path) -> None:
    vector = load(path)
    assert vector["token"].startswith("PP1:")
    message = cbor2.loads(zlib.decompress(base45_by_hand(vector["token"][4:])))
    assert isinstance(message, cbor2.CBORTag) and message.tag == 18
    protected, unprotected, payload, signature = message.value
    header = cbor2.loads(protected)
    assert header[1] == -7 and unprotected == {} and len(signature) == 64
    (jwk,) = [jwk for jwk in vector["public_keys"] if b64url_decode(jwk["kid"]) == header[4]]

    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    public_key(jwk).verify(encode_dss_signature(r, s), sig_structure, ec.ECDSA(hashes.SHA256()))

    claims, expected = cbor2.loads(payload), vector["claims"]
    fields = claims[-70001]
    assert claims[1] == expected["issuer"]
    assert (claims[6], claims[5], claims[4]) == (
        expected["issued_at"],
        expected["not_before"],
        expected["expires"],
    )
    assert claims[5] <= vector["now"] < claims[4]
    assert claims[7] == expected["number"].encode() == fields["no"].encode()
    assert (fields["v"], fields["t"], fields["cc"]) == (
        1,
        expected["kind"],
        expected["control_code"],
    )
    assert (fields["ent"], fields["uscc"]) == (expected["enterprise"], expected["uscc"])
    wire = {"pl": "plate", "fr": "origin", "to": "destination", "cg": "cargo"}
    wire |= {"site": "site", "dist": "district", "staff": "staff"}
    for short, name in wire.items():
        assert fields.get(short) == expected[name]
    assert fields.get("dr", []) == expected["drivers"]
