"""The OpenAPI 3.1 description of API v1, served at /api/v1/openapi.json.

Assembled from the routes below and the body models of permits/schemas/; a test compares it with
the routes, so a new endpoint without its description fails the suite, and another pins it.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from permits.permissions import public
from permits.schemas import accounts, batches, decisions, demands, passes, stats, verify
from permits.schemas import application_fields as fields
from permits.schemas import applications as apps
from permits.schemas.common import Error, PassNumber, RowId
from permits.schemas.document import PREFIX, Components
from permits.views.api import bp
from permits.views.api.demand_operations import DEMAND_OPERATIONS
from permits.views.api.operations import OPERATIONS

#: The bodies with a name of their own in the document, referred to as components.
COMPONENTS = Components(
    {
        "Stats": stats.Stats,
        "PassSummary": passes.PassSummary,
        "Pass": passes.Pass,
        "Verdict": verify.Verdict,
        "Jwk": passes.Jwk,
        "Error": Error,
        "Application": apps.Application,
        "ApplicationSummary": apps.ApplicationSummary,
        "ApplicationPage": apps.ApplicationPage,
        "Step": apps.Step,
        "Driver": apps.Driver,
        "DriverInput": fields.DriverInput,
        "AttachmentInfo": apps.AttachmentInfo,
        "UploadedAttachment": apps.UploadedAttachment,
        "HistoryEntry": apps.HistoryEntry,
        "Decision": decisions.Decision,
        "DecisionRequest": decisions.DecisionRequest,
        "BulkDecisionRequest": decisions.BulkDecisionRequest,
        "BulkDecisionResults": decisions.BulkDecisionResults,
        "BulkDecisionResult": decisions.BulkDecisionResult,
        "ApplicationCreate": fields.ApplicationCreate,
        "WorkResumptionCreate": fields.WorkResumptionCreate,
        "VehiclePassCreate": fields.VehiclePassCreate,
        "ApplicationPatch": fields.ApplicationPatch,
        "WorkResumptionPatch": fields.WorkResumptionPatch,
        "VehiclePassPatch": fields.VehiclePassPatch,
        "BatchItemResult": batches.BatchItemResult,
        "Token": accounts.Token,
        "Me": accounts.Me,
        "Demand": demands.Demand,
        "DemandSummary": demands.DemandSummary,
        "DemandEvent": demands.DemandEvent,
        "DemandPage": demands.DemandPage,
    }
)

#: The one error answer every operation refers to, with a description of when it is given.
ERROR_RESPONSE = {
    "description": "An error; `error` is a stable code, `message` is for people.",
    "content": {"application/json": {"schema": {"$ref": PREFIX + "Error"}}},
}
#: What any operation answers before its own checks (permits/inputs.py): 400 for a control
#: character anywhere or JSON nested too deeply; 413 for a JSON body above MAX_JSON_LENGTH.
EDGE_REFUSAL = "A control character (such as NUL) in the path, query, form or JSON."
TOO_LARGE = "The JSON body is larger than MAX_JSON_LENGTH."


def _schema(body: Any) -> dict[str, Any]:
    """A model, a component's name, or a schema written out (a dict)."""
    if isinstance(body, str):
        return {"$ref": PREFIX + body}
    if isinstance(body, dict):
        return body
    return COMPONENTS.schema_of(body)


def _param(name: str, where: str, schema: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "schema": _schema(schema), **extra}


def _parameter(param: str | dict[str, Any]) -> dict[str, Any]:
    """A shared parameter by name, or one of the operation's own (its schema may be a type)."""
    if isinstance(param, str):
        return {"$ref": f"#/components/parameters/{param}"}
    return {**param, "schema": _schema(param["schema"])}


def _operation(spec: dict[str, Any]) -> dict[str, Any]:
    """One operation of the table (see views/api/operations.py) in the document's form."""
    op = {k: v for k, v in spec.items() if k not in ("body", "ok", "errors", "content")}
    if "parameters" in spec:
        op["parameters"] = [_parameter(param) for param in spec["parameters"]]
    media = spec.get("content", "application/json")
    if "body" in spec:
        content = {media: {"schema": _schema(spec["body"])}}
        op["requestBody"] = {"required": True, "content": content}
    responses: dict[str, Any] = {}
    for status, (body, description, *extra) in spec.get("ok", {}).items():
        answer: dict[str, Any] = {"description": description}
        if body is not None:
            answer["content"] = {"application/json": {"schema": _schema(body)}}
        responses[str(status)] = {**answer, **(extra[0] if extra else {})}
    for status, description in spec.get("errors", {}).items():
        responses[str(status)] = {"$ref": "#/components/responses/Error"}
        if description:
            responses[str(status)]["description"] = description
    error = "#/components/responses/Error"
    responses.setdefault("400", {"$ref": error, "description": EDGE_REFUSAL})
    if media == "application/json" and "body" in spec:
        responses.setdefault("413", {"$ref": error, "description": TOO_LARGE})
    op["responses"] = responses
    return op


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    paths: dict[str, dict[str, Any]] = {}
    for path, method, spec in [*OPERATIONS, *DEMAND_OPERATIONS]:
        paths.setdefault(path, {})[method] = _operation(spec)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "permits API",
            "version": "1",
            "description": (
                "Work-resumption permits and vehicle passes. Clients other than the same-origin "
                "browser send `Authorization: Bearer <token>`; a token comes from `flask users "
                "token EMAIL` or the account page. Errors are JSON with a 4xx status."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "Same-origin browser calls; unsafe methods need X-CSRFToken.",
                },
            },
            "parameters": {
                "ApplicationId": _param("application_id", "path", RowId, required=True),
                "PassNumber": _param("number", "path", PassNumber, required=True),
                "AttachmentId": _param("attachment_id", "path", RowId, required=True),
            },
            "responses": {"Error": ERROR_RESPONSE},
            "schemas": COMPONENTS.schemas(),
        },
    }


SPEC = document()


@bp.get("/openapi.json")
@public
def openapi_json() -> Response:
    return jsonify(SPEC)
