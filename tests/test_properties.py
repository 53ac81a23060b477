"""Properties of the identifiers and of PP1, over values Hypothesis builds.

Valid values are made by construction (body, then the check character the standard defines), so
every example is valid by the standard, not by our code. Runs are derandomized: CI sees the same
examples every time.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from datetime import date
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from permits.passes import codes, token
from permits.passes.token import PREFIX, PassClaims, Result
from permits.validators import (
    ID_CHECK,
    PLATE_PROVINCES,
    USCC_ALPHABET,
    id_number_check_character,
    id_number_problem,
    is_plate,
    normalize_id_number,
    normalize_plate,
    normalize_uscc,
    uscc_check_character,
    uscc_problem,
)

PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=300)

DIGITS = "0123456789"


def chars(alphabet: str, n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=n, max_size=n)


def substitution(value: str, alphabet: str) -> st.SearchStrategy[str]:
    """`value` with one character replaced by a different one from `alphabet`."""
    return st.integers(0, len(value) - 1).flatmap(
        lambda i: st.sampled_from([c for c in alphabet if c != value[i]]).map(
            lambda c: value[:i] + c + value[i + 1 :]
        )
    )


# --- USCC (GB 32100-2015) ------------------------------------------------------------------


@st.composite
def usccs(draw: st.DrawFn) -> str:
    body = draw(chars(USCC_ALPHABET, 2)) + draw(chars(DIGITS, 6)) + draw(chars(USCC_ALPHABET, 9))
    return body + uscc_check_character(body)


@PROPERTY
@given(usccs())
def test_a_uscc_built_with_its_check_character_is_accepted(code: str) -> None:
    assert uscc_problem(code) is None


@PROPERTY
@given(usccs().flatmap(lambda code: st.tuples(st.just(code), substitution(code, USCC_ALPHABET))))
def test_any_single_wrong_character_in_a_uscc_is_rejected(pair: tuple[str, str]) -> None:
    _valid, changed = pair
    assert uscc_problem(changed) in {"check", "characters"}


@PROPERTY
@given(st.text(max_size=30))
def test_uscc_normalisation_is_idempotent_and_never_raises(text: str) -> None:
    once = normalize_uscc(text)
    assert normalize_uscc(once) == once
    assert uscc_problem(text) in {None, "length", "characters", "check"}


# --- resident ID number (GB 11643-1999) ----------------------------------------------------


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from("123456789")) + draw(chars(DIGITS, 5))
    born = draw(st.dates(date(1900, 1, 1), date(2029, 12, 31)))
    body = region + born.strftime("%Y%m%d") + draw(chars(DIGITS, 3))
    return body + id_number_check_character(body)


@PROPERTY
@given(id_numbers())
def test_an_id_number_built_with_its_check_digit_is_accepted(number: str) -> None:
    assert id_number_problem(number) is None
    assert id_number_problem(number.lower()) is None


@PROPERTY
@given(id_numbers().flatmap(lambda n: st.tuples(st.just(n), substitution(n, DIGITS + "X"))))
def test_any_single_wrong_character_in_an_id_number_is_rejected(pair: tuple[str, str]) -> None:
    _valid, changed = pair
    assert id_number_problem(changed) is not None


@PROPERTY
@given(st.text(max_size=30))
def test_id_number_normalisation_is_idempotent_and_never_raises(text: str) -> None:
    once = normalize_id_number(text)
    assert normalize_id_number(once) == once
    assert id_number_problem(text) in {None, "shape", "date", "check"}


def test_the_id_check_alphabet_covers_every_remainder() -> None:
    assert len(set(ID_CHECK)) == 11


# --- plates (GA 36-2018) -------------------------------------------------------------------

PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def plate_prefix() -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(PLATE_PROVINCES), st.sampled_from(PLATE_LETTERS)).map("".join)


ORDINARY = st.tuples(plate_prefix(), chars(PLATE_LETTERS + DIGITS, 5)).map("".join)
NEW_ENERGY = st.one_of(
    st.tuples(
        plate_prefix(), st.sampled_from("DF"), chars(PLATE_LETTERS + DIGITS, 1), chars(DIGITS, 4)
    ),
    st.tuples(plate_prefix(), chars(DIGITS, 5), st.sampled_from("DF")),
).map("".join)


@PROPERTY
@given(st.one_of(ORDINARY, NEW_ENERGY))
def test_a_plate_of_either_form_is_accepted_however_it_is_typed(plate: str) -> None:
    assert is_plate(plate)
    typed = f" {plate[0]}{plate[1].lower()}·{plate[2:].lower()} "
    assert normalize_plate(typed) == plate
    assert is_plate(typed)


@PROPERTY
@given(ORDINARY.flatmap(lambda p: st.tuples(st.just(p), st.integers(2, 6), st.sampled_from("IO"))))
def test_a_plate_with_i_or_o_is_rejected(case: tuple[str, int, str]) -> None:
    plate, i, letter = case
    assert not is_plate(plate[:i] + letter + plate[i + 1 :])


@PROPERTY
@given(
    ORDINARY.flatmap(lambda p: st.tuples(st.just(p), substitution(p[2:], PLATE_LETTERS + DIGITS)))
)
def test_any_other_letter_or_digit_in_an_ordinary_plate_is_still_a_plate(
    case: tuple[str, str],
) -> None:
    plate, tail = case
    assert is_plate(plate[:2] + tail)


@PROPERTY
@given(ORDINARY, st.sampled_from("ABC京IO1"))
def test_a_plate_without_its_province_or_with_a_character_too_many_is_rejected(
    plate: str, extra: str
) -> None:
    assert not is_plate(plate[1:])
    assert not is_plate(plate + extra + "1")


@PROPERTY
@given(st.text(max_size=12))
def test_plate_normalisation_is_idempotent_and_never_raises(text: str) -> None:
    once = normalize_plate(text)
    assert normalize_plate(once) == once
    assert is_plate(text) == is_plate(once)


# --- control codes (Luhn mod 32 over Crockford's alphabet) ---------------------------------

CONTROL_CODES = chars(codes.ALPHABET, 7).map(lambda body: body + codes.check_character(body))


@PROPERTY
@given(CONTROL_CODES)
def test_a_control_code_is_accepted_however_it_is_typed(code: str) -> None:
    assert codes.normalize_control_code(code) == code
    assert codes.normalize_control_code(codes.format_control_code(code)) == code
    typed = f" {code[:4].lower()} - {code[4:]} ".replace("0", "O").replace("1", "l")
    assert codes.normalize_control_code(typed) == code


@PROPERTY
@given(CONTROL_CODES.flatmap(lambda c: substitution(c, codes.ALPHABET)))
def test_any_single_wrong_character_in_a_control_code_is_rejected(changed: str) -> None:
    assert codes.normalize_control_code(changed) is None


@PROPERTY
@given(
    CONTROL_CODES.flatmap(
        lambda c: st.integers(0, 6).map(lambda i: c[:i] + c[i + 1] + c[i] + c[i + 2 :])
    )
)
def test_a_control_code_normalises_to_itself_or_nothing(text: str) -> None:
    normal = codes.normalize_control_code(text)
    assert normal is None or codes.normalize_control_code(normal) == normal


@PROPERTY
@given(st.text(max_size=20))
def test_control_code_normalisation_is_idempotent_and_never_raises(text: str) -> None:
    normal = codes.normalize_control_code(text)
    if normal is not None:
        assert codes.normalize_control_code(normal) == normal
        assert len(normal) == 8


# --- PP1 ------------------------------------------------------------------------------------

#: A fixed key, so the token and every example drawn from it are the same on every run.
KEY = ec.derive_private_key(0x5EED_1234_ABCD, ec.SECP256R1())
KID = token.kid_for(KEY.public_key())
KEYS = {KID: KEY.public_key()}
NOW = 1649986200  # inside the validity below
CLAIMS = PassClaims(
    issuer="CN-310000",
    issued_at=1649507400,
    not_before=1649520000,
    expires=1651334400,
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
TOKEN = token.sign(CLAIMS, KEY, KID)
BODY = TOKEN[len(PREFIX) :]
BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def signed_message(text: str) -> bytes | None:
    """The COSE message a text carries, or None when it carries none."""
    try:
        return zlib.decompress(token.b45decode(text.strip()[len(PREFIX) :]))
    except (ValueError, zlib.error):
        return None


ORIGINAL = signed_message(TOKEN)


def assert_not_accepted_as_another_pass(text: str) -> None:
    """A changed text is never `valid`, unless it still carries, byte for byte, the message that
    was signed: deflate lets a few bits change without changing what they inflate to, so such a
    text is the same pass spelled differently, never a different one."""
    outcome = token.verify(text, KEYS, NOW)
    if outcome.result is Result.VALID:
        assert signed_message(text) == ORIGINAL
        assert outcome.claims == CLAIMS


def test_the_unchanged_token_is_valid() -> None:
    assert token.verify(TOKEN, KEYS, NOW).result is Result.VALID


@PROPERTY
@given(substitution(BODY, BASE45))
def test_a_token_with_one_character_changed_is_never_valid(body: str) -> None:
    assert_not_accepted_as_another_pass(PREFIX + body)


def test_no_single_character_change_anywhere_in_the_token_is_valid() -> None:
    """Every one of the ~20 000 single substitutions, not a sample: they take under a second."""
    for i, original in enumerate(BODY):
        for c in BASE45.replace(original, ""):
            assert_not_accepted_as_another_pass(PREFIX + BODY[:i] + c + BODY[i + 1 :])


@PROPERTY
@given(st.integers(0, len(TOKEN) - 1))
def test_a_truncated_token_is_never_valid(length: int) -> None:
    assert token.verify(TOKEN[:length], KEYS, NOW).result is not Result.VALID


@PROPERTY
@given(st.integers(len(PREFIX), len(TOKEN)), st.text(alphabet=BASE45, min_size=1, max_size=3))
def test_a_token_with_characters_inserted_is_never_valid(at: int, inserted: str) -> None:
    assert_not_accepted_as_another_pass(TOKEN[:at] + inserted + TOKEN[at:])


@PROPERTY
@given(st.lists(st.integers(0, len(BODY) - 1), min_size=2, max_size=6, unique=True), st.data())
def test_a_token_with_several_characters_changed_is_never_valid(
    positions: list[int], data: st.DataObject
) -> None:
    body = list(BODY)
    for i in positions:
        body[i] = data.draw(st.sampled_from([c for c in BASE45 if c != BODY[i]]))
    assert_not_accepted_as_another_pass(PREFIX + "".join(body))


def resigned_with(claims: PassClaims) -> str:
    """The original protected header and signature around the payload of other claims."""
    message = cbor2.loads(ORIGINAL or b"")
    protected, unprotected, _payload, signature = message.value
    payload = cbor2.dumps(token._cwt_map(claims), canonical=True)
    forged = cbor2.CBORTag(message.tag, [protected, unprotected, payload, signature])
    return PREFIX + token.b45encode(zlib.compress(cbor2.dumps(forged, canonical=True), 9))


CHANGED_CLAIMS: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.builds(lambda n: {"number": f"310115{n:06d}"}, st.integers(0, 999_999)),
    st.builds(lambda p: {"plate": p}, ORDINARY),
    st.builds(lambda d: {"expires": CLAIMS.expires + d}, st.integers(1, 10**8)),
    st.builds(lambda d: {"not_before": CLAIMS.not_before - d}, st.integers(1, 10**8)),
    st.builds(lambda c: {"control_code": c}, CONTROL_CODES),
    st.builds(lambda k: {"drivers": (("张伟", k),)}, chars(DIGITS, 4)),
)


@PROPERTY
@given(CHANGED_CLAIMS)
def test_a_changed_claim_under_the_old_signature_is_a_bad_signature(change: dict[str, Any]) -> None:
    claims = replace(CLAIMS, **change)
    if claims == CLAIMS:
        return
    assert token.verify(resigned_with(claims), KEYS, NOW).result is Result.BAD_SIGNATURE


def test_the_old_signature_around_the_same_claims_still_verifies() -> None:
    """The builder above is sound: with nothing changed it gives a valid token."""
    assert token.verify(resigned_with(CLAIMS), KEYS, NOW).result is Result.VALID


@PROPERTY
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=BASE45).map(lambda t: PREFIX + t),
        st.binary().map(lambda b: PREFIX + token.b45encode(b)),
        st.binary().map(lambda b: PREFIX + token.b45encode(zlib.compress(b))),
    )
)
def test_verify_answers_every_text_without_raising(text: str) -> None:
    outcome = token.verify(text, KEYS, NOW)
    assert outcome.result in set(Result)
    assert outcome.result is not Result.VALID
