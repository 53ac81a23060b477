"""Counters in the database: the pass numbers' serials per district and the revocation feed's
positions.

A counter row is advanced with UPDATE … RETURNING, never max()+1, so concurrent issues neither
collide nor leave gaps (a rolled-back issue rolls its serial back).
"""

from __future__ import annotations

from sqlalchemy import Integer, bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from permits.models import Counter

#: A pass number is a 6-digit district code and a 6-digit serial.
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
