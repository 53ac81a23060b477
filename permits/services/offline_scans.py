"""Scans a checkpoint's scanner decided without the network, uploaded when it returns: each is
checked for what the server can know (a result scanners give, a time its clock could show, a
pass that exists), stored once by the client's id, or refused with its fields' messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from permits.extensions import db
from permits.models import Pass, ScanEvent, User
from permits.passes.token import Result

#: How far a scanner's clock may be from the server's.
CLOCK_SKEW = timedelta(minutes=5)
#: Results that say the scanner found the pass: such a scan names a pass that exists.
ABOUT_A_PASS = frozenset({Result.VALID, Result.EXPIRED, Result.NOT_YET_VALID, Result.REVOKED})
_PASS_NUMBER = re.compile(r"[0-9]{12}")
CHECK_CLOCK = _l("check the scanner's clock")
NOT_STORED = _l("This scan was not stored; its fields say why.")


@dataclass(frozen=True)
class OfflineScan:
    client_id: str
    number: str | None
    result: str
    scanned_at: datetime


@dataclass(frozen=True)
class Refused:
    """A scan not stored: its place in the upload, its id, and why, by field."""

    index: int
    client_id: str
    problems: dict[str, str]


@dataclass
class Outcome:
    stored: int = 0
    refused: list[Refused] = field(default_factory=list)


def _issued_at(number: str | None) -> tuple[int, datetime] | None:
    """(id, issue time) of the pass with this number; none for a number no pass can have."""
    if number is None or not _PASS_NUMBER.fullmatch(number):
        return None
    row = db.session.execute(
        select(Pass.id, Pass.issued_at).where(Pass.number == number)
    ).one_or_none()
    return (row.id, row.issued_at) if row is not None else None


def problems_of(
    scan: OfflineScan, found: tuple[int, datetime] | None, user: User, *, now: datetime
) -> dict[str, str]:
    """Field → message for what cannot be true of this scan: a result no scanner gives, a time
    in the future, before the officer's account or before the pass existed, or a pass found
    offline that the server does not know."""
    problems: dict[str, Any] = {}
    if scan.result not in set(Result):
        problems["result"] = _l("Not a verification result, such as valid or revoked.")
    if scan.scanned_at > now + CLOCK_SKEW:
        problems["scanned_at"] = _l("This time is in the future: %(hint)s.", hint=CHECK_CLOCK)
    elif scan.scanned_at < user.created_at - CLOCK_SKEW:
        problems["scanned_at"] = _l(
            "This time is before your account existed: %(hint)s.", hint=CHECK_CLOCK
        )
    elif found is not None and scan.scanned_at < found[1] - CLOCK_SKEW:
        problems["scanned_at"] = _l(
            "This time is before the pass was issued: %(hint)s.", hint=CHECK_CLOCK
        )
    if scan.result in ABOUT_A_PASS and found is None:
        problems["number"] = (
            _l("No pass has this number.")
            if scan.number
            else _l("A scan with this result names its pass number.")
        )
    return {name: str(message) for name, message in problems.items()}


def record(user: User, scans: list[OfflineScan], *, now: datetime) -> Outcome:
    """Stores the plausible scans (a retried upload is stored once, by the client's id) and
    says why each other one was refused."""
    outcome = Outcome()
    for index, scan in enumerate(scans):
        found = _issued_at(scan.number)
        problems = problems_of(scan, found, user, now=now)
        if problems:
            outcome.refused.append(Refused(index, scan.client_id, problems))
            continue
        try:
            with db.session.begin_nested():
                db.session.execute(
                    insert(ScanEvent).values(
                        pass_id=found[0] if found is not None else None,
                        checkpoint_id=user.checkpoint_id,
                        user_id=user.id,
                        scanned_at=scan.scanned_at,
                        result=scan.result,
                        method="qr",
                        is_offline=True,
                        client_id=scan.client_id[:40],
                    )
                )
            outcome.stored += 1
        except IntegrityError:
            continue  # uploaded before
    return outcome
