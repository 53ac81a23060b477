"""Checkpoint verification: a verdict for any input (QR text, control code or plate), every call
logged as a scan, suspicious patterns flagged.

Hot path: the signature check needs only the cached public keys; the pass lookup and the scan
insert are single Core statements, so a verify costs two small queries.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from psycopg import OperationalError, pq
from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.engine import Connection, Engine

from permits import scan_log, validators
from permits.database import read_engine
from permits.extensions import db
from permits.i18n import select_locale
from permits.models import (
    Application,
    Checkpoint,
    Driver,
    Enterprise,
    Kind,
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
#: A work-resumption permit is matched against the site and its enterprise, not a vehicle.
VALID_WORK_RESUMPTION = _l("Valid permit. Compare the enterprise and the site address.")
SUSPENDED = _l("Enterprise suspended: %(reason)s")
FLAG_REASONS = {
    "distance": _l("Warning: the same pass was scanned too far away too recently."),
    "frequency": _l("Warning: this pass was scanned unusually often in the last hour."),
}
#: Longest input taken from a client; anything longer cannot be a pass.
MAX_INPUT = 4096


def _reason(text: LazyString) -> str:
    """One of the fixed reasons (module constants) in the caller's language, translated once
    per process and language: the verdict is the hot path."""
    # Chosen once per request (kept in its environ), and babel's Locale built only on a miss.
    memo = request.environ if has_request_context() else {}
    language = memo.get(_LANGUAGE_KEY)
    if language is None:
        language = memo[_LANGUAGE_KEY] = select_locale()
    key = (language, id(text))
    translated = _TRANSLATED.get(key)
    if translated is None:
        with force_locale(language):  # the language of the key, whatever babel holds
            translated = _TRANSLATED[key] = str(text)
    return translated


_TRANSLATED: dict[tuple[str, int], str] = {}
_LANGUAGE_KEY = "permits.verdict_language"


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


def _in_force(row: Any) -> tuple[PassStatus, str | None]:
    """The pass's status as a checkpoint must treat it: a suspended enterprise's passes count
    as revoked, with the suspension's reason, until the suspension is lifted."""
    if row.status is PassStatus.ACTIVE and row.suspended_at is not None:
        return PassStatus.REVOKED, row.suspended_reason
    return row.status, row.revoke_reason


def _why(result: Result, row: Any, kind: str) -> str:
    """The verdict's words: a suspension says so, with the administrator's reason; a valid
    permit names what to compare for its kind."""
    if result is Result.REVOKED and row.status is not PassStatus.REVOKED:
        return str(SUSPENDED % {"reason": row.suspended_reason})
    if result is Result.VALID and kind == Kind.WORK_RESUMPTION.value:
        return _reason(VALID_WORK_RESUMPTION)
    return _reason(REASONS[result])


def _facts(row: Any, drivers: list[tuple[str, str]]) -> dict[str, Any]:
    """Only what is needed to match vehicle and driver: never a full ID or a phone number."""
    status, revoke_reason = _in_force(row)
    facts: dict[str, Any] = {
        "kind": row.kind.value,
        "number": row.number,
        "valid_from": row.valid_from.isoformat(),
        "valid_until": row.valid_until.isoformat(),
        "enterprise": row.enterprise_name,
        "status": status.value,
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
    if status is PassStatus.REVOKED:
        facts["revoke_reason"] = revoke_reason
    return facts


def _connection() -> Connection:
    """The request's connection, for Core statements that need none of the ORM's bookkeeping."""
    return db.session.connection()


def _load(statement: Any, **values: Any) -> Loaded | None:
    row = _connection().execute(statement, values).first()
    if row is None:
        return None
    drivers: list[tuple[str, str]] = []
    if row.plate is not None:
        drivers = [
            (name, id_number[-4:])
            for name, id_number in _connection().execute(
                _DRIVERS, {"application_id": row.application_id}
            )
        ]
    return row, drivers


def _status_result(row: Any, now: datetime) -> Result:
    if _in_force(row)[0] is PassStatus.REVOKED:
        return Result.REVOKED
    if now < row.not_before:
        return Result.NOT_YET_VALID
    if now >= row.expires_at:
        return Result.EXPIRED
    return Result.VALID


def _verdict(result: Result, loaded: Loaded | None) -> Verdict:
    if loaded is None:
        return Verdict(result, _reason(REASONS[result]))
    row, drivers = loaded
    facts = _facts(row, drivers)
    return Verdict(result, _why(result, row, facts["kind"]), facts, pass_id=row.id)


def _claims_facts(claims: token.PassClaims, row: Any) -> dict[str, Any]:
    """The facts of a verified QR, from its signed claims: the same fields as from the register."""
    status, revoke_reason = _in_force(row)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    facts: dict[str, Any] = {
        "kind": "vehicle_pass" if claims.kind == "VP" else "work_resumption",
        "number": claims.number,
        "valid_from": datetime.fromtimestamp(claims.not_before, zone).date().isoformat(),
        "valid_until": datetime.fromtimestamp(claims.expires - 1, zone).date().isoformat(),
        "enterprise": claims.enterprise,
        "status": status.value,
    }
    if claims.kind == "VP":
        facts.update(
            plate=claims.plate,
            origin=claims.origin,
            destination=claims.destination,
            cargo_category=claims.cargo,
            drivers=[{"name": name, "id_last4": last4} for name, last4 in claims.drivers],
        )
    else:
        facts.update(site=claims.site, district=claims.district, staff_on_site=claims.staff)
    if status is PassStatus.REVOKED:
        facts["revoke_reason"] = revoke_reason
    return facts


def check_qr(text: str, now: datetime, checkpoint_id: int | None = None) -> Verdict:
    """The register (revoked, unknown) read together with the pass's recent scans in one
    statement, and the signature (only our published keys) unless the register holds this very
    text as the one issued for the pass: the signed claims carry the facts."""
    text, stamp = text[:MAX_INPUT], int(now.timestamp())
    keys = issuance.key_store().public_keys(now)
    # A text this service issued is recognised by its very bytes in the register, which is read
    # anyway: for it the signature check (a third of a verification) adds nothing. Its key must
    # still be published. Any other text is judged by its signature, exactly as before.
    read = token.verify(text, keys, stamp, check_signature=False)
    row = None
    if read.claims is not None:
        row = _read_register(read.claims.number, _window(checkpoint_id, now))
    if row is not None and row.token == text.strip():
        checked = read
    else:
        checked = _checked_signature(text, keys, now, stamp)
        if checked.claims is None:
            return Verdict(checked.result, _reason(REASONS[checked.result]))
        if read.claims is None:  # signed by a key this worker learnt of only now
            row = _read_register(checked.claims.number, _window(checkpoint_id, now))
        if row is None:
            return Verdict(Result.NOT_FOUND, _reason(REASONS[Result.NOT_FOUND]))
    claims = checked.claims
    assert claims is not None
    result = Result.REVOKED if _in_force(row)[0] is PassStatus.REVOKED else checked.result
    facts = _claims_facts(claims, row)
    verdict = Verdict(result, _why(result, row, facts["kind"]), facts, pass_id=row.id)
    if result is Result.VALID:
        _flag(verdict, _judge(row.id, row.recent, row.elsewhere, checkpoint_id, now))
    return verdict


def _checked_signature(
    text: str, keys: dict[bytes, Any], now: datetime, stamp: int
) -> token.Verification:
    checked = token.verify(text, keys, stamp)
    if checked.result is Result.UNKNOWN_KEY:  # perhaps signed by a key made a moment ago
        checked = token.verify(text, issuance.key_store().public_keys(now, recheck=True), stamp)
    return checked


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
        return Verdict(Result.NOT_FOUND, _reason(REASONS[Result.NOT_FOUND]))
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
        return Verdict(Result.NOT_FOUND, _reason(REASONS[Result.NOT_FOUND]))
    loaded = _load(_BY["id"], value=latest_id)
    assert loaded is not None
    return _verdict(_status_result(loaded[0], now), loaded)


def _distance_km(
    a: tuple[float | None, float | None], b: tuple[float | None, float | None]
) -> float | None:
    """Great-circle distance between two (latitude, longitude) points, if both are known."""
    if None in (*a, *b):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))  # type: ignore[arg-type]
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


def _latest_scans(pass_id: Any) -> Any:
    """The pass's latest scans of the last hour, at most as many as the hourly limit: however
    hot a pass, the anomaly check reads a bounded number of index entries."""
    return (
        select(ScanEvent.checkpoint_id)
        .where(ScanEvent.pass_id == pass_id, ScanEvent.scanned_at >= bindparam("since"))
        .order_by(ScanEvent.scanned_at.desc())
        .limit(bindparam("cap"))
        .subquery()
    )


def _scan_counts(latest: Any) -> Any:
    """One row: how many of those scans, and how many at another checkpoint than here."""
    elsewhere = and_(
        latest.c.checkpoint_id.is_not(None), latest.c.checkpoint_id != bindparam("here")
    )
    return select(
        func.count().label("recent"), func.count(case((elsewhere, 1))).label("elsewhere")
    ).select_from(latest)


_RECENT_SCANS = _scan_counts(_latest_scans(bindparam("pass_id")))


class RegisterRow(NamedTuple):
    id: int
    status: PassStatus
    revoke_reason: str | None
    suspended_at: Any
    suspended_reason: str | None
    recent: int
    elsewhere: int
    token: str


#: The hot path's one read, for a well-formed QR of one of our keys (its signed claims carry the
#: facts): the pass's status and issued text, its enterprise's suspension, and its latest scans
#: of the hour (bounded by the hourly limit) counted in the database. It runs on a pooled DB-API
#: connection in autocommit: through the ORM session the same read costs several times as much
#: (see docs/performance.md). Portable SQL with `?` placeholders.
_QR_REGISTER_SQL = """
SELECT p.id, p.status, p.revoke_reason, e.suspended_at, e.suspended_reason,
       c.recent, c.elsewhere, p.token
FROM passes p
JOIN enterprises e ON e.id = p.enterprise_id
CROSS JOIN (
    SELECT count(*) AS recent,
           count(CASE WHEN l.checkpoint_id IS NOT NULL AND l.checkpoint_id <> ? THEN 1 END)
               AS elsewhere
    FROM (
        SELECT s.checkpoint_id FROM scan_events s
        WHERE s.pass_id = (SELECT id FROM passes WHERE number = ?) AND s.scanned_at >= ?
        ORDER BY s.scanned_at DESC
        LIMIT ?
    ) l
) c
WHERE p.number = ?
"""


def _numbered(sql: str) -> str:
    """The statement with PostgreSQL's own placeholders ($1, $2, ...) for `?`."""
    parts = sql.split("?")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]


#: The name the statement is prepared under on each held PostgreSQL connection.
_QR_REGISTER_PREPARED = b"permits_qr_register"
_QR_REGISTER_SQL_PG = _numbered(_QR_REGISTER_SQL).encode()


def _read_register_pg(raw: Any, values: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The register read on PostgreSQL through libpq itself (psycopg.pq): a prepared statement
    with text parameters and text results. psycopg's cursor adapts the five parameters and
    loads the eight columns in Python: 66 µs of the worker's CPU per read against 30 this way
    (docs/performance.md), on the one read every verification makes. The connection is held
    by this thread alone, in autocommit (see _HeldConnections)."""
    pgconn = raw.driver_connection.pgconn
    if not raw.info.get("permits.qr_register_prepared"):
        prepared = pgconn.prepare(_QR_REGISTER_PREPARED, _QR_REGISTER_SQL_PG)
        if prepared.status != pq.ExecStatus.COMMAND_OK:
            raise OperationalError(_pq_error(prepared))
        raw.info["permits.qr_register_prepared"] = True
    here, number, since, cap, _ = values
    code = number.encode()
    parameters = [str(here).encode(), code, since.isoformat().encode(), str(cap).encode(), code]
    result = pgconn.exec_prepared(_QR_REGISTER_PREPARED, parameters)
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise OperationalError(_pq_error(result))
    if result.ntuples == 0:
        return None
    text: list[Any] = [result.get_value(0, column) for column in range(8)]
    text = [None if cell is None else cell.decode() for cell in text]
    return (int(text[0]), text[1], text[2], text[3], text[4], int(text[5]), int(text[6]), text[7])


def _pq_error(result: Any) -> str:
    message: bytes = result.error_message
    return message.decode(errors="replace").strip() or "the register read failed"


class _HeldConnections:
    """One DB-API connection per thread for the hot read, held rather than checked out of the
    pool per call (which costs a ping round trip), in autocommit: each read is a statement of
    its own, so the connection never sits in an open transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._by_thread: dict[int, Any] = {}
        self._lock = threading.Lock()

    def get(self, engine: Engine) -> Any:
        raw = self._by_thread.get(threading.get_ident())
        if raw is None:
            raw = engine.raw_connection()
            driver: Any = raw.driver_connection
            if getattr(driver, "autocommit", None) is False:
                driver.autocommit = True
            with self._lock:
                self._by_thread[threading.get_ident()] = raw
        return raw

    def discard(self) -> None:
        """After an error: the next read of this thread opens a new connection."""
        with self._lock:
            raw = self._by_thread.pop(threading.get_ident(), None)
        if raw is not None:
            raw.invalidate()

    def close_all(self) -> None:
        with self._lock:
            held, self._by_thread = list(self._by_thread.values()), {}
        for raw in held:
            raw.invalidate()


def held_connections() -> _HeldConnections:
    held: _HeldConnections | None = current_app.extensions.get("permits.verify_connections")
    if held is None:
        held = current_app.extensions.setdefault(
            "permits.verify_connections", _HeldConnections(read_engine())
        )
    return held


def _read_register(number: str, window: dict[str, Any]) -> RegisterRow | None:
    held = held_connections()
    engine = held.engine  # the replica when there is one: a revocation shows after its lag
    since = window["since"].astimezone(UTC)
    postgres = engine.dialect.name == "postgresql"
    # As SQLAlchemy stores DateTime on SQLite, so that the text comparison is by time.
    since_value: Any = since if postgres else since.strftime("%Y-%m-%d %H:%M:%S.%f")
    values = (window["here"], number, since_value, window["cap"], number)
    for attempt in (1, 2):
        try:
            raw = held.get(engine)
            if postgres:
                row = _read_register_pg(raw, values)
            else:
                cursor = raw.cursor()
                cursor.execute(_QR_REGISTER_SQL, values)
                row = cursor.fetchone()
                cursor.close()
            break
        except engine.dialect.loaded_dbapi.Error:
            held.discard()  # a server restart or a dropped connection: one retry, fresh
            if attempt == 2:
                raise
    if row is None:
        return None
    return RegisterRow(row[0], PassStatus(row[1]), *row[2:])


#: Where else the pass was seen in the last hour, latest first, with coordinates.
_SEEN_ELSEWHERE = (
    select(ScanEvent.scanned_at, Checkpoint.latitude, Checkpoint.longitude)
    .join(Checkpoint, Checkpoint.id == ScanEvent.checkpoint_id)
    .where(
        ScanEvent.pass_id == bindparam("pass_id"),
        ScanEvent.scanned_at >= bindparam("since"),
        ScanEvent.checkpoint_id != bindparam("here"),
    )
    .order_by(ScanEvent.scanned_at.desc())
    .limit(bindparam("cap"))
)


def _window(checkpoint_id: int | None, now: datetime) -> dict[str, Any]:
    return {
        "since": now - timedelta(hours=1),
        "cap": int(current_app.config["SCANS_PER_HOUR_LIMIT"]),
        "here": -1 if checkpoint_id is None else checkpoint_id,
    }


def _judge(
    pass_id: int, recent: int, elsewhere: int, checkpoint_id: int | None, now: datetime
) -> str | None:
    """A pass seen at two checkpoints further apart than a vehicle could drive in between, or
    scanned more often in an hour than a real journey would be."""
    window = _window(checkpoint_id, now)
    if recent + 1 > window["cap"]:
        return "frequency"
    if checkpoint_id is None or not elsewhere:
        return None  # the common case costs no checkpoint lookups
    here = db.session.get(Checkpoint, checkpoint_id)
    if here is None or here.latitude is None or here.longitude is None:
        return None
    speed = float(current_app.config["MAX_PLAUSIBLE_SPEED_KMH"])
    seen = _connection().execute(_SEEN_ELSEWHERE, {"pass_id": pass_id, **window})
    for scanned_at, latitude, longitude in seen:
        distance = _distance_km((here.latitude, here.longitude), (latitude, longitude))
        hours = max((now - scanned_at).total_seconds() / 3600, 1 / 60)
        if distance is not None and distance / hours > speed:
            return "distance"
    return None


def anomaly(pass_id: int, checkpoint_id: int | None, now: datetime) -> str | None:
    """The anomaly, if any, of scanning this pass here now (see _judge)."""
    values = {"pass_id": pass_id, **_window(checkpoint_id, now)}
    recent, elsewhere = _connection().execute(_RECENT_SCANS, values).one()
    return _judge(pass_id, recent, elsewhere, checkpoint_id, now)


def _flag(verdict: Verdict, flag: str | None) -> None:
    if flag:
        verdict.flags.append(flag)
        verdict.reason = f"{verdict.reason} {_reason(FLAG_REASONS[flag])}"


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
    checkpoint_id = checkpoint.id if checkpoint is not None else user.checkpoint_id
    if qr is not None:
        verdict, method = check_qr(qr, now, checkpoint_id), "qr"
    else:
        if code is not None:
            verdict, method = check_code(code, now), "code"
        else:
            verdict, method = check_plate(plate or "", now), "plate"
        if verdict.pass_id is not None and verdict.result is Result.VALID:
            _flag(verdict, anomaly(verdict.pass_id, checkpoint_id, now))
    scan_log.append(
        {
            "pass_id": verdict.pass_id,
            "checkpoint_id": checkpoint_id,
            "user_id": user.id,
            "scanned_at": now,
            "result": verdict.result.value,
            "method": method,
            "is_offline": False,
            "anomaly": verdict.flags[0] if verdict.flags else None,
            "client_id": None,
        }
    )
    return verdict


def recent_scans(
    *, user: User | None = None, pass_id: int | None = None, limit: int = 50
) -> list[Any]:
    """Scans, newest first, with the pass number and checkpoint name."""
    scan_log.flush()
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
    scan_log.flush()
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
