"""Checkpoint verification: a verdict for any input (QR text, control code or plate), every call
logged as a scan, suspicious patterns flagged.

Hot path: the signature check needs only the cached public keys; the pass lookup and the scan
insert are single Core statements, so a verify costs two small queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from permits import validators
from permits.extensions import db
from permits.models import (
    Application,
    Checkpoint,
    Driver,
    Enterprise,
    Pass,
    PassStatus,
    ScanEvent,
    User,
)
from permits.passes import codes, token
from permits.passes.token import Result
from permits.services import issuance

#: Plain words for each result, shown large on the scanner and returned as `reason`.
REASONS = {
    Result.VALID: _l("Valid pass. Compare the plate and the driver."),
    Result.EXPIRED: _l("Expired: the pass is no longer valid."),
    Result.NOT_YET_VALID: _l("Not valid yet: the pass starts on a later day."),
    Result.REVOKED: _l("Revoked: this pass was withdrawn by the authority."),
    Result.BAD_SIGNATURE: _l("Forged or altered: the signature does not match."),
    Result.UNKNOWN_KEY: _l("Not issued by this authority (unknown signing key)."),
    Result.MALFORMED: _l("Unreadable code: scan again or type the control code."),
    Result.WRONG_PREFIX: _l("This is not a pass QR code."),
    Result.NOT_FOUND: _l("No such pass: check the code or the plate."),
}
SUSPENDED = _l("Enterprise suspended: %(reason)s")
FLAG_REASONS = {
    "distance": _l("Warning: the same pass was scanned too far away too recently."),
    "frequency": _l("Warning: this pass was scanned unusually often in the last hour."),
}
#: Longest input taken from a client; anything longer cannot be a pass.
MAX_INPUT = 4096


@dataclass
class Verdict:
    result: Result
    reason: str
    facts: dict[str, Any] | None = None
    flags: list[str] = field(default_factory=list)
    pass_id: int | None = None

    @property
    def is_warning(self) -> bool:
        return self.result is Result.VALID and bool(self.flags)


#: The columns a verdict needs, read as plain rows (no ORM objects on the hot path).
_PASS_COLUMNS = (
    Pass.id,
    Pass.number,
    Pass.kind,
    Pass.valid_from,
    Pass.valid_until,
    Pass.status,
    Pass.plate,
    Pass.not_before,
    Pass.expires_at,
    Pass.revoke_reason,
    Pass.application_id,
    Application.origin,
    Application.destination,
    Application.cargo_category,
    Application.site_address,
    Application.district,
    Application.staff_on_site,
    Enterprise.name.label("enterprise_name"),
    Enterprise.suspended_at,
    Enterprise.suspended_reason,
)

Loaded = tuple[Any, list[tuple[str, str]]]

#: Built once: the hot path binds values instead of constructing statements per request.
_PASS_ROW = (
    select(*_PASS_COLUMNS)
    .join(Application, Application.id == Pass.application_id)
    .join(Enterprise, Enterprise.id == Pass.enterprise_id)
    .limit(1)
)
_BY = {
    "number": _PASS_ROW.where(Pass.number == bindparam("value")),
    "control_code": _PASS_ROW.where(Pass.control_code == bindparam("value")),
    "id": _PASS_ROW.where(Pass.id == bindparam("value")),
}
_CURRENT_BY_PLATE = _PASS_ROW.where(
    Pass.plate == bindparam("plate"),
    Pass.status == PassStatus.ACTIVE,
    Pass.not_before <= bindparam("now"),
    Pass.expires_at > bindparam("now"),
)
_DRIVERS = (
    select(Driver.name, Driver.id_number)
    .where(Driver.application_id == bindparam("application_id"))
    .order_by(Driver.position)
)


def _facts(row: Any, drivers: list[tuple[str, str]]) -> dict[str, Any]:
    """Only what is needed to match vehicle and driver: never a full ID or a phone number."""
    facts: dict[str, Any] = {
        "kind": row.kind.value,
        "number": row.number,
        "valid_from": row.valid_from.isoformat(),
        "valid_until": row.valid_until.isoformat(),
        "enterprise": row.enterprise_name,
        "status": row.status.value,
    }
    if row.plate is not None:
        facts.update(
            plate=row.plate,
            origin=row.origin,
            destination=row.destination,
            cargo_category=row.cargo_category.value if row.cargo_category else None,
            drivers=[{"name": name, "id_last4": last4} for name, last4 in drivers],
        )
    else:
        facts.update(site=row.site_address, district=row.district, staff_on_site=row.staff_on_site)
    if row.status is PassStatus.REVOKED:
        facts["revoke_reason"] = row.revoke_reason
    elif row.suspended_at is not None:
        facts["revoke_reason"] = row.suspended_reason
    return facts


def _load(statement: Any, **values: Any) -> Loaded | None:
    row = db.session.execute(statement, values).first()
    if row is None:
        return None
    drivers: list[tuple[str, str]] = []
    if row.plate is not None:
        drivers = [
            (name, id_number[-4:])
            for name, id_number in db.session.execute(
                _DRIVERS, {"application_id": row.application_id}
            )
        ]
    return row, drivers


def _is_revoked(row: Any) -> bool:
    """Revoked itself, or held by a suspended enterprise."""
    return row.status is PassStatus.REVOKED or row.suspended_at is not None


def _status_result(row: Any, now: datetime) -> Result:
    if _is_revoked(row):
        return Result.REVOKED
    if now < row.not_before:
        return Result.NOT_YET_VALID
    if now >= row.expires_at:
        return Result.EXPIRED
    return Result.VALID


def _verdict(result: Result, loaded: Loaded | None) -> Verdict:
    if loaded is None:
        return Verdict(result, str(REASONS[result]))
    row, drivers = loaded
    reason = str(REASONS[result])
    if result is Result.REVOKED and row.status is not PassStatus.REVOKED:
        reason = str(SUSPENDED % {"reason": row.suspended_reason})
    return Verdict(result, reason, _facts(row, drivers), pass_id=row.id)


def check_qr(text: str, now: datetime) -> Verdict:
    """Signature first (only our published keys), then the register (revoked, unknown)."""
    checked = token.verify(
        text[:MAX_INPUT], issuance.key_store().public_keys(now), int(now.timestamp())
    )
    if checked.claims is None:
        return Verdict(checked.result, str(REASONS[checked.result]))
    loaded = _load(_BY["number"], value=checked.claims.number)
    if loaded is None:
        return Verdict(Result.NOT_FOUND, str(REASONS[Result.NOT_FOUND]))
    if _is_revoked(loaded[0]):
        return _verdict(Result.REVOKED, loaded)
    return _verdict(checked.result, loaded)


def check_code(code: str, now: datetime) -> Verdict:
    """A typed control code: lower case and O/0, I/L/1 confusions are forgiven."""
    canonical = codes.normalize_control_code(code[:64])
    if canonical is None:
        return Verdict(
            Result.MALFORMED,
            str(_l("Not a control code: it has 8 letters and digits; check each one.")),
        )
    loaded = _load(_BY["control_code"], value=canonical)
    if loaded is None:
        return Verdict(Result.NOT_FOUND, str(REASONS[Result.NOT_FOUND]))
    return _verdict(_status_result(loaded[0], now), loaded)


def check_plate(plate: str, now: datetime) -> Verdict:
    """The plate's current pass: one valid now if there is one, else the one that ends last."""
    normalized = validators.normalize_plate(plate[:32])
    if not validators.is_plate(normalized):
        return Verdict(Result.MALFORMED, str(_l("Not a mainland plate number.")))
    current = _load(_CURRENT_BY_PLATE, plate=normalized, now=now)
    if current is not None:
        return _verdict(_status_result(current[0], now), current)
    latest_id = db.session.scalar(
        select(Pass.id)
        .where(Pass.plate == normalized)
        .order_by(Pass.expires_at.desc(), Pass.id.desc())
        .limit(1)
    )
    if latest_id is None:
        return Verdict(Result.NOT_FOUND, str(REASONS[Result.NOT_FOUND]))
    loaded = _load(_BY["id"], value=latest_id)
    assert loaded is not None
    return _verdict(_status_result(loaded[0], now), loaded)


def _distance_km(a: Checkpoint, b: Checkpoint) -> float | None:
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))  # type: ignore[arg-type]
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


def anomaly(pass_id: int, checkpoint_id: int | None, now: datetime) -> str | None:
    """A pass seen at two checkpoints further apart than a vehicle could drive in between, or
    scanned more often in an hour than a real journey would be."""
    hour_ago = now - timedelta(hours=1)
    recent = db.session.execute(
        select(ScanEvent.scanned_at, ScanEvent.checkpoint_id)
        .where(ScanEvent.pass_id == pass_id, ScanEvent.scanned_at >= hour_ago)
        .order_by(ScanEvent.scanned_at.desc())
        .limit(200)
    ).all()
    if len(recent) + 1 > int(current_app.config["SCANS_PER_HOUR_LIMIT"]):
        return "frequency"
    elsewhere = [(at, other) for at, other in recent if other not in (None, checkpoint_id)]
    if checkpoint_id is None or not elsewhere:
        return None  # the common case costs no checkpoint lookups
    here = db.session.get(Checkpoint, checkpoint_id)
    speed = float(current_app.config["MAX_PLAUSIBLE_SPEED_KMH"])
    for scanned_at, other_id in elsewhere:
        other = db.session.get(Checkpoint, other_id)
        distance = _distance_km(here, other) if here and other else None
        hours = max((now - scanned_at).total_seconds() / 3600, 1 / 60)
        if distance is not None and distance / hours > speed:
            return "distance"
    return None


def verify(
    user: User,
    *,
    qr: str | None = None,
    code: str | None = None,
    plate: str | None = None,
    checkpoint: Checkpoint | None = None,
    now: datetime,
) -> Verdict:
    """The verdict for one input, logged as a scan event with any anomaly it shows."""
    if qr is not None:
        verdict, method = check_qr(qr, now), "qr"
    elif code is not None:
        verdict, method = check_code(code, now), "code"
    else:
        verdict, method = check_plate(plate or "", now), "plate"
    checkpoint_id = checkpoint.id if checkpoint is not None else user.checkpoint_id
    flag = None
    if verdict.pass_id is not None and verdict.result is Result.VALID:
        flag = anomaly(verdict.pass_id, checkpoint_id, now)
        if flag:
            verdict.flags.append(flag)
            verdict.reason = f"{verdict.reason} {FLAG_REASONS[flag]}"
    db.session.execute(
        insert(ScanEvent).values(
            pass_id=verdict.pass_id,
            checkpoint_id=checkpoint_id,
            user_id=user.id,
            scanned_at=now,
            result=verdict.result.value,
            method=method,
            is_offline=False,
            anomaly=flag,
        )
    )
    return verdict


@dataclass(frozen=True)
class OfflineScan:
    client_id: str
    number: str | None
    result: str
    scanned_at: datetime


def record_offline_scans(user: User, scans: list[OfflineScan], *, now: datetime) -> int:
    """Stores scans the scanner page decided without the network; a retried upload is stored
    once (by the client's id). Returns how many were new."""
    checkpoint = user.checkpoint
    known = {r.value for r in Result}
    stored = 0
    for scan in scans:
        if scan.result not in known or scan.scanned_at > now + timedelta(minutes=5):
            continue
        pass_id = (
            db.session.scalar(select(Pass.id).where(Pass.number == scan.number))
            if scan.number
            else None
        )
        try:
            with db.session.begin_nested():
                db.session.execute(
                    insert(ScanEvent).values(
                        pass_id=pass_id,
                        checkpoint_id=checkpoint.id if checkpoint else None,
                        user_id=user.id,
                        scanned_at=scan.scanned_at,
                        result=scan.result,
                        method="qr",
                        is_offline=True,
                        client_id=scan.client_id[:40],
                    )
                )
            stored += 1
        except IntegrityError:
            continue  # uploaded before
    return stored


def recent_scans(
    *, user: User | None = None, pass_id: int | None = None, limit: int = 50
) -> list[Any]:
    """Scans, newest first, with the pass number and checkpoint name."""
    query = (
        select(ScanEvent, Pass.number, Pass.plate, Checkpoint.name)
        .outerjoin(Pass, Pass.id == ScanEvent.pass_id)
        .outerjoin(Checkpoint, Checkpoint.id == ScanEvent.checkpoint_id)
        .order_by(ScanEvent.scanned_at.desc(), ScanEvent.id.desc())
        .limit(limit)
    )
    if user is not None:
        query = query.where(ScanEvent.user_id == user.id)
    if pass_id is not None:
        query = query.where(ScanEvent.pass_id == pass_id)
    return list(db.session.execute(query))


def anomalies(since: datetime, limit: int = 100) -> list[Any]:
    """Scans flagged as anomalies, newest first, for approvers and admins."""
    return list(
        db.session.execute(
            select(ScanEvent, Pass.number, Pass.plate, Checkpoint.name)
            .join(Pass, Pass.id == ScanEvent.pass_id)
            .outerjoin(Checkpoint, Checkpoint.id == ScanEvent.checkpoint_id)
            .where(ScanEvent.anomaly.is_not(None), ScanEvent.scanned_at >= since)
            .order_by(ScanEvent.scanned_at.desc())
            .limit(limit)
        )
    )
