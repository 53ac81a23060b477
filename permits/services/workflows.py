"""Workflow chains: the default steps of DESIGN.md, and who signs a step of an application."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from permits.extensions import db
from permits.models import (
    BY_CARGO,
    CITY_SCOPE,
    Application,
    CargoCategory,
    Department,
    Kind,
    ScopeRule,
    Workflow,
    WorkflowStep,
)

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
        db.session.add(workflow)
        db.session.flush()
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
    code = step.department_code
    if code == BY_CARGO:
        if application.cargo_category is None:
            raise ValueError("a cargo-routed step needs the application's cargo category")
        code = CARGO_DEPARTMENT[application.cargo_category]
    scope = application.district if step.scope_rule is ScopeRule.DISTRICT else CITY_SCOPE
    return Signer(code, scope)


def step_at(workflow: Workflow, position: int) -> WorkflowStep:
    for step in workflow.steps:
        if step.position == position:
            return step
    raise LookupError(f"workflow {workflow.id} has no step {position}")


def signs_a_step(department: Department, application: Application) -> bool:
    """Whether this department (code and scope) signs some step of the application's chain."""
    mine = (department.code, department.scope)
    return any((s.department_code, s.scope) == mine for s in signers(application))


def signers(application: Application) -> list[Signer]:
    """Every department that signs a step of this application, in order."""
    workflow = application.workflow or current_workflow(application.kind)
    return [signer(step, application) for step in workflow.steps]
