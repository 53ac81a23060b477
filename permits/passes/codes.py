"""Pass numbers and control codes (public contract: DESIGN.md, docs/pass-format.md).

Numbers come from a counter row per district advanced with UPDATE … RETURNING, never max()+1,
so concurrent issues neither collide nor leave gaps (a rolled-back issue rolls its serial back).
"""

from __future__ import annotations

import secrets

from sqlalchemy import Integer, bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from permits.models import Counter

#: Crockford's Base32 alphabet: no I, L, O, U.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CONFUSIONS = str.maketrans({"O": "0", "I": "1", "L": "1"})
SERIAL_LIMIT = 999_999


class SerialsExhausted(Exception):
    """A district has issued a million passes: its 6-digit serials are used up."""


#: Built once: every pass issued and every revocation runs it.
_ADVANCE = (
    update(Counter)
    .where(Counter.name == bindparam("counter"))
    .values(value=Counter.value + bindparam("by", type_=Integer))
    .returning(Counter.value)
)


def next_value(session: Session, name: str, by: int = 1) -> int:
    """Advances the named counter by `by` (one) and returns the new value, inside the transaction.

    With `by` > 1 the caller owns the values new - by + 1 … new.
    """
    params = {"counter": name, "by": by}
    value = session.execute(_ADVANCE, params).scalar()
    if value is None:
        try:
            with session.begin_nested():
                session.execute(insert(Counter).values(name=name, value=0))
        except IntegrityError:
            pass  # another transaction created it first; its row lock now orders us
        value = session.execute(_ADVANCE, params).scalar()
    assert value is not None
    return int(value)


def next_values(session: Session, name: str, count: int) -> range:
    """Advances the named counter by `count` at once: the values taken, without gaps."""
    if count <= 0:
        return range(0)
    last = next_value(session, name, by=count)
    return range(last - count + 1, last + 1)


def allocate_number(session: Session, district: str) -> tuple[str, int]:
    """The next pass number of a district: its 6-digit code and a 6-digit serial."""
    serial = next_value(session, f"pass:{district}")
    if serial > SERIAL_LIMIT:
        raise SerialsExhausted(district)
    return f"{district}{serial:06d}", serial


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
