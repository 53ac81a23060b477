"""Workflow chains: the default steps of DESIGN.md, and who signs a step of an application."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from permits import audit
from permits.extensions import db
from permits.models import (
    BY_CARGO,
    CITY_SCOPE,
    DEPARTMENT_CODES,
    Application,
    CargoCategory,
    Department,
    Kind,
    ScopeRule,
    User,
    Workflow,
    WorkflowStep,
)
from permits.services.errors import Conflict, ValidationFailed

#: Which department signs the first step of a vehicle pass, by cargo category.
CARGO_DEPARTMENT = {
    CargoCategory.MEDICAL: "health",
    CargoCategory.DAILY_NECESSITIES: "commerce",
    CargoCategory.FOREIGN_TRADE: "commerce",
    CargoCategory.POSTAL: "postal",
    CargoCategory.AGRICULTURE: "agriculture",
    CargoCategory.ENERGY: "development_reform",
    CargoCategory.RESERVES: "development_reform",
    CargoCategory.RAW_MATERIALS: "economy",
    CargoCategory.INDUSTRIAL: "economy",
}


@dataclass(frozen=True)
class StepSpec:
    department_code: str
    scope_rule: ScopeRule
    sla_hours: int


#: The chains of DESIGN.md; admins edit them as new versions.
DEFAULT_CHAINS = {
    Kind.WORK_RESUMPTION: (
        StepSpec("economy", ScopeRule.DISTRICT, 24),
        StepSpec("economy", ScopeRule.CITY, 24),
    ),
    Kind.VEHICLE_PASS: (
        StepSpec(BY_CARGO, ScopeRule.DISTRICT, 12),
        StepSpec("transport", ScopeRule.CITY, 12),
    ),
}


def workflow_of(application: Application) -> Workflow:
    """The chain the application follows, loaded with its steps in one query (not two) and kept
    on the application for whoever reads `application.workflow` next."""
    if application.workflow_id is not None and "workflow" in inspect(application).unloaded:
        workflow = db.session.get(
            Workflow, application.workflow_id, options=[joinedload(Workflow.steps)]
        )
        set_committed_value(application, "workflow", workflow)
    return application.workflow or current_workflow(application.kind)


def current_workflow(kind: Kind) -> Workflow:
    """The chain new submissions follow; made from the defaults the first time it is needed."""
    workflow = db.session.scalar(
        select(Workflow).where(Workflow.kind == kind, Workflow.is_current.is_(True))
    )
    if workflow is None:
        workflow = Workflow(kind=kind, version=1, is_current=True)
        workflow.steps = [
            WorkflowStep(
                position=i,
                department_code=s.department_code,
                scope_rule=s.scope_rule,
                sla_hours=s.sla_hours,
            )
            for i, s in enumerate(DEFAULT_CHAINS[kind], start=1)
        ]
        try:
            with db.session.begin_nested():
                db.session.add(workflow)
        except IntegrityError:
            # Two first submissions at once: the other one made it (its commit let ours go on).
            workflow = db.session.scalars(
                select(Workflow).where(Workflow.kind == kind, Workflow.is_current.is_(True))
            ).one()
    return workflow


def ensure_default_workflows() -> None:
    for kind in Kind:
        current_workflow(kind)


@dataclass(frozen=True)
class Signer:
    """The department (code and scope) that signs one step of one application."""

    department_code: str
    scope: str


def signer(step: WorkflowStep, application: Application) -> Signer:
    return signer_of(step, cargo_category=application.cargo_category, district=application.district)


def signer_of(step: WorkflowStep, *, cargo_category: CargoCategory | None, district: str) -> Signer:
    """`signer` from the two values it depends on (for applications not stored yet)."""
    code = step.department_code
    if code == BY_CARGO:
        if cargo_category is None:
            raise ValueError("a cargo-routed step needs the application's cargo category")
        code = CARGO_DEPARTMENT[cargo_category]
    scope = district if step.scope_rule is ScopeRule.DISTRICT else CITY_SCOPE
    return Signer(code, scope)


def step_at(workflow: Workflow, position: int) -> WorkflowStep:
    for step in workflow.steps:
        if step.position == position:
            return step
    raise LookupError(f"workflow {workflow.id} has no step {position}")


def enter_step(step: WorkflowStep, signer: Signer, *, now: datetime) -> dict[str, object]:
    """The values an application takes when it enters a step (submission, bulk submission,
    an approval that passes it on): who signs it, since when, by when, not escalated."""
    return {
        "current_step": step.position,
        "current_department_code": signer.department_code,
        "current_scope": signer.scope,
        "step_entered_at": now,
        "step_due_at": now + timedelta(hours=step.sla_hours),
        "escalation_level": 0,
    }


#: The values of an application that waits at no step (returned, rejected, approved, withdrawn).
AT_NO_STEP: Mapping[str, object] = {
    "current_step": None,
    "current_department_code": None,
    "current_scope": None,
    "step_entered_at": None,
    "step_due_at": None,
    "escalation_level": 0,
}


def signs_a_step(department: Department, application: Application) -> bool:
    """Whether this department (code and scope) signs some step of the application's chain."""
    mine = (department.code, department.scope)
    return any((s.department_code, s.scope) == mine for s in signers(application))


def signers(application: Application) -> list[Signer]:
    """Every department that signs a step of this application, in order."""
    return [signer(step, application) for step in workflow_of(application).steps]


# --- editing a chain ---------------------------------------------------------------------

#: Bounds of a chain an admin saves.
MAX_STEPS = 10
MIN_SLA_HOURS, MAX_SLA_HOURS = 1, 720


def department_choices(kind: Kind) -> tuple[str, ...]:
    """The department codes a step of this kind may name (vehicle passes: also BY_CARGO)."""
    return (BY_CARGO, *DEPARTMENT_CODES) if kind is Kind.VEHICLE_PASS else DEPARTMENT_CODES


def chain_problems(kind: Kind, steps: Sequence[StepSpec]) -> dict[str, str]:
    """Each wrong part of a chain, by field (`steps`, `steps.0.sla_hours`, ...)."""
    problems: dict[str, str] = {}
    if not steps:
        problems["steps"] = str(_l("A chain has at least one step."))
    elif len(steps) > MAX_STEPS:
        problems["steps"] = str(_l("A chain has at most %(n)d steps.", n=MAX_STEPS))
    for i, step in enumerate(steps):
        if step.department_code not in department_choices(kind):
            problems[f"steps.{i}.department_code"] = str(
                _l("Choose one of the listed departments.")
            )
        if not isinstance(step.scope_rule, ScopeRule):
            problems[f"steps.{i}.scope_rule"] = str(_l("Choose one of the listed scopes."))
        if not MIN_SLA_HOURS <= step.sla_hours <= MAX_SLA_HOURS:
            problems[f"steps.{i}.sla_hours"] = str(
                _l("Between %(a)d and %(b)d hours.", a=MIN_SLA_HOURS, b=MAX_SLA_HOURS)
            )
    return problems


def parse_chain(kind: Kind, rows: Sequence[Mapping[str, str | None]]) -> list[StepSpec]:
    """Steps from the text of a form; raises ValidationFailed naming each wrong field."""
    problems: dict[str, str] = {}
    steps: list[StepSpec] = []
    for i, row in enumerate(rows):
        try:
            scope_rule = ScopeRule(row.get("scope_rule") or "")
        except ValueError:
            problems[f"steps.{i}.scope_rule"] = str(_l("Choose one of the listed scopes."))
            scope_rule = ScopeRule.CITY
        text = (row.get("sla_hours") or "").strip()
        if not text.isdigit() or len(text) > 4:
            problems[f"steps.{i}.sla_hours"] = str(
                _l("Between %(a)d and %(b)d hours.", a=MIN_SLA_HOURS, b=MAX_SLA_HOURS)
            )
            text = str(MIN_SLA_HOURS)
        steps.append(StepSpec(row.get("department_code") or "", scope_rule, int(text)))
    problems = chain_problems(kind, steps) | problems
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    return steps


def chain_of(workflow: Workflow) -> list[StepSpec]:
    return [StepSpec(s.department_code, s.scope_rule, s.sla_hours) for s in workflow.steps]


CHAIN_MOVED = _l(
    "Another administrator saved a new version of this chain meanwhile. Reload the page, "
    "look at their version and make your change again."
)


def save_chain(
    kind: Kind, steps: Sequence[StepSpec], *, base_version: int, actor: User, now: datetime
) -> Workflow:
    """Saves the chain as a new version that new submissions follow; the old one stays.

    `base_version` is the version the admin edited: if another admin saved since, this one is
    refused (Conflict) rather than silently overwriting theirs. Applications under way keep
    their own version.
    """
    problems = chain_problems(kind, steps)
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    current = current_workflow(kind)
    if current.version != base_version:
        raise Conflict(CHAIN_MOVED)
    if chain_of(current) == list(steps):
        return current
    # The conditional UPDATE is the lock: of two admins saving at once, the second waits for
    # the first and then matches no row (PostgreSQL), or finds a new version (SQLite, which
    # serialises writers). The unique (kind, version) stops a duplicate version in any case.
    demoted = db.session.execute(
        update(Workflow)
        .where(Workflow.id == current.id, Workflow.is_current.is_(True))
        .values(is_current=False)
        .execution_options(synchronize_session=False)
    )
    if demoted.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(CHAIN_MOVED)
    db.session.expire(current, ["is_current"])
    latest = db.session.scalar(select(func.max(Workflow.version)).where(Workflow.kind == kind))
    workflow = Workflow(kind=kind, version=(latest or 0) + 1, is_current=True, created_at=now)
    workflow.steps = [
        WorkflowStep(
            position=i,
            department_code=s.department_code,
            scope_rule=s.scope_rule,
            sla_hours=s.sla_hours,
        )
        for i, s in enumerate(steps, start=1)
    ]
    try:
        with db.session.begin_nested():
            db.session.add(workflow)
    except IntegrityError:
        raise Conflict(CHAIN_MOVED) from None
    audit.record(
        "workflow.save",
        actor=actor,
        obj=workflow,
        details={
            "kind": kind.value,
            "version": workflow.version,
            "previous_version": current.version,
            "steps": [{**asdict(s), "scope_rule": s.scope_rule.value} for s in steps],
        },
        now=now,
    )
    return workflow


def editable_chain(kind: Kind) -> tuple[int, list[StepSpec]]:
    """The current version and its steps; before any is stored, the defaults as version 1."""
    workflow = db.session.scalar(
        select(Workflow).where(Workflow.kind == kind, Workflow.is_current.is_(True))
    )
    if workflow is None:
        return 1, list(DEFAULT_CHAINS[kind])
    return workflow.version, chain_of(workflow)


def workflow_history(kind: Kind, *, limit: int = 20) -> list[Workflow]:
    """The newest versions of a kind's chain, newest first (without creating one)."""
    query = select(Workflow).where(Workflow.kind == kind).order_by(Workflow.version.desc())
    return list(db.session.scalars(query.limit(limit)))
