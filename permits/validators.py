"""Checks of identifiers and contact details, shared by forms, the API and the CLI. Pure Python."""

from __future__ import annotations

import gzip
import re
from datetime import date
from functools import cache
from importlib import resources

#: GB 32100-2015: the 31 characters of a unified social credit code (no I, O, Z, S, V).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")

#: Mainland mobile numbers: 11 digits starting 13-19.
_MOBILE = re.compile(r"1[3-9]\d{9}")


#: Control characters (Unicode Cc) but tab, line feed and carriage return: never in any text
#: (PostgreSQL refuses NUL; the others break headers, logs and printed passes).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Characters that show nothing yet change what a reader sees: bidi embeddings, overrides,
#: isolates and marks, zero-width spaces and joiners, the word joiner, the byte-order mark.
INVISIBLE_CHARACTERS = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
#: What ends a line; only multi-line text (comments, reasons) may hold these.
LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why text may not be stored ("control", "invisible", "line_break"), or None.

    The one rule for every text a person types: names, plates and addresses are single-line;
    comments and reasons may hold line breaks (and tabs), never other control characters.
    """
    if CONTROL_CHARACTERS.search(value):
        return "control"
    if INVISIBLE_CHARACTERS.search(value):
        return "invisible"
    if not multiline and LINE_BREAKS.search(value):
        return "line_break"
    return None


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


#: Province abbreviations that begin a mainland plate.
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTER = "A-HJ-NP-Z"  # I and O are never used
_PLATE = re.compile(
    rf"[{PLATE_PROVINCES}][{_PLATE_LETTER}]"
    rf"(?:[{_PLATE_LETTER}0-9]{{5}}"  # ordinary: 5 letters or digits
    rf"|[DF][{_PLATE_LETTER}0-9]\d{{4}}"  # new-energy small car: D/F first
    rf"|\d{{5}}[DF])"  # new-energy large vehicle: D/F last
)


def normalize_plate(value: str) -> str:
    """Upper case without spaces, dots or hyphens: "沪a·12345" → "沪A12345"."""
    return re.sub(r"[\s·•.\-]", "", value).upper()


def is_plate(value: str) -> bool:
    """A mainland plate: 7 characters, or 8 for new-energy vehicles (GA 36-2018)."""
    return bool(_PLATE.fullmatch(normalize_plate(value)))


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(
    r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dX]"
)


def normalize_id_number(value: str) -> str:
    return value.strip().replace(" ", "").upper()


def id_number_problem(value: str) -> str | None:
    """Why a resident ID number is wrong ("shape", "date", "check"), or None (GB 11643-1999)."""
    number = normalize_id_number(value)
    if not _ID_SHAPE.fullmatch(number):
        return "shape"
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "date"
    total = sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS, strict=True))
    if ID_CHECK[total % 11] != number[17]:
        return "check"
    return None


def id_number_check_character(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def mask_id_number(value: str) -> str:
    """Only the last 4 characters are ever shown (on passes, at checkpoints)."""
    return "*" * 14 + normalize_id_number(value)[-4:]
