"""Checks of identifiers and contact details, shared by forms, the API and the CLI. Pure Python."""

from __future__ import annotations

import gzip
import re
from functools import cache
from importlib import resources

#: GB 32100-2015: the 31 characters of a unified social credit code (no I, O, Z, S, V).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")

#: Mainland mobile numbers: 11 digits starting 13-19.
_MOBILE = re.compile(r"1[3-9]\d{9}")


def normalize_uscc(value: str) -> str:
    return value.strip().replace(" ", "").upper()


def uscc_check_character(first17: str) -> str:
    """The 18th character of a USCC, computed from the first 17 (GB 32100-2015, ISO 7064 mod 31)."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(value: str) -> str | None:
    """Why a USCC is not valid ("length", "characters", "check"), or None if it is."""
    code = normalize_uscc(value)
    if len(code) != 18:
        return "length"
    if not _USCC_SHAPE.fullmatch(code):
        return "characters"
    if uscc_check_character(code[:17]) != code[17]:
        return "check"
    return None


def normalize_mobile(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def is_mobile(value: str) -> bool:
    return bool(_MOBILE.fullmatch(normalize_mobile(value)))


@cache
def _common_passwords() -> frozenset[str]:
    raw = resources.files("permits").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(raw).decode().split())


def password_problem(
    password: str, min_length: int, *, personal: tuple[str, ...] = ()
) -> str | None:
    """Why a password is not acceptable ("short", "common", "personal"), or None if it is."""
    if len(password) < min_length:
        return "short"
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(lowered)) <= 2:
        return "common"
    for item in personal:
        item = item.lower().split("@")[0]
        if len(item) >= 4 and item in lowered:
            return "personal"
    return None
