"""Control codes (public contract: DESIGN.md, docs/pass-format.md). Pure Python: the pass
numbers and the revocation feed's positions come from counters in the database
(`permits.services.counters`)."""

from __future__ import annotations

import secrets

#: Crockford's Base32 alphabet: no I, L, O, U.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CONFUSIONS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def check_character(data: str) -> str:
    """Luhn mod 32 over the Crockford alphabet: catches every single wrong character and most
    swaps of neighbours."""
    factor, total = 2, 0
    for char in reversed(data):
        addend = factor * ALPHABET.index(char)
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def new_control_code() -> str:
    """7 random characters (35 bits) and the check character."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(7))
    return body + check_character(body)


def normalize_control_code(value: str) -> str | None:
    """The canonical code for what a person typed ("abcd-efgh", O for 0, I or L for 1), or None
    when it cannot be a control code (wrong length, bad character or failed check)."""
    code = "".join(value.split()).replace("-", "").upper().translate(_CONFUSIONS)
    if len(code) != 8 or any(c not in ALPHABET for c in code):
        return None
    if check_character(code[:7]) != code[7]:
        return None
    return code


def format_control_code(code: str) -> str:
    """Grouped for reading aloud and typing: ABCD-EFGH."""
    return f"{code[:4]}-{code[4:]}"
