"""Issuing, revoking and renewing passes. Issue happens inside the last approval's transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction

from permits import audit
from permits.extensions import db
from permits.models import Application, Enterprise, Kind, Pass, PassStatus, Role, User
from permits.passes import codes, token
from permits.passes.keys import KeyStorageError, KeyStore, SigningKey
from permits.services import applications, attachments, counters, notifications, workflows
from permits.services import text as typed_text
from permits.services.errors import (
    Conflict,
    DomainError,
    NotAllowed,
    StorageFailed,
    ValidationFailed,
    os_error_name,
)
from permits.workflow import State

KEY_STORE = "permits.key_store"

log = logging.getLogger(__name__)


def key_store() -> KeyStore:
    """This app's signing keys (one store per process, reloaded when the folder changes)."""
    store = current_app.extensions.get(KEY_STORE)
    if store is None:
        folder = current_app.config.get("KEYS_DIR") or Path(current_app.instance_path) / "keys"
        store = KeyStore(Path(folder), timedelta(days=int(current_app.config["KEY_LIFETIME_DAYS"])))
        current_app.extensions[KEY_STORE] = store
    return store


def issuer() -> str:
    """The iss claim: configured, or "CN-" and the city's code."""
    return str(current_app.config.get("PASS_ISSUER") or f"CN-{current_app.config['CITY_CODE']}")


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def window(valid_from: date, valid_until: date) -> tuple[datetime, datetime]:
    """nbf at 00:00 of the first day and exp at 00:00 after the last, in the service's zone."""
    zone = _zone()
    start = datetime.combine(valid_from, time.min, tzinfo=zone)
    end = datetime.combine(valid_until + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def claims_for(
    application: Application, number: str, control_code: str, now: datetime
) -> token.PassClaims:
    """What the QR code says: enough to match vehicle, driver and site, no personal data."""
    assert application.valid_from is not None and application.valid_until is not None
    not_before, expires = window(application.valid_from, application.valid_until)
    common = {
        "issuer": issuer(),
        "issued_at": int(now.timestamp()),
        "not_before": int(not_before.timestamp()),
        "expires": int(expires.timestamp()),
        "number": number,
        "control_code": control_code,
        "enterprise": application.enterprise.name,
        "uscc": application.enterprise.uscc,
    }
    if application.kind is Kind.VEHICLE_PASS:
        return token.PassClaims(
            kind="VP",
            plate=application.plate,
            origin=application.origin,
            destination=application.destination,
            cargo=application.cargo_category.value if application.cargo_category else None,
            drivers=tuple((d.name, d.id_number[-4:]) for d in application.drivers),
            **common,  # type: ignore[arg-type]
        )
    return token.PassClaims(
        kind="WR",
        site=application.site_address,
        district=application.district,
        staff=application.staff_on_site,
        **common,  # type: ignore[arg-type]
    )


def _insert_pass(values: dict[str, Any]) -> Pass | None:
    """Stores the pass, or None when its control code is already another pass's (the unique
    constraint decides; INSERT … ON CONFLICT (control_code) DO NOTHING RETURNING), instead of
    a read before each insert to find the code unused: one statement where there were two."""
    dialect = db.session().get_bind().dialect.name
    statement = _INSERT_PASS_POSTGRESQL if dialect == "postgresql" else _INSERT_PASS_SQLITE
    db.session.flush()
    return db.session.scalar(statement, values)


_INSERT_PASS_POSTGRESQL, _INSERT_PASS_SQLITE = (
    dialect_insert(Pass).on_conflict_do_nothing(index_elements=["control_code"]).returning(Pass)
    for dialect_insert in (postgresql_insert, sqlite_insert)
)


def signing_key(pass_expires: datetime, now: datetime) -> SigningKey:
    """The key to sign a pass ending then; a key folder that cannot be written is reported."""
    try:
        return key_store().signer_for(pass_expires, now)
    except KeyStorageError as exc:
        log.error("a signing key could not be stored in the key folder: %s", os_error_name(exc))
        raise StorageFailed(
            _l(
                "The pass cannot be signed now: the server cannot store its signing key. "
                "It has been logged; please try again later."
            )
        ) from exc


#: session.info key: the passes issued in this session's transaction, by application id
#: (`pass_of` reads them; dropped when the transaction ends).
ISSUED_HERE = "permits.issued_passes"


@event.listens_for(Session, "after_transaction_end")
def _forget_issued(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(ISSUED_HERE, None)


def issue_pass(application: Application, *, now: datetime) -> Pass:
    """Numbers, signs and stores the pass of an approved application, in its transaction
    (the caller tells the enterprise: `reviews.on_final_approval`)."""
    if application.status is not State.APPROVED:
        raise Conflict(_l("Only an approved application gets a pass."))
    assert application.valid_from is not None and application.valid_until is not None
    not_before, expires = window(application.valid_from, application.valid_until)
    key = signing_key(expires, now)
    assert key.private_key is not None
    # The district's serial last: its counter row stays locked until COMMIT, and every other
    # pass of the district waits for it.
    number, serial = counters.allocate_number(db.session(), application.district)
    values: dict[str, Any] = {
        "application_id": application.id,
        "number": number,
        "district": application.district,
        "serial": serial,
        "kind": application.kind,
        "enterprise_id": application.enterprise_id,
        "plate": application.plate,
        "valid_from": application.valid_from,
        "valid_until": application.valid_until,
        "not_before": not_before,
        "expires_at": expires,
        "status": PassStatus.ACTIVE,
        "kid": key.kid_hex,
        "issued_at": now,
        "revoked_at": None,
        "revoked_by_id": None,
        "revoke_reason": None,
        "revocation_seq": None,
        "superseded_by_id": None,
    }
    if application.enterprise.is_suspended:
        # Issued during a suspension: offline verifiers must hold it as revoked too.
        values["revocation_seq"] = counters.next_value(db.session(), "revocations")
    issued = None
    while issued is None:  # again with a new code in the rare case that one is taken
        control_code = codes.new_control_code()
        claims = claims_for(application, number, control_code, now)
        values.update(control_code=control_code, token=token.sign(claims, key.private_key, key.kid))
        issued = _insert_pass(values)
    audit.record("pass.issue", actor=None, obj=issued, details={"number": number}, now=now)
    if application.renewal_of_id is not None:
        old = db.session.get(Pass, application.renewal_of_id)
        if (
            old is not None
            and old.status is PassStatus.ACTIVE
            and _revoke(old, None, f"superseded by {number}", now=now)
        ):
            old.superseded_by_id = issued.id
    db.session.info.setdefault(ISSUED_HERE, {})[application.id] = issued
    return issued


def pass_by_number(number: str) -> Pass | None:
    return db.session.scalar(select(Pass).where(Pass.number == number.strip()))


def pass_of(application: Application) -> Pass | None:
    """The application's pass; the one issued in this transaction is not looked up again (one
    rolled back by a savepoint is no longer persistent, and is looked up)."""
    issued: Pass | None = db.session.info.get(ISSUED_HERE, {}).get(application.id)
    if issued is not None and sa_inspect(issued).persistent:
        return issued
    return db.session.scalar(select(Pass).where(Pass.application_id == application.id))


def can_revoke(user: User, issued: Pass) -> bool:
    """Admins, and approvers of a department that signs a step of the pass's application."""
    if user.role is Role.ADMIN:
        return True
    if user.role is not Role.APPROVER or user.department is None:
        return False
    return workflows.signs_a_step(user.department, issued.application)


def _revoke(issued: Pass, actor: User | None, reason: str, *, now: datetime) -> bool:
    """Revokes an active pass: audited, the enterprise told, the feed advanced. False when it
    is no longer active: a conditional UPDATE, so that of several revocations at once exactly
    one lands (one event, one notice), whatever each had read."""
    revoked = db.session.execute(
        update(Pass)
        .where(Pass.id == issued.id, Pass.status == PassStatus.ACTIVE)
        .values(
            status=PassStatus.REVOKED,
            revoked_at=now,
            revoked_by_id=actor.id if actor else None,
            revoke_reason=reason,
        )
        .execution_options(synchronize_session=False)
    )
    if revoked.rowcount != 1:  # type: ignore[attr-defined]
        db.session.expire(issued)  # it is what the other revocation made it
        return False
    # The pass's row first, then the feed counter: the order a mass revocation takes them.
    db.session.execute(
        update(Pass)
        .where(Pass.id == issued.id)
        .values(revocation_seq=counters.next_value(db.session(), "revocations"))
        .execution_options(synchronize_session=False)
    )
    db.session.expire(issued)
    audit.record("pass.revoke", actor=actor, obj=issued, details={"reason": reason}, now=now)
    notifications.notify(
        [issued.application.created_by],
        "revoked",
        issued.application,
        pass_number=issued.number,
        comment=reason,
    )
    return True


def revoke_pass(actor: User, issued: Pass, reason: object, *, now: datetime) -> Pass:
    """Withdraws a pass with a reason; the revocation feed carries it to offline checkpoints.
    Revoking a pass revoked already, also by someone at the same moment, is a Conflict."""
    if not can_revoke(actor, issued):
        raise NotAllowed(_l("You may not revoke this pass."))
    if reason is not None and not isinstance(reason, str):
        raise DomainError(
            _l("The reason is text."), {"reason": _l("Give the reason for the revocation as text.")}
        )
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"reason": _l("Give the reason for the revocation (at most 500 characters).")},
        )
    typed_text.refuse({"reason": reason}, multiline=True)
    if issued.status is PassStatus.REVOKED or not _revoke(issued, actor, reason, now=now):
        raise Conflict(_l("This pass is revoked already."))
    return issued


@dataclass(frozen=True)
class RevocationPage:
    counter: int
    revoked: list[str]
    #: Passes that were listed as revoked while their enterprise was suspended, valid again.
    reinstated: list[str] = field(default_factory=list)


def revocations_since(since: int, *, limit: int = 5000) -> RevocationPage:
    """Pass numbers revoked (or suspended, or reinstated) after feed position `since`, and the
    position to ask from next."""
    rows = db.session.execute(
        select(Pass.revocation_seq, Pass.number, Pass.status, Enterprise.suspended_at)
        .join(Enterprise, Enterprise.id == Pass.enterprise_id)
        .where(Pass.revocation_seq > since)
        .order_by(Pass.revocation_seq)
        .limit(limit)
    ).all()
    if rows:
        counter = int(rows[-1][0] or 0)
    else:  # nothing new: the feed's current position (a client ahead of it starts over)
        latest = db.session.scalar(select(func.max(Pass.revocation_seq)))
        counter = int(latest or 0)
    revoked, reinstated = [], []
    for _seq, number, status, suspended_at in rows:
        if status is PassStatus.REVOKED or suspended_at is not None:
            revoked.append(number)
        else:
            reinstated.append(number)
    return RevocationPage(counter=counter, revoked=revoked, reinstated=reinstated)


def can_renew(user: User, issued: Pass, now: datetime) -> bool:
    return (
        user.role is Role.ENTERPRISE
        and issued.enterprise_id == user.enterprise_id
        and issued.status is PassStatus.ACTIVE
        and not issued.is_expired(now)
        and pending_renewal(issued) is None
    )


def pending_renewal(issued: Pass) -> Application | None:
    return db.session.scalar(
        select(Application).where(
            Application.renewal_of_id == issued.id,
            Application.status.in_((State.DRAFT, State.IN_REVIEW, State.RETURNED)),
        )
    )


def renew(actor: User, issued: Pass, *, now: datetime) -> Application:
    """A new draft pre-filled from the pass's application, starting the day after it ends."""
    if not can_renew(actor, issued, now):
        raise Conflict(_l("This pass cannot be renewed (expired, revoked, or renewal under way)."))
    old = issued.application
    length = (issued.valid_until - issued.valid_from).days
    start = max(issued.valid_until + timedelta(days=1), applications.today(now))
    dates = {"valid_until": (start + timedelta(days=length)).isoformat()}
    if old.kind is Kind.VEHICLE_PASS:
        fields: dict[str, object] = {
            "plate": old.plate,
            "vehicle_type": old.vehicle_type.value if old.vehicle_type else None,
            "cargo_category": old.cargo_category.value if old.cargo_category else None,
            "origin": old.origin,
            "destination": old.destination,
            "drivers": [
                {"name": d.name, "id_number": d.id_number, "phone": d.phone} for d in old.drivers
            ],
            "valid_from": start.isoformat(),
            **dates,
        }
    else:
        fields = {
            "site_address": old.site_address,
            "district": old.district,
            "staff_on_site": old.staff_on_site,
            "closed_loop": bool(old.closed_loop),
            "contact_name": old.contact_name,
            "contact_phone": old.contact_phone,
            "resume_date": start.isoformat(),
            **dates,
        }
    application = applications.create_draft(actor, old.kind, fields, now=now)
    application.renewal_of_id = issued.id
    for attachment in old.attachments:  # the plan still applies; the enterprise may replace it
        path = attachments.attachment_path(attachment)
        if path.is_file():
            attachments.add_attachment(
                actor,
                application,
                purpose=attachment.purpose,
                filename=attachment.filename,
                content=path.read_bytes(),
                now=now,
            )
    db.session.flush()
    audit.record("pass.renew", actor=actor, obj=issued, details={"application": application.id})
    return application


class PassRevoked(DomainError):
    """A revoked pass is gone for good (HTTP 410): no PDF or share link of it is handed out."""

    status = 410
    code = "revoked"


def check_not_revoked(issued: Pass) -> None:
    """Nothing that could be shown at a checkpoint (a PDF, a share link) for a revoked pass."""
    if issued.status is PassStatus.REVOKED:
        raise PassRevoked(
            _l(
                "Pass %(number)s is revoked (%(reason)s): it has no PDF or share link any more.",
                number=issued.number,
                reason=issued.revoke_reason or "—",
            )
        )
