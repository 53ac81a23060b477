"""Vehicle passes by the spreadsheet: every row of an uploaded file checked as the single form
checks it, and the good rows submitted as one batch.

The file and its rows are kept between the preview and the submit (`bulk_uploads`) and checked
again on submit: nothing the client sends back is trusted. The template, reading a file and the
corrected file are `bulk_sheets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from permits import audit
from permits.extensions import db
from permits.models import Application, ApplicationBatch, Decision, Driver, Kind, Role, User
from permits.services import applications, bulk_uploads, notifications, workflows
from permits.services.batch_conflicts import batch_conflicts
from permits.services.bulk_sheets import DRIVER_PARTS, VEHICLE_COLUMNS, Row, max_drivers
from permits.services.conflict_locks import hold
from permits.services.conflicts import seen_anywhere
from permits.services.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from permits.services.state import move_new
from permits.workflow import Action

# --- checking the rows -----------------------------------------------------------------------


def application_data(row: Row) -> dict[str, Any]:
    """The row as the single form and the API give it to the services."""
    cells = row.cells
    data: dict[str, Any] = {key: cells.get(key, "") for key, _ in VEHICLE_COLUMNS if key != "note"}
    data["drivers"] = [
        {part: cells.get(f"driver{i}_{part}", "") for part, _, _ in DRIVER_PARTS}
        for i in range(1, max_drivers() + 1)
    ]
    return data


def _column_of(problem_key: str) -> str:
    """A service's field name ("drivers.0.phone") → the template column ("driver1_phone")."""
    parts = problem_key.split(".")
    if parts[0] == "drivers" and len(parts) == 3 and parts[1].isdigit():
        return f"driver{int(parts[1]) + 1}_{parts[2]}"
    if parts[0] == "drivers" and len(parts) == 2 and parts[1].isdigit():
        return f"driver{int(parts[1]) + 1}_name"
    if parts[0] == "drivers":
        return "driver1_name"
    return parts[0]


def check_rows(actor: User, rows: list[Row], *, now: datetime) -> None:
    """Fills each row's problems by column: the single form's checks, then the file's own
    (one plate or one driver twice in the file with overlapping dates)."""
    data = [application_data(row) for row in rows]
    # The single form's conflict check costs queries per row; first find, in a few queries,
    # the file's plates and drivers that anything stored holds at all, then check exactly
    # (as the form does) only the rows that have one of them.
    taken = seen_anywhere(data, now=now, enterprise_id=actor.enterprise_id)
    for row, fields in zip(rows, data, strict=True):
        row.application, problems = applications.prepare_new(
            actor, Kind.VEHICLE_PASS, fields, now=now, check_conflicts=False
        )
        if _mentions(row.application, taken):
            problems = {**applications.prepared_taken(row.application, now=now), **problems}
        for name, message in problems.items():
            row.problems.setdefault(_column_of(name), message)
    _check_repeats(rows, data)


def _mentions(prepared: applications.Prepared, taken: set[str]) -> bool:
    if not taken:
        return False
    return prepared.plate in taken or any(d["id_number"] in taken for d in prepared.drivers)


def _check_repeats(rows: list[Row], data: list[dict[str, Any]]) -> None:
    """One plate, or one driver on two vehicles, twice in the file for overlapping dates: the
    later row names the earlier one (the same check as a batch sent through the API)."""
    found = batch_conflicts(data, lambda index: str(_l("row %(n)d", n=rows[index].number)))
    for row, problems in zip(rows, found, strict=True):
        for name, message in problems.items():
            row.problems.setdefault(_column_of(name), message)


# --- the preview and the submit --------------------------------------------------------------


@dataclass
class Preview:
    filename: str
    rows: list[Row]

    @property
    def bad(self) -> list[Row]:
        return [row for row in self.rows if row.problems]

    @property
    def good(self) -> list[Row]:
        return [row for row in self.rows if not row.problems]


def preview(actor: User, key: str, *, now: datetime) -> Preview:
    """The stored file's rows checked again, row by row."""
    _require_enterprise(actor)
    filename, rows = bulk_uploads.load_rows(actor, key)
    check_rows(actor, rows, now=now)
    return Preview(filename=filename, rows=rows)


def submit_good_rows(actor: User, key: str, *, now: datetime) -> tuple[ApplicationBatch, int]:
    """One submitted application per good row, grouped in one batch (returned with how many);
    the bad rows are left out.

    The upload is claimed first: of several submits of one upload at once, exactly one makes
    its batch, and the others are told it was submitted already (Conflict). The file is then
    checked again, its plates and drivers held until the commit (`conflict_locks.hold`): what was
    good at the preview may not be any more, and nothing can take it between check and write.
    """
    _require_enterprise(actor)
    batch = _claim(actor, key, now=now)
    filename, rows = bulk_uploads.load_rows(actor, key)
    batch.filename = filename
    hold(application_data(row) for row in rows)
    check_rows(actor, rows, now=now)
    checked = Preview(filename=filename, rows=rows)
    good = checked.good
    if not good:
        raise ValidationFailed(
            _l("No row can be submitted."), {"file": _l("Fix the rows and upload the file again.")}
        )
    prepared = [row.application for row in good if row.application is not None]
    signers = _store_submitted(actor, batch, prepared, now=now)
    audit.record(
        "batch.submit",
        actor=actor,
        obj=batch,
        details={"source": "upload", "applications": len(good), "left_out": len(checked.bad)},
        now=now,
    )
    notifications.notify_users(
        [actor], "batch_submitted", filename=batch.filename, batch=batch.id, count=len(prepared)
    )
    for signer, count in signers.items():
        notifications.notify_users(
            notifications.approvers_of(signer.department_code, signer.scope),
            "batch_waiting",
            enterprise=actor.enterprise.name if actor.enterprise else "",
            batch=batch.id,
            count=count,
        )
    bulk_uploads.forget_upload(key)
    return batch, len(prepared)


def _claim(actor: User, key: str, *, now: datetime) -> ApplicationBatch:
    """The batch of this upload, stored before anything else: the unique upload key lets one
    transaction have it (another one waits for that one's end, then finds it taken)."""
    bulk_uploads.paths(key)  # a key of the right shape, or NotFound
    assert actor.enterprise_id is not None
    session = db.session()
    postgresql = session.get_bind().dialect.name == "postgresql"
    batch = session.scalar(
        _CLAIM_POSTGRESQL if postgresql else _CLAIM_SQLITE,
        {
            "enterprise_id": actor.enterprise_id,
            "created_by_id": actor.id,
            "source": "upload",
            "filename": "",
            "upload_key": key,
            "created_at": now,
        },
    )
    if batch is not None:
        return batch
    earlier = session.scalar(select(ApplicationBatch).where(ApplicationBatch.upload_key == key))
    if earlier is None or earlier.created_by_id != actor.id:
        raise NotFound(_l("This upload is no longer available; upload the file again."))
    raise Conflict(
        _l(
            "This file was submitted already, as batch #%(batch)d: its applications are in "
            "your list.",
            batch=earlier.id,
        )
    )


# Built once: INSERT … ON CONFLICT (upload_key) DO NOTHING RETURNING the batch.
_CLAIM_POSTGRESQL, _CLAIM_SQLITE = (
    dialect_insert(ApplicationBatch)
    .on_conflict_do_nothing(index_elements=["upload_key"])
    .returning(ApplicationBatch)
    for dialect_insert in (postgresql_insert, sqlite_insert)
)


def _store_submitted(
    actor: User, batch: ApplicationBatch, prepared: list[applications.Prepared], *, now: datetime
) -> dict[workflows.Signer, int]:
    """Stores checked applications as submitted (what `applications.submit` does for one), in
    three bulk INSERTs (applications, drivers, submission entries); returns how many wait at
    each first-step signer.

    One at a time, 10,000 rows took over two minutes (see docs/performance.md); as ORM objects,
    about 4 s. The batch is audited once, and each signer's approvers are told once, not once
    per vehicle.
    """
    flow = workflows.current_workflow(Kind.VEHICLE_PASS)
    first = workflows.step_at(flow, 1)
    waiting: dict[workflows.Signer, int] = {}
    rows: list[dict[str, Any]] = []
    for application in prepared:
        row = dict(application.values)
        signer = workflows.signer_of(
            first, cargo_category=row["cargo_category"], district=row["district"]
        )
        waiting[signer] = waiting.get(signer, 0) + 1
        move_new(
            row,
            Action.SUBMIT,
            now=now,
            values={
                "workflow_id": flow.id,
                "round": 1,
                "submitted_at": now,
                "batch_id": batch.id,
                **workflows.enter_step(first, signer, now=now),
            },
        )
        rows.append(row)
    ids = _insert_in_order(batch, rows)
    db.session.execute(
        insert(Driver),
        [
            {"application_id": application_id, "position": position, **driver}
            for application_id, application in zip(ids, prepared, strict=True)
            for position, driver in enumerate(application.drivers, start=1)
        ],
    )
    db.session.execute(
        insert(Decision),
        [
            {
                "application_id": application_id,
                "round": 1,
                "step": None,
                "action": Action.SUBMIT,
                "actor_id": actor.id,
                "comment": "",
                "created_at": now,
            }
            for application_id in ids
        ],
    )
    return waiting


def _insert_in_order(batch: ApplicationBatch, rows: list[dict[str, Any]]) -> list[int]:
    """Inserts the batch's applications; returns their ids in the order of `rows`.

    An executemany runs one INSERT per row, in order, in this transaction, so the ids (from a
    sequence, or SQLite's next rowid) grow in that order: reading them back by id is cheaper
    than RETURNING, which made PostgreSQL plan 25 parameters times 1,000 rows per statement
    (3.4-5.2 s for 10,000 rows instead of 0.9 s). The rows read back are compared with those
    sent, so an order that ever differed would fail loudly rather than mix up drivers.
    """
    db.session.execute(insert(Application), rows)
    stored = db.session.execute(
        select(Application.id, Application.plate, Application.valid_from, Application.valid_until)
        .where(Application.batch_id == batch.id)
        .order_by(Application.id)
    ).all()
    sent = [(row["plate"], row["valid_from"], row["valid_until"]) for row in rows]
    if [(s.plate, s.valid_from, s.valid_until) for s in stored] != sent:
        raise RuntimeError("the batch's applications were not stored in the order sent")
    return [s.id for s in stored]


def _require_enterprise(actor: User) -> None:
    if actor.role is not Role.ENTERPRISE or actor.enterprise is None:
        raise NotAllowed(_l("Only enterprise accounts apply."))
