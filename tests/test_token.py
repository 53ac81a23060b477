"""PP1 tokens: what a pass signs into, and every way a scanned text is told apart from a valid one."""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import sys
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from permits.passes import token
from permits.passes.token import PREFIX, PassClaims, Result, Verification

KEY = ec.generate_private_key(ec.SECP256R1())
KID = token.kid_for(KEY.public_key())
KEYS = {KID: KEY.public_key()}
STRANGER = ec.generate_private_key(ec.SECP256R1())

# 2022-04-10 00:00 to 2022-05-01 00:00 in Asia/Shanghai: valid 10 to 30 April.
NOT_BEFORE = 1649520000
EXPIRES = 1651334400
DURING = 1649986200

VEHICLE = PassClaims(
    issuer="CN-310000",
    issued_at=1649507400,
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
    issued_at=1649507400,
    not_before=NOT_BEFORE,
    expires=EXPIRES,
    number="310104000007",
    control_code="H4TW2RDJ",
    kind="WR",
    enterprise="Shanghai Xuhui Precision Parts Co., Ltd.",
    uscc="91310104MA1FR5XK2Y",
    site="漕溪北路 88 号",
    district="310104",
    staff=120,
)
VALID_TOKEN = token.sign(VEHICLE, KEY, KID)

# Builders that make tokens the signing code never would, straight from cbor2 and cryptography.


def wrap(message: Any) -> str:
    """PP1 text around any CBOR value."""
    return PREFIX + token.b45encode(zlib.compress(cbor2.dumps(message), 9))


def unwrap(text: str) -> Any:
    """The CBOR value inside a PP1 text."""
    return cbor2.loads(zlib.decompress(token.b45decode(text.strip()[len(PREFIX) :])))


def raw_signature(key: ec.EllipticCurvePrivateKey, protected: bytes, payload: bytes) -> bytes:
    der = key.sign(cbor2.dumps(["Signature1", protected, b"", payload]), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def forge(
    payload: Any,
    header: dict[int, Any] | None = None,
    key: ec.EllipticCurvePrivateKey = KEY,
) -> str:
    """A correctly signed token with any protected header and any payload (bytes go in as is)."""
    protected = cbor2.dumps({1: -7, 4: KID} if header is None else header)
    body = payload if isinstance(payload, bytes) else cbor2.dumps(payload)
    return wrap(cbor2.CBORTag(18, [protected, {}, body, raw_signature(key, protected, body)]))


DROP = object()


def cwt(cwt_changes: dict[int, Any] | None = None, **pass_changes: Any) -> dict[Any, Any]:
    """The CWT map of VALID_TOKEN with some pass claims and CWT claims changed (DROP removes)."""
    claims: dict[Any, Any] = cbor2.loads(unwrap(VALID_TOKEN).value[2])
    for target, changes in ((claims[token.CLAIM_KEY], pass_changes), (claims, cwt_changes or {})):
        for key, value in changes.items():
            if value is DROP:
                del target[key]
            else:
                target[key] = value
    return claims


def check(text: Any, now: int = DURING) -> Verification:
    return token.verify(text, KEYS, now)


# Round trips and the shape of a token


@pytest.mark.parametrize("claims", [VEHICLE, WORKSITE], ids=["vehicle", "work_resumption"])
def test_a_signed_pass_verifies_with_its_claims_and_kid(claims: PassClaims) -> None:
    assert check(token.sign(claims, KEY, KID)) == Verification(Result.VALID, claims, KID)


def test_a_token_is_the_prefix_and_base45_of_zlib_at_maximum_compression() -> None:
    assert VALID_TOKEN.startswith("PP1:NCF")  # Base45 of the zlib header 78 DA
    compressed = token.b45decode(VALID_TOKEN[4:])
    assert compressed[:2] == b"\x78\xda"
    message = zlib.decompress(compressed)
    assert zlib.compress(message, 9) == compressed


def test_a_token_is_a_tagged_cose_sign1_with_es256_and_the_kid_protected() -> None:
    message = unwrap(VALID_TOKEN)
    assert isinstance(message, cbor2.CBORTag) and message.tag == 18
    protected, unprotected, payload, signature = message.value
    assert cbor2.loads(protected) == {1: -7, 4: KID}
    assert unprotected == {}
    assert len(signature) == 64
    assert cbor2.loads(payload) == {
        1: "CN-310000",
        6: 1649507400,
        5: NOT_BEFORE,
        4: EXPIRES,
        7: b"310115000042",
        -70001: {
            "v": 1,
            "t": "VP",
            "no": "310115000042",
            "cc": "7K3MQ9XJ",
            "ent": "上海浦江物流有限公司",
            "uscc": "91310115MA1H7X2Q33",
            "pl": "沪A12345",
            "fr": "310115",
            "to": "320583",
            "cg": "medical",
            "dr": [["张伟", "1234"], ["李娜", "567X"]],
        },
    }


def test_a_work_resumption_token_carries_site_district_and_staff_and_nothing_unset() -> None:
    fields = cbor2.loads(unwrap(token.sign(WORKSITE, KEY, KID)).value[2])[-70001]
    assert set(fields) == {"v", "t", "no", "cc", "ent", "uscc", "site", "dist", "staff"}
    assert (fields["site"], fields["dist"], fields["staff"]) == ("漕溪北路 88 号", "310104", 120)


def test_the_same_pass_signs_to_the_same_token() -> None:
    try:
        ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    except Exception:
        pytest.skip("this cryptography or OpenSSL has no deterministic ECDSA")
    assert token.sign(VEHICLE, KEY, KID) == VALID_TOKEN


def test_the_kid_is_the_first_8_bytes_of_sha256_of_the_public_key_info() -> None:
    spki = KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert hashlib.sha256(spki).digest()[:8] == KID
    assert len(KID) == 8


def test_whitespace_around_the_text_is_ignored() -> None:
    assert check(f"  {VALID_TOKEN}\r\n").result is Result.VALID


def test_signing_refuses_claims_that_would_not_verify() -> None:
    with pytest.raises(ValueError, match="unknown pass kind"):
        token.sign(replace(VEHICLE, kind="XX"), KEY, KID)
    with pytest.raises(ValueError, match="P-256"):
        token.sign(VEHICLE, ec.generate_private_key(ec.SECP384R1()), KID)


# Each failure, in the order verification meets it


@pytest.mark.parametrize(
    "text",
    ["", "HC1:" + VALID_TOKEN[4:], "pp1:" + VALID_TOKEN[4:], "PP2:" + VALID_TOKEN[4:], "310115"],
)
def test_text_without_the_pp1_prefix_is_wrong_prefix(text: str) -> None:
    assert check(text).result is Result.WRONG_PREFIX


@pytest.mark.parametrize(
    "body",
    ["NCF0", "ncfoxn", "NC", ":::", "NC!", "N\u00a0F"],
    ids=["a lone character", "lower case", "pair above 255", "group above 65535", "!", "nbsp"],
)
def test_text_that_is_not_base45_is_malformed(body: str) -> None:
    assert check(PREFIX + body) == Verification(Result.MALFORMED, detail="bad base45")


@pytest.mark.parametrize(
    "compressed",
    [
        cbor2.dumps(unwrap(VALID_TOKEN)),
        zlib.compress(cbor2.dumps(unwrap(VALID_TOKEN)), 9)[:-1],
        zlib.compress(cbor2.dumps(unwrap(VALID_TOKEN)), 9) + b"\x00",
    ],
    ids=["not compressed", "truncated", "trailing bytes"],
)
def test_bytes_that_are_not_one_whole_zlib_stream_are_malformed(compressed: bytes) -> None:
    text = PREFIX + token.b45encode(compressed)
    assert check(text) == Verification(Result.MALFORMED, detail="bad zlib")


def test_a_zip_bomb_is_refused() -> None:
    text = PREFIX + token.b45encode(zlib.compress(b"\xa0" * 1_000_000, 9))
    assert len(text) < token.MAX_TEXT_LENGTH
    assert check(text) == Verification(Result.MALFORMED, detail="too large when decompressed")


def test_overlong_text_is_malformed() -> None:
    assert check(PREFIX + "0" * 9000) == Verification(Result.MALFORMED, detail="too long")


@pytest.mark.parametrize(
    "message",
    [
        b"\x1c",
        b"\x84\x01",
        b"\x62\xff\xfe",
        zlib.decompress(token.b45decode(VALID_TOKEN[4:])) + b"\x00",
    ],
    ids=["reserved value", "truncated array", "text not UTF-8", "trailing bytes"],
)
def test_bytes_that_are_not_one_cbor_item_are_malformed(message: bytes) -> None:
    text = PREFIX + token.b45encode(zlib.compress(message, 9))
    assert check(text) == Verification(Result.MALFORMED, detail="bad cbor")


def _parts() -> list[Any]:
    return list(unwrap(VALID_TOKEN).value)


@pytest.mark.parametrize(
    "message",
    [
        _parts(),
        cbor2.CBORTag(98, _parts()),
        cbor2.CBORTag(18, _parts()[:3]),
        cbor2.CBORTag(18, [*_parts(), b""]),
        cbor2.CBORTag(18, [cbor2.loads(_parts()[0]), *_parts()[1:]]),
        cbor2.CBORTag(18, [_parts()[0], [], *_parts()[2:]]),
        cbor2.CBORTag(18, [*_parts()[:2], cbor2.loads(_parts()[2]), _parts()[3]]),
        cbor2.CBORTag(18, {"sign1": _parts()}),
        18,
    ],
    ids=[
        "untagged",
        "COSE_Sign tag",
        "three items",
        "five items",
        "protected header not a bstr",
        "unprotected header not a map",
        "payload not a bstr",
        "a map",
        "an integer",
    ],
)
def test_cbor_that_is_not_a_tagged_cose_sign1_is_malformed(message: Any) -> None:
    assert check(wrap(message)) == Verification(Result.MALFORMED, detail="bad COSE structure")


@pytest.mark.parametrize(
    "header",
    [{1: -35, 4: KID}, {1: -8, 4: KID}, {1: "ES256", 4: KID}, {4: KID}, {1: -7.0, 4: KID}],
    ids=["ES384", "EdDSA", "alg as text", "no alg", "alg as float"],
)
def test_a_header_naming_another_algorithm_is_malformed(header: dict[int, Any]) -> None:
    assert check(forge(cwt(), header)) == Verification(Result.MALFORMED, detail="unsupported alg")


def test_a_protected_header_that_is_not_a_map_is_malformed() -> None:
    protected = cbor2.dumps([1, -7])
    text = wrap(cbor2.CBORTag(18, [protected, {}, cbor2.dumps(cwt()), b"\x00" * 64]))
    assert check(text) == Verification(Result.MALFORMED, detail="bad protected header")


def test_a_header_without_a_kid_is_malformed() -> None:
    assert check(forge(cwt(), {1: -7})).detail == "missing kid"
    assert check(forge(cwt(), {1: -7, 4: KID.hex()})).detail == "missing kid"


def test_a_critical_header_is_refused_as_not_understood() -> None:
    verdict = check(forge(cwt(), {1: -7, 2: [-70002], 4: KID, -70002: 1}))
    assert verdict == Verification(Result.MALFORMED, detail="critical header not understood")


def test_a_kid_that_names_none_of_our_keys_is_unknown_key() -> None:
    kid = token.kid_for(STRANGER.public_key())
    verdict = check(token.sign(VEHICLE, STRANGER, kid))
    assert verdict == Verification(Result.UNKNOWN_KEY, kid=kid, detail="unknown kid")


def test_a_key_carried_in_the_token_is_never_used() -> None:
    stranger_kid = token.kid_for(STRANGER.public_key())
    cose_key = {1: 2, -1: 1, -2: STRANGER.public_key().public_numbers().x.to_bytes(32, "big")}
    protected = cbor2.dumps({1: -7, 4: stranger_kid})
    payload = cbor2.dumps(cwt())
    signature = raw_signature(STRANGER, protected, payload)
    text = wrap(cbor2.CBORTag(18, [protected, {-1: cose_key}, payload, signature]))
    assert check(text).result is Result.UNKNOWN_KEY


def test_a_kid_for_a_key_that_is_not_p256_is_unknown_key() -> None:
    keys = {KID: ec.generate_private_key(ec.SECP384R1()).public_key()}
    assert token.verify(VALID_TOKEN, keys, DURING).result is Result.UNKNOWN_KEY


def test_a_tampered_payload_is_a_bad_signature() -> None:
    protected, unprotected, payload, signature = _parts()
    tampered = payload.replace("沪A12345".encode(), "沪A12346".encode())
    assert tampered != payload
    text = wrap(cbor2.CBORTag(18, [protected, unprotected, tampered, signature]))
    assert check(text) == Verification(
        Result.BAD_SIGNATURE, kid=KID, detail="signature does not verify"
    )


def test_verify_always_checks_the_signature_and_has_no_switch_to_skip_it() -> None:
    """The steps before and after the signature check (`unpack`, `validity`) read a forged
    text's claims; only `verify` is a verdict, and it takes no option to skip the check."""
    assert list(inspect.signature(token.verify).parameters) == ["text", "keys", "now"]
    forged = forge(cwt(), key=STRANGER)
    unpacked = token.unpack(forged, KEYS)
    assert isinstance(unpacked, token.Unpacked)
    assert token.validity(unpacked, DURING) == Verification(Result.VALID, VEHICLE, KID)
    assert check(forged).result is Result.BAD_SIGNATURE


def test_unpack_answers_as_verify_does_for_a_text_it_cannot_take_apart() -> None:
    assert token.unpack("HC1:xyz", KEYS) == token.verify("HC1:xyz", KEYS, DURING)
    assert token.unpack(PREFIX + "!!", KEYS) == token.verify(PREFIX + "!!", KEYS, DURING)
    assert token.unpack(VALID_TOKEN, {}) == token.verify(VALID_TOKEN, {}, DURING)


def test_another_key_signing_under_our_kid_is_a_bad_signature() -> None:
    assert check(forge(cwt(), key=STRANGER)).result is Result.BAD_SIGNATURE


@pytest.mark.parametrize(
    "signature", [b"\x00" * 64, b"\xff" * 64], ids=["zero r and s", "r and s above the order"]
)
def test_an_impossible_signature_is_a_bad_signature(signature: bytes) -> None:
    protected, unprotected, payload, _ = _parts()
    text = wrap(cbor2.CBORTag(18, [protected, unprotected, payload, signature]))
    assert check(text).result is Result.BAD_SIGNATURE


def test_a_signature_that_is_not_64_bytes_is_a_bad_signature() -> None:
    protected, unprotected, payload, signature = _parts()
    text = wrap(cbor2.CBORTag(18, [protected, unprotected, payload, signature[:63]]))
    assert check(text).detail == "signature is not 64 bytes"


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (cwt({-70001: DROP}), "missing claims"),
        (cwt({-70001: "VP"}), "missing claims"),
        (cwt(no=DROP), "missing claims"),
        (cwt({4: DROP}), "missing claims"),
        (cwt({7: DROP}), "missing claims"),
        (cwt({4: float(EXPIRES)}), "missing claims"),
        (cwt({5: True}), "missing claims"),
        (cwt(staff="12"), "missing claims"),
        (cwt(pl=None), "missing claims"),
        (cwt(dr=[["张伟"]]), "missing claims"),
        (cwt(dr=["张伟", "1234"]), "missing claims"),
        (cwt(v=2), "unsupported claims version"),
        (cwt(t="XX"), "unknown pass kind"),
        (cwt({7: b"310115000043"}), "cti does not match pass number"),
        ([1, 2, 3], "missing claims"),
        (b"\xff", "missing claims"),
    ],
    ids=[
        "no pass claims",
        "pass claims a text",
        "no pass number",
        "no exp",
        "no cti",
        "exp as float",
        "nbf as bool",
        "staff as text",
        "plate as null",
        "driver without ID digits",
        "drivers not a list of lists",
        "version 2",
        "unknown kind",
        "cti of another pass",
        "payload an array",
        "payload not CBOR",
    ],
)
def test_a_signed_token_without_well_typed_pass_claims_is_malformed(
    payload: Any, detail: str
) -> None:
    assert check(forge(payload)) == Verification(Result.MALFORMED, detail=detail)


def test_unknown_pass_claims_are_ignored_for_later_additions() -> None:
    assert check(forge(cwt(xx="later"))).result is Result.VALID


def test_a_pass_before_its_first_day_is_not_yet_valid_and_still_says_what_it_is() -> None:
    verdict = check(VALID_TOKEN, now=NOT_BEFORE - 1)
    assert verdict == Verification(Result.NOT_YET_VALID, VEHICLE, KID, "before nbf")
    assert check(VALID_TOKEN, now=NOT_BEFORE).result is Result.VALID


def test_a_pass_from_the_first_second_after_its_last_day_is_expired() -> None:
    assert check(VALID_TOKEN, now=EXPIRES - 1).result is Result.VALID
    verdict = check(VALID_TOKEN, now=EXPIRES)
    assert verdict == Verification(Result.EXPIRED, VEHICLE, KID, "at or after exp")


@pytest.mark.parametrize("text", [None, 42, VALID_TOKEN.encode(), ["PP1:"]])
def test_input_that_is_not_text_gets_an_answer_not_an_exception(text: Any) -> None:
    assert check(text).result is Result.MALFORMED


def test_a_broken_key_map_gets_an_answer_not_an_exception() -> None:
    verdict = token.verify(VALID_TOKEN, {KID: "not a key"}, DURING)  # type: ignore[dict-item]
    assert verdict.result is Result.UNKNOWN_KEY


def test_revocation_and_lookups_are_left_to_the_caller() -> None:
    # verify() never answers revoked or not_found: it holds no revocation list and no database.
    assert {Result.REVOKED, Result.NOT_FOUND} <= set(Result)
    assert [r.value for r in Result] == [
        "valid",
        "expired",
        "not_yet_valid",
        "revoked",
        "bad_signature",
        "unknown_key",
        "malformed",
        "wrong_prefix",
        "not_found",
    ]


# Base45 (RFC 9285)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"AB", "BB8"),
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),
    ],
)
def test_base45_matches_the_rfc_9285_examples(data: bytes, text: str) -> None:
    assert token.b45encode(data) == text
    assert token.b45decode(text) == data


@pytest.mark.parametrize("text", ["A", "ABCD", "GGW", ":::", "ab", "A\u00c0", "€€"])
def test_base45_refuses_what_no_bytes_encode_to(text: str) -> None:
    with pytest.raises(ValueError):
        token.b45decode(text)


@settings(database=None, deadline=None)
@given(st.binary(max_size=300))
def test_base45_round_trips_any_bytes(data: bytes) -> None:
    assert token.b45decode(token.b45encode(data)) == data


# Random damage


def _signed_message(text: str) -> bytes | None:
    """The COSE bytes a text carries, read as strictly as verify() reads them, or None."""
    text = text.strip()
    if not text.startswith(PREFIX):
        return None
    try:
        inflater = zlib.decompressobj()
        message = inflater.decompress(token.b45decode(text[len(PREFIX) :]))
    except (ValueError, zlib.error):
        return None
    return message if inflater.eof and not inflater.unused_data else None


ORIGINAL_MESSAGE = _signed_message(VALID_TOKEN)
B45_BYTES = st.sampled_from(sorted(set(VALID_TOKEN.encode())))
EDITS = st.lists(
    st.tuples(
        st.sampled_from(["replace", "insert", "delete", "truncate"]),
        st.integers(min_value=0, max_value=len(VALID_TOKEN)),
        st.one_of(B45_BYTES, st.integers(min_value=0, max_value=255)),
    ),
    min_size=1,
    max_size=4,
)


def _edit(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    buffer = bytearray(data)
    for operation, position, byte in edits:
        at = min(position, max(len(buffer) - 1, 0))
        if operation == "replace" and buffer:
            buffer[at] = byte
        elif operation == "insert":
            buffer.insert(position if position <= len(buffer) else len(buffer), byte)
        elif operation == "delete" and buffer:
            del buffer[at]
        elif operation == "truncate":
            del buffer[position:]
    return bytes(buffer)


@settings(database=None, deadline=None, max_examples=400)
@given(EDITS)
def test_damaged_text_never_verifies_unless_it_still_carries_the_signed_bytes(
    edits: list[tuple[str, int, int]],
) -> None:
    text = _edit(VALID_TOKEN.encode(), edits).decode("latin-1")
    verdict = check(text)
    assert isinstance(verdict, Verification) and isinstance(verdict.result, Result)
    if verdict.result is Result.VALID:
        # Only a change that leaves the very same COSE bytes (whitespace around the text,
        # bits zlib ignores) can still verify, and then it is the same pass.
        assert _signed_message(text) == ORIGINAL_MESSAGE
        assert verdict.claims == VEHICLE


@settings(database=None, deadline=None, max_examples=400)
@given(EDITS)
def test_a_damaged_cose_message_never_verifies_as_another_pass(
    edits: list[tuple[str, int, int]],
) -> None:
    assert ORIGINAL_MESSAGE is not None
    damaged = _edit(ORIGINAL_MESSAGE, edits)
    verdict = check(PREFIX + token.b45encode(zlib.compress(damaged, 9)))
    assert isinstance(verdict, Verification) and isinstance(verdict.result, Result)
    if verdict.result is Result.VALID:
        # The unprotected header is not signed and is ignored; everything signed is unchanged.
        original, received = cbor2.loads(ORIGINAL_MESSAGE).value, cbor2.loads(damaged).value
        assert [received[0], *received[2:]] == [original[0], *original[2:]]
        assert verdict == Verification(Result.VALID, VEHICLE, KID)


# Purity


def test_the_token_module_runs_alone_without_flask_or_the_database() -> None:
    path = Path(token.__file__)
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('pp1', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['pp1'] = module\n"
        "spec.loader.exec_module(module)\n"
        "roots = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(roots & {'flask', 'werkzeug', 'sqlalchemy', 'permits'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
