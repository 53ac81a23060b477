"""Typed SQLAlchemy models, one module per aggregate; importing this registers them all."""

from permits.models.accounts import (
    CITY_SCOPE,
    DEPARTMENT_CODES,
    ApiToken,
    Department,
    Enterprise,
    LoginFailures,
    Role,
    User,
)
from permits.models.applications import (
    BY_CARGO,
    Application,
    ApplicationBatch,
    Attachment,
    CargoCategory,
    Decision,
    Driver,
    Kind,
    ScopeRule,
    VehicleType,
    Workflow,
    WorkflowStep,
)
from permits.models.audit import AuditEvent, AuditHead
from permits.models.base import Base, utcnow
from permits.models.checkpoints import Checkpoint, ScanEvent
from permits.models.demands import (
    Demand,
    DemandCategory,
    DemandCopy,
    DemandEvent,
    DemandFile,
    DemandRoute,
    DemandRouting,
)
from permits.models.notifications import Notification
from permits.models.passes import Counter, Pass, PassStatus
from permits.models.revocations import MassRevocation, MassRevocationStatus
from permits.models.supervision import SNAPSHOT_ID, SupervisionSnapshot

__all__ = [
    "BY_CARGO",
    "CITY_SCOPE",
    "DEPARTMENT_CODES",
    "SNAPSHOT_ID",
    "ApiToken",
    "Application",
    "ApplicationBatch",
    "Attachment",
    "AuditEvent",
    "AuditHead",
    "Base",
    "CargoCategory",
    "Checkpoint",
    "Counter",
    "Decision",
    "Demand",
    "DemandCategory",
    "DemandCopy",
    "DemandEvent",
    "DemandFile",
    "DemandRoute",
    "DemandRouting",
    "Department",
    "Driver",
    "Enterprise",
    "Kind",
    "LoginFailures",
    "MassRevocation",
    "MassRevocationStatus",
    "Notification",
    "Pass",
    "PassStatus",
    "Role",
    "ScanEvent",
    "ScopeRule",
    "SupervisionSnapshot",
    "User",
    "VehicleType",
    "Workflow",
    "WorkflowStep",
    "utcnow",
]
