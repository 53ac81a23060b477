"""Checkpoint verification: a verdict for any input (QR text, control code or plate), every call
logged as a scan, suspicious patterns flagged (services/anomalies.py).

Hot path: the signature check needs only the cached public keys; a QR costs one register read
(permits/fastpaths.py) and a buffered scan row (permits/scan_log.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from permits import fastpaths, scan_log, validators
from permits.extensions import db
from permits.models import (
    Application,
    Checkpoint,
    Driver,
    Enterprise,
    Kind,
    Pass,
    PassStatus,
    User,
)
from permits.passes import codes, token
from permits.passes.token import Result
from permits.services import anomalies, issuance

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


def _reason(text: LazyString, language: str) -> str:
    """One of the fixed reasons (module constants) in the reader's language, translated once
    per process and language: the verdict is the hot path."""
    key = (language, id(text))  # babel's Locale is built only on a miss
    translated = _TRANSLATED.get(key)
    if translated is None:
        with force_locale(language):  # the language of the key, whatever babel holds
            translated = _TRANSLATED[key] = str(text)
    return translated


#: Bounded by the module's constants times the configured languages.
_TRANSLATED: dict[tuple[str, int], str] = {}


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


def _why(result: Result, row: Any, kind: str, language: str) -> str:
    """The verdict's words: a suspension says so, with the administrator's reason; a valid
    permit names what to compare for its kind."""
    if result is Result.REVOKED and row.status is not PassStatus.REVOKED:
        return str(SUSPENDED % {"reason": row.suspended_reason})
    if result is Result.VALID and kind == Kind.WORK_RESUMPTION.value:
        return _reason(VALID_WORK_RESUMPTION, language)
    return _reason(REASONS[result], language)


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


def _verdict(result: Result, loaded: Loaded | None, language: str) -> Verdict:
    if loaded is None:
        return Verdict(result, _reason(REASONS[result], language))
    row, drivers = loaded
    facts = _facts(row, drivers)
    return Verdict(result, _why(result, row, facts["kind"], language), facts, pass_id=row.id)


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


def check_qr(
    text: str, now: datetime, checkpoint_id: int | None = None, *, language: str
) -> Verdict:
    """The register (revoked, unknown) read together with the pass's recent scans in one
    statement, and the signature (only our published keys) unless the register holds this very
    text as the one issued for the pass: the signed claims carry the facts."""
    text, stamp = text[:MAX_INPUT], int(now.timestamp())
    keys = issuance.key_store().public_keys(now)
    read = _read_unchecked(text, keys, stamp)
    row = None
    if read.claims is not None:
        row = fastpaths.read_register(read.claims.number, anomalies.window(checkpoint_id, now))
    if row is not None and row.token == text.strip():
        checked = read
    else:
        checked = _checked_signature(text, keys, now, stamp)
        if checked.claims is None:
            return Verdict(checked.result, _reason(REASONS[checked.result], language))
        if read.claims is None:  # signed by a key this worker learnt of only now
            window = anomalies.window(checkpoint_id, now)
            row = fastpaths.read_register(checked.claims.number, window)
        if row is None:
            return Verdict(Result.NOT_FOUND, _reason(REASONS[Result.NOT_FOUND], language))
    claims = checked.claims
    assert claims is not None
    result = Result.REVOKED if _in_force(row)[0] is PassStatus.REVOKED else checked.result
    facts = _claims_facts(claims, row)
    verdict = Verdict(result, _why(result, row, facts["kind"], language), facts, pass_id=row.id)
    if result is Result.VALID:
        flag = anomalies.judge(row.id, row.recent, row.elsewhere, checkpoint_id, now)
        _flag(verdict, flag, language)
    return verdict


def _read_unchecked(text: str, keys: dict[bytes, Any], stamp: int) -> token.Verification:
    """The register's shortcut: everything `token.verify` does but the ECDSA check (the kid
    must still name one of our published keys). Not a verdict: check_qr accepts it only for a
    text the register holds, byte for byte, as the one this service issued for the pass, whose
    signature can only be the one this service made; any other text is judged by
    `token.verify`. Checking the signature again costs a third of a verification
    (bench/bench_verify.py; docs/performance.md, "a QR text the register holds as the one
    issued for its pass needs no ECDSA check")."""
    unpacked = token.unpack(text, keys)
    if isinstance(unpacked, token.Verification):
        return unpacked
    return token.validity(unpacked, stamp)


def _checked_signature(
    text: str, keys: dict[bytes, Any], now: datetime, stamp: int
) -> token.Verification:
    checked = token.verify(text, keys, stamp)
    if checked.result is Result.UNKNOWN_KEY:  # perhaps signed by a key made a moment ago
        checked = token.verify(text, issuance.key_store().public_keys(now, recheck=True), stamp)
    return checked


def check_code(code: str, now: datetime, *, language: str) -> Verdict:
    """A typed control code: lower case and O/0, I/L/1 confusions are forgiven."""
    canonical = codes.normalize_control_code(code[:64])
    if canonical is None:
        return Verdict(
            Result.MALFORMED,
            str(_l("Not a control code: it has 8 letters and digits; check each one.")),
        )
    loaded = _load(_BY["control_code"], value=canonical)
    if loaded is None:
        return Verdict(Result.NOT_FOUND, _reason(REASONS[Result.NOT_FOUND], language))
    return _verdict(_status_result(loaded[0], now), loaded, language)


def check_plate(plate: str, now: datetime, *, language: str) -> Verdict:
    """The plate's current pass: one valid now if there is one, else the one that ends last."""
    normalized = validators.normalize_plate(plate[:32])
    if not validators.is_plate(normalized):
        return Verdict(Result.MALFORMED, str(_l("Not a mainland plate number.")))
    current = _load(_CURRENT_BY_PLATE, plate=normalized, now=now)
    if current is not None:
        return _verdict(_status_result(current[0], now), current, language)
    latest_id = db.session.scalar(
        select(Pass.id)
        .where(Pass.plate == normalized)
        .order_by(Pass.expires_at.desc(), Pass.id.desc())
        .limit(1)
    )
    if latest_id is None:
        return Verdict(Result.NOT_FOUND, _reason(REASONS[Result.NOT_FOUND], language))
    loaded = _load(_BY["id"], value=latest_id)
    assert loaded is not None
    return _verdict(_status_result(loaded[0], now), loaded, language)


def _flag(verdict: Verdict, flag: str | None, language: str) -> None:
    if flag:
        verdict.flags.append(flag)
        verdict.reason = f"{verdict.reason} {_reason(FLAG_REASONS[flag], language)}"


def verify(
    user: User,
    *,
    qr: str | None = None,
    code: str | None = None,
    plate: str | None = None,
    checkpoint: Checkpoint | None = None,
    now: datetime,
    language: str | None = None,
) -> Verdict:
    """The verdict for one input, logged as a scan event with any anomaly it shows; its reason
    in `language` (the reader's, chosen by the view), else the default language."""
    language = language or str(current_app.config["BABEL_DEFAULT_LOCALE"])
    checkpoint_id = checkpoint.id if checkpoint is not None else user.checkpoint_id
    if qr is not None:
        verdict, method = check_qr(qr, now, checkpoint_id, language=language), "qr"
    else:
        if code is not None:
            verdict, method = check_code(code, now, language=language), "code"
        else:
            verdict, method = check_plate(plate or "", now, language=language), "plate"
        if verdict.pass_id is not None and verdict.result is Result.VALID:
            flag = anomalies.anomaly(verdict.pass_id, checkpoint_id, now)
            _flag(verdict, flag, language)
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
