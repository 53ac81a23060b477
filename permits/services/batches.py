"""Many vehicle applications in one go: each item validated exactly as the single form, the
valid ones created as drafts of one batch, the others answered with their fields' messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from permits import audit
from permits.extensions import db
from permits.models import Application, ApplicationBatch, Kind, Role, User
from permits.outcome import answered_alone, on_its_own
from permits.services import applications
from permits.services.batch_conflicts import batch_conflicts
from permits.services.conflict_locks import hold
from permits.services.errors import NotAllowed, ValidationFailed

#: The most items one call may carry (the API contract says 500).
BATCH_LIMIT = 500
SOURCES = ("upload", "api")


@dataclass
class ItemResult:
    """What became of one item: its draft, or why there is none."""

    index: int
    application: Application | None = None
    message: str = ""
    problems: dict[str, str] = field(default_factory=dict)


@dataclass
class BatchOutcome:
    batch: ApplicationBatch | None
    results: list[ItemResult]


def _shape_problems(item: Any) -> dict[str, str]:
    if not isinstance(item, Mapping):
        return {"body": str(_l("Each application is a JSON object of its fields."))}
    kind = item.get("kind", Kind.VEHICLE_PASS.value)
    if kind != Kind.VEHICLE_PASS.value:
        return {"kind": str(_l("A batch holds vehicle pass applications only."))}
    return {}


def create_batch(
    actor: User, items: Sequence[Any], *, source: str, filename: str = "", now: datetime
) -> BatchOutcome:
    """Creates a draft for each valid item, all in one batch (none when no item is valid).

    Items are checked in order: against each other (the same plate, or a driver on two plates,
    for overlapping days: the later item is refused, naming the earlier) and, through
    `applications.create_draft`, as the single form checks them, conflicts with other passes
    and applications included. Everything happens in the caller's one transaction.
    """
    if actor.role is not Role.ENTERPRISE or actor.enterprise is None:
        raise NotAllowed(_l("Only enterprise accounts apply."))
    if source not in SOURCES:
        raise ValueError(f"unknown batch source {source!r}")
    if not items:
        raise ValidationFailed(
            applications.INVALID, {"applications": _l("Send at least one application.")}
        )
    if len(items) > BATCH_LIMIT:
        raise ValidationFailed(
            applications.INVALID,
            {"applications": _l("At most %(n)d applications in one batch.", n=BATCH_LIMIT)},
        )
    shapes = [_shape_problems(item) for item in items]
    fields = [
        {k: v for k, v in item.items() if k != "kind"} if not shapes[i] else {}
        for i, item in enumerate(items)
    ]
    cleaned = [
        applications.clean(Kind.VEHICLE_PASS, data, now=now) if not shapes[i] else None
        for i, data in enumerate(fields)
    ]
    valid = [c.values if c and not c.problems else None for c in cleaned]
    # Every item's plate and drivers at once, before the first item is checked (see `hold`).
    hold(v for v in valid if v is not None)
    within = batch_conflicts(valid)

    batch: ApplicationBatch | None = None
    results: list[ItemResult] = []
    for index, data in enumerate(fields):
        problems = shapes[index] or within[index]
        if not problems:
            try:
                with on_its_own():
                    application = applications.create_draft(actor, Kind.VEHICLE_PASS, data, now=now)
            except ValidationFailed as exc:
                answered_alone(exc)  # reported for this item; the batch's others are kept
                problems = {name: str(message) for name, message in exc.fields.items()}
            else:
                if batch is None:
                    batch = ApplicationBatch(
                        enterprise_id=actor.enterprise.id,
                        created_by_id=actor.id,
                        source=source,
                        filename=filename[:200],
                        created_at=now,
                    )
                    db.session.add(batch)
                application.batch = batch
                results.append(ItemResult(index=index, application=application))
                continue
        results.append(
            ItemResult(index=index, message=str(applications.INVALID), problems=problems)
        )
    db.session.flush()
    if batch is not None:
        audit.record(
            "batch.create",
            actor=actor,
            obj=batch,
            details={
                "source": source,
                "created": sum(1 for r in results if r.application is not None),
                "refused": sum(1 for r in results if r.application is None),
            },
            now=now,
        )
    return BatchOutcome(batch=batch, results=results)
