"""Identifier checks, against published examples and their one-character corruptions."""

from __future__ import annotations

import pytest

from permits.validators import (
    USCC_ALPHABET,
    is_mobile,
    normalize_mobile,
    password_problem,
    uscc_check_character,
    uscc_problem,
)

#: Codes printed on real business licences (public registers).
PUBLISHED_USCC = ["91350100M000100Y43", "91110108551385082Q"]


@pytest.mark.parametrize("code", PUBLISHED_USCC)
def test_published_codes_are_valid(code: str) -> None:
    assert uscc_problem(code) is None
    assert uscc_problem(code.lower()) is None


@pytest.mark.parametrize("code", PUBLISHED_USCC)
def test_any_single_changed_character_is_caught(code: str) -> None:
    for position in range(18):
        for replacement in USCC_ALPHABET:
            if replacement == code[position]:
                continue
            corrupted = code[:position] + replacement + code[position + 1 :]
            if position in range(2, 8) and not replacement.isdigit():
                assert uscc_problem(corrupted) == "characters"
            else:
                assert uscc_problem(corrupted) == "check", corrupted


def test_check_character_ten_and_zero_cases() -> None:
    """The mod-31 remainder 0 maps to check character '0', not to index 31."""
    for body in ("91310115MA1K3P7Q8", "91310104MA1FR2KX5", "12345678901234567"):
        check = uscc_check_character(body)
        assert check in USCC_ALPHABET
        assert uscc_problem(body + check) is None


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("", "length"),
        ("91350100M000100Y4", "length"),
        ("91350100M000100YO3", "characters"),
        ("9135010OM000100Y43", "characters"),
    ],
)
def test_malformed_codes_say_why(code: str, problem: str) -> None:
    assert uscc_problem(code) == problem


@pytest.mark.parametrize("number", ["13812345678", "+86 138 1234 5678", "0086-19912345678"])
def test_mainland_mobile_numbers(number: str) -> None:
    assert is_mobile(number)
    assert len(normalize_mobile(number)) == 11


@pytest.mark.parametrize(
    "number", ["12812345678", "1381234567", "138123456789", "021-64871234", ""]
)
def test_not_mobile_numbers(number: str) -> None:
    assert not is_mobile(number)


def test_password_policy() -> None:
    assert password_problem("short", 10) == "short"
    assert password_problem("1234567890", 10) == "common"
    assert password_problem("woaini1314", 10) == "common"
    assert password_problem("aaaaaaaaaaaa", 10) == "common"
    assert password_problem("chenjianguo-2022", 10, personal=("chenjianguo@x.cn",)) == "personal"
    assert password_problem("river-lantern-4711", 10, personal=("chen@x.cn", "陈建国")) is None
