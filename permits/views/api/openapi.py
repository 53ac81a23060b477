"""The OpenAPI 3.1 description of API v1, served at /api/v1/openapi.json.

A test compares it with the routes, so a new endpoint without its description fails the suite.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from permits.models import CargoCategory, Kind, VehicleType
from permits.permissions import public
from permits.services.applications import ATTACHMENT_PURPOSES, FILE_SIGNATURES
from permits.services.reviews import REJECT_REASONS
from permits.views.api import bp
from permits.views.api.applications import MAX_PAGE
from permits.workflow import Action, State

ERROR_RESPONSE = {
    "description": "An error; `error` is a stable code, `message` is for people.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": "#/components/responses/Error"} for status in statuses}


def _error(status: int, description: str) -> dict[str, Any]:
    """One error status with a description of when this operation answers with it."""
    return {str(status): {"$ref": "#/components/responses/Error", "description": description}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}, **extra}


# The enumerations come from the code, so the document cannot drift from what is accepted.
KINDS = [k.value for k in Kind]
STATES = [s.value for s in State]
VEHICLE_TYPES = [v.value for v in VehicleType]
CARGO_CATEGORIES = [c.value for c in CargoCategory]
DECISION_ACTIONS = [Action.APPROVE.value, Action.RETURN.value, Action.REJECT.value]
REASON_CODES = list(REJECT_REASONS)
CONTENT_TYPES = [content_type for _signature, content_type, _extension in FILE_SIGNATURES]

DATE = {"type": "string", "format": "date"}
NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
CODE6 = {"type": "string", "pattern": "^[0-9]{6}$"}
NULLABLE_CODE6 = {"type": ["string", "null"], "pattern": "^[0-9]{6}$"}

#: What the API answers with: the fields common to both kinds, then each kind's own.
COMMON_OUT: dict[str, Any] = {
    "id": {"type": "integer"},
    "kind": {"type": "string", "enum": KINDS},
    "status": {"type": "string", "enum": STATES},
    "round": {
        "type": "integer",
        "minimum": 0,
        "description": "How many times it was submitted (0 for a draft never submitted)",
    },
    "step": {
        "anyOf": [_ref("Step"), {"type": "null"}],
        "description": "The step it waits at; null unless `status` is `in_review`",
    },
    "enterprise": {
        "type": "object",
        "required": ["uscc", "name"],
        "properties": {
            "uscc": {"type": "string", "description": "Unified social credit code (18 characters)"},
            "name": {"type": "string"},
        },
    },
    "district": {
        **CODE6,
        "description": (
            "The district that routes it: the site's district for work resumption; for a vehicle "
            "pass the origin, or the destination when only that lies in the city (the "
            "enterprise's district until one is known)"
        ),
    },
    "valid_until": {**NULLABLE_DATE, "description": "Last day of validity (inclusive)"},
    "created_at": TIME,
    "updated_at": TIME,
    "submitted_at": {**NULLABLE_TIME, "description": "The latest submission; null for a draft"},
    "pass": {"type": "null", "description": "The issued pass; always null for now"},
}
WORK_RESUMPTION_OUT: dict[str, Any] = {
    "site_address": {"type": ["string", "null"], "maxLength": 300},
    "resume_date": {**NULLABLE_DATE, "description": "First day of work on site"},
    "staff_on_site": {"type": ["integer", "null"], "minimum": 1, "maximum": 100_000},
    "contact_name": {
        "type": "string",
        "maxLength": 50,
        "description": "Empty when neither given nor known for the enterprise",
    },
    "contact_phone": {
        "type": "string",
        "description": "11-digit mainland mobile number, or empty when not known",
    },
    "closed_loop": {
        "type": ["boolean", "null"],
        "description": "Whether staff live and work in a closed loop",
    },
}
VEHICLE_PASS_OUT: dict[str, Any] = {
    "plate": {
        "type": ["string", "null"],
        "description": "Mainland plate, upper case without separators (8 characters for "
        "new-energy vehicles)",
    },
    "vehicle_type": {"type": ["string", "null"], "enum": [*VEHICLE_TYPES, None]},
    "origin": {**NULLABLE_CODE6, "description": "County-level administrative division code"},
    "destination": {
        **NULLABLE_CODE6,
        "description": "County-level administrative division code",
    },
    "cargo_category": {"type": ["string", "null"], "enum": [*CARGO_CATEGORIES, None]},
    "valid_from": {**NULLABLE_DATE, "description": "First day of validity"},
}


def _application_schema(*, full: bool) -> dict[str, Any]:
    """Application (full: with drivers, attachments, history) or ApplicationSummary."""
    properties = {**COMMON_OUT, **WORK_RESUMPTION_OUT, **VEHICLE_PASS_OUT}
    required = list(COMMON_OUT)
    vehicle_required = list(VEHICLE_PASS_OUT)
    if full:
        properties.update(
            drivers={
                "type": "array",
                "items": _ref("Driver"),
                "description": "Vehicle passes only: the drivers, in order",
            },
            attachments={"type": "array", "items": _ref("AttachmentInfo")},
            history={
                "type": "array",
                "items": _ref("HistoryEntry"),
                "description": "Every submission, decision and withdrawal, oldest first",
            },
        )
        required += ["attachments", "history"]
        vehicle_required.append("drivers")
    return {
        "type": "object",
        "description": (
            "Work-resumption applications carry "
            + ", ".join(f"`{name}`" for name in WORK_RESUMPTION_OUT)
            + "; vehicle passes carry "
            + ", ".join(f"`{name}`" for name in vehicle_required)
            + ". Fields not filled in yet are null."
        ),
        "required": required,
        "properties": properties,
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": Kind.WORK_RESUMPTION.value}}},
                "then": {"required": list(WORK_RESUMPTION_OUT)},
            },
            {
                "if": {"properties": {"kind": {"const": Kind.VEHICLE_PASS.value}}},
                "then": {"required": vehicle_required},
            },
        ],
    }


#: What a client sends: the fields it gives are checked (a draft may lack the others, submit
#: checks completeness); null, "" or [] clears a field; a field of the other kind is a 422.
WORK_RESUMPTION_IN: dict[str, Any] = {
    "site_address": {"type": ["string", "null"], "maxLength": 300},
    "district": {
        **CODE6,
        "description": "A district of the city; defaults to the enterprise's district",
    },
    "resume_date": {**NULLABLE_DATE, "description": "Not in the past"},
    "staff_on_site": {"type": ["integer", "null"], "minimum": 1, "maximum": 100_000},
    "contact_name": {
        "type": "string",
        "maxLength": 50,
        "description": "Defaults to the enterprise's contact",
    },
    "contact_phone": {
        "type": "string",
        "description": "11-digit mainland mobile number (spaces, dashes, +86 are removed); "
        "defaults to the enterprise's contact",
        "examples": ["13812345678"],
    },
    "closed_loop": {"type": "boolean"},
    "valid_until": {
        **NULLABLE_DATE,
        "description": "Not before resume_date, and at most MAX_VALIDITY_DAYS (30 by default) "
        "days including both ends",
    },
}
VEHICLE_PASS_IN: dict[str, Any] = {
    "plate": {
        "type": ["string", "null"],
        "description": "Mainland plate: a province character, a letter and 5 letters or digits "
        "(6 for new-energy vehicles); the tractor plate for semi-trailers",
        "examples": ["沪A12345", "沪AD12345"],
    },
    "vehicle_type": {"type": ["string", "null"], "enum": [*VEHICLE_TYPES, None]},
    "drivers": {
        "type": ["array", "null"],
        "items": _ref("DriverInput"),
        "description": "At least one and at most MAX_DRIVERS (3 by default); all-blank rows "
        "are skipped; replaces the whole list",
    },
    "origin": {
        **NULLABLE_CODE6,
        "description": "6-digit county-level code; the origin or the destination must be a "
        "district of the city",
    },
    "destination": {**NULLABLE_CODE6, "description": "6-digit county-level code"},
    "cargo_category": {"type": ["string", "null"], "enum": [*CARGO_CATEGORIES, None]},
    "valid_from": {**NULLABLE_DATE, "description": "Not in the past"},
    "valid_until": {
        **NULLABLE_DATE,
        "description": "Not before valid_from, and at most MAX_VALIDITY_DAYS (30 by default) "
        "days including both ends",
    },
}


def _fields_schema(kind: Kind, fields: dict[str, Any], *, create: bool) -> dict[str, Any]:
    kind_property = {"type": "string", "const": kind.value}
    if not create:
        kind_property["description"] = "Optional; the kind of an application cannot change"
    return {
        "type": "object",
        "required": ["kind"] if create else [],
        "properties": {"kind": kind_property, **fields},
        "additionalProperties": False,
    }


APPLICATION_FIELD_ERRORS = (
    "Invalid fields: `fields` maps each field to its message (`kind`, `body` when the body is "
    "not a JSON object, `drivers.N.name` etc. for a driver row, `origin` when neither end is "
    "in the city)"
)


SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "permits API",
        "version": "1",
        "description": (
            "Work-resumption permits and vehicle passes. Clients other than the same-origin "
            "browser send `Authorization: Bearer <token>`; a token comes from `flask users token "
            "EMAIL` or the account page. Errors are JSON with a 4xx status."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearerAuth": []}, {"sessionCookie": []}],
    "paths": {
        "/me": {
            "get": {
                "operationId": "getMe",
                "summary": "The account the token or session belongs to",
                "responses": {
                    "200": {
                        "description": "The account",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Me"}}
                        },
                    },
                    **_errors(401, 429),
                },
            }
        },
        "/tokens": {
            "get": {
                "operationId": "listTokens",
                "summary": "The caller's API tokens (never the secrets)",
                "responses": {
                    "200": {
                        "description": "The tokens",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["tokens"],
                                    "properties": {
                                        "tokens": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Token"},
                                        }
                                    },
                                }
                            }
                        },
                    },
                    **_errors(401, 429),
                },
            }
        },
        "/tokens/{token_id}": {
            "delete": {
                "operationId": "revokeToken",
                "summary": "Revoke one of the caller's tokens",
                "parameters": [
                    {
                        "name": "token_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The revoked token",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Token"}}
                        },
                    },
                    **_errors(400, 401, 404, 429),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    },
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
        "responses": {"Error": ERROR_RESPONSE},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "message", "fields"],
                "properties": {
                    "error": {"type": "string", "examples": ["invalid", "conflict"]},
                    "message": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "A message for each field that was wrong",
                    },
                },
            },
            "Token": {
                "type": "object",
                "required": ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"],
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "prefix": {"type": "string", "description": "The token's first characters"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "last_used_at": {"type": ["string", "null"], "format": "date-time"},
                    "revoked_at": {"type": ["string", "null"], "format": "date-time"},
                },
            },
            "Me": {
                "type": "object",
                "required": ["id", "email", "name", "role"],
                "properties": {
                    "id": {"type": "integer"},
                    "email": {"type": "string"},
                    "name": {"type": "string"},
                    "role": {
                        "type": "string",
                        "enum": ["enterprise", "approver", "checkpoint", "admin", "supervisor"],
                    },
                    "enterprise": {
                        "type": "object",
                        "properties": {
                            "uscc": {"type": "string"},
                            "name": {"type": "string"},
                            "district": {"type": "string"},
                        },
                    },
                    "department": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "scope": {"type": "string"}},
                    },
                    "checkpoint": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
                    },
                },
            },
        },
    },
}


@bp.get("/openapi.json")
@public
def openapi_json() -> Response:
    return jsonify(SPEC)
