"""The OpenAPI 3.1 description of API v1, served at /api/v1/openapi.json.

A test compares it with the routes, so a new endpoint without its description fails the suite.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from permits.database import MAX_ROW_ID
from permits.models import CargoCategory, Kind, VehicleType
from permits.passes.token import Result
from permits.permissions import public
from permits.services.attachments import ATTACHMENT_PURPOSES, FILE_SIGNATURES
from permits.services.batch_review import MAX_BULK
from permits.services.batches import BATCH_LIMIT
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
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


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
#: An id in a path: any other number matches no route (a 404).
ROW_ID = {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID}
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
    "pass": {
        "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/PassSummary"}],
        "description": "The issued pass of an approved application, else null",
    },
    "renewal_of": {
        "type": ["string", "null"],
        "description": "The number of the pass this application renews",
    },
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
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"kind": kind_property, **fields},
        "additionalProperties": False,
    }
    if create:
        schema["required"] = ["kind"]
    return schema


APPLICATION_FIELD_ERRORS = (
    "Invalid fields: `fields` maps each field to its message (`kind`, `body` when the body is "
    "not a JSON object, `drivers.N.name` etc. for a driver row, `origin` when neither end is "
    "in the city; `plate` or `drivers.N.id_number` when the vehicle or driver is already on "
    "another active or pending pass for overlapping days, naming that pass or application)"
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
                        "schema": ROW_ID,
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
        "/applications": {
            "post": {
                "operationId": "createApplication",
                "summary": "Create a draft application for the caller's enterprise",
                "description": (
                    "Enterprise accounts only. The given fields must be valid; the others may be "
                    "filled in later with PATCH. A work-resumption draft takes the enterprise's "
                    "contact when none is given."
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ApplicationCreate")}},
                },
                "responses": {
                    "201": _json(
                        _ref("Application"),
                        "The new draft",
                        headers={
                            "Location": {
                                "description": "The URL of the application",
                                "schema": {"type": "string", "format": "uri-reference"},
                            }
                        },
                    ),
                    **_error(400, "The CSRF token of a session call is missing or wrong"),
                    **_errors(401),
                    **_error(403, "Not an enterprise account"),
                    **_error(422, APPLICATION_FIELD_ERRORS),
                },
            },
            "get": {
                "operationId": "listApplications",
                "summary": "List the applications the caller may see, a page at a time",
                "description": (
                    "An enterprise sees its own applications; an approver those waiting at or "
                    "decided by its department; admins and supervisors all of them. With "
                    "`step=mine` an approver gets its queue instead: what waits at its step, "
                    "soonest due (so overdue) first; `status` and `order` do not apply there. "
                    "Follow `next_cursor` for the next page."
                ),
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": STATES},
                    },
                    {
                        "name": "kind",
                        "in": "query",
                        "schema": {"type": "string", "enum": KINDS},
                    },
                    {
                        "name": "step",
                        "in": "query",
                        "description": "`mine`: the approver's queue",
                        "schema": {"type": "string", "enum": ["mine"]},
                    },
                    {
                        "name": "order",
                        "in": "query",
                        "schema": {
                            "type": "string",
                            "enum": ["newest", "oldest"],
                            "default": "newest",
                        },
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "The `next_cursor` of the previous page (opaque)",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "description": f"Page size; values outside 1..{MAX_PAGE} are clamped",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_PAGE,
                            "default": 20,
                        },
                    },
                ],
                "responses": {
                    "200": _json(_ref("ApplicationPage"), "A page of applications"),
                    **_error(400, "status, kind, limit, order or cursor is not valid"),
                    **_errors(401),
                    **_error(
                        403, "A checkpoint account, or step=mine from someone not an approver"
                    ),
                },
            },
        },
        "/applications/batch": {
            "post": {
                "operationId": "createApplicationBatch",
                "summary": f"Create up to {BATCH_LIMIT} vehicle-pass drafts in one call",
                "description": (
                    "Enterprise accounts only. Each item is a vehicle application (`kind` may be "
                    "omitted; any other kind is refused) and is checked exactly as "
                    "`POST /applications` checks it, including conflicts: a plate may not hold "
                    "two active or pending passes, nor a driver be on two vehicles' passes, for "
                    "overlapping days (inclusive calendar days). Within the call, an item that "
                    "repeats an earlier item's plate (or puts its driver on another plate) for "
                    "overlapping days is refused, naming `item N`. The valid items become "
                    "drafts of one batch, to be submitted one by one with "
                    "`POST /applications/{id}/submit`; the invalid ones create nothing. The answer "
                    "has one result per item, in order. All or nothing on an unexpected error."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["applications"],
                                "properties": {
                                    "applications": {
                                        "type": "array",
                                        "minItems": 1,
                                        "maxItems": BATCH_LIMIT,
                                        "items": {
                                            "description": "The fields of a vehicle application, "
                                            "as for POST /applications (`kind` optional)",
                                            "type": "object",
                                            "properties": {
                                                "kind": {
                                                    "type": "string",
                                                    "const": Kind.VEHICLE_PASS.value,
                                                },
                                                **VEHICLE_PASS_IN,
                                            },
                                            "additionalProperties": False,
                                        },
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["batch", "results"],
                            "properties": {
                                "batch": {
                                    "type": ["integer", "null"],
                                    "description": "The batch's id; null when no item was valid",
                                },
                                "results": {
                                    "type": "array",
                                    "description": "One per item, in the order sent",
                                    "items": _ref("BatchItemResult"),
                                },
                            },
                        },
                        "What became of each item",
                    ),
                    **_error(400, "The CSRF token of a session call is missing or wrong"),
                    **_errors(401),
                    **_error(403, "Not an enterprise account"),
                    **_error(
                        422,
                        "The body is not an object with an `applications` list, the list is "
                        f"empty, or it has more than {BATCH_LIMIT} items (`fields.applications`); "
                        "nothing is created",
                    ),
                },
            }
        },
        "/applications/{application_id}": {
            "get": {
                "operationId": "getApplication",
                "summary": "The whole file of an application, with its drivers, files and history",
                "parameters": [{"$ref": "#/components/parameters/ApplicationId"}],
                "responses": {
                    "200": _json(_ref("Application"), "The application"),
                    **_errors(401),
                    **_error(403, "The account must change its password first"),
                    **_error(404, "No such application, or the caller may not see it"),
                },
            },
            "patch": {
                "operationId": "updateApplication",
                "summary": "Change fields of a draft or returned application",
                "description": (
                    "Only the given fields change; null, an empty string or an empty list "
                    "clears one."
                ),
                "parameters": [{"$ref": "#/components/parameters/ApplicationId"}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ApplicationPatch")}},
                },
                "responses": {
                    "200": _json(_ref("Application"), "The changed application"),
                    **_error(400, "The CSRF token of a session call is missing or wrong"),
                    **_errors(401),
                    **_error(403, "Not an enterprise account"),
                    **_error(404, "No such application, or not the caller's enterprise's"),
                    **_error(409, "The application is neither a draft nor returned"),
                    **_error(422, APPLICATION_FIELD_ERRORS + "; `kind` when it would change"),
                },
            },
        },
        "/applications/{application_id}/attachments": {
            "post": {
                "operationId": "addAttachment",
                "summary": "Upload a file (e.g. the epidemic prevention plan) to an application",
                "description": (
                    "PDF, JPEG or PNG, judged by the content, not the name; the stored name is "
                    "the cleaned given name with the extension of the detected type. Only while "
                    "the application is a draft or returned."
                ),
                "parameters": [{"$ref": "#/components/parameters/ApplicationId"}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file", "purpose"],
                                "properties": {
                                    "file": {
                                        "type": "string",
                                        "contentMediaType": "application/octet-stream",
                                        "description": "A PDF, JPEG or PNG file, at most "
                                        "MAX_CONTENT_LENGTH (10 MiB by default)",
                                    },
                                    "purpose": {
                                        "type": "string",
                                        "enum": list(ATTACHMENT_PURPOSES),
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(_ref("UploadedAttachment"), "The stored file"),
                    **_error(400, "The CSRF token of a session call is missing or wrong"),
                    **_errors(401),
                    **_error(403, "Not an enterprise account"),
                    **_error(404, "No such application, or not the caller's enterprise's"),
                    **_error(409, "The application is neither a draft nor returned"),
                    **_error(413, "The upload is larger than MAX_CONTENT_LENGTH"),
                    **_error(
                        422,
                        "`purpose` is not listed, or `file` is missing, empty or not a PDF, "
                        "JPEG or PNG",
                    ),
                },
            }
        },
        "/applications/{application_id}/attachments/{attachment_id}": {
            "get": {
                "operationId": "getAttachment",
                "summary": "Download a file of an application",
                "parameters": [
                    {"$ref": "#/components/parameters/ApplicationId"},
                    {"$ref": "#/components/parameters/AttachmentId"},
                ],
                "responses": {
                    "200": {
                        "description": "The file, as an attachment under its stored name",
                        "headers": {
                            "Content-Disposition": {
                                "description": "`attachment` with the file's name",
                                "schema": {"type": "string"},
                            },
                            "Cache-Control": {
                                "description": "`private, no-store`",
                                "schema": {"type": "string"},
                            },
                        },
                        "content": {content_type: {} for content_type in CONTENT_TYPES},
                    },
                    **_errors(401),
                    **_error(403, "The account must change its password first"),
                    **_error(
                        404,
                        "No such file of this application, the caller may not see the "
                        "application, or the stored file is gone",
                    ),
                },
            }
        },
        "/applications/{application_id}/submit": {
            "post": {
                "operationId": "submitApplication",
                "summary": "Send a complete draft (or a fixed returned application) to review",
                "description": "Review starts at step 1, also after a return.",
                "parameters": [{"$ref": "#/components/parameters/ApplicationId"}],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["id", "status", "step"],
                            "properties": {
                                "id": {"type": "integer"},
                                "status": {"type": "string", "const": State.IN_REVIEW.value},
                                "step": _ref("Step"),
                            },
                        },
                        "Submitted: where it waits now",
                    ),
                    **_error(400, "The CSRF token of a session call is missing or wrong"),
                    **_errors(401),
                    **_error(403, "Not an enterprise account"),
                    **_error(404, "No such application, or not the caller's enterprise's"),
                    **_error(
                        409, "Already submitted, decided or withdrawn, or changed in the meantime"
                    ),
                    **_error(
                        422,
                        "Not complete: `fields` names each missing or wrong field "
                        "(`prevention_plan` when a work-resumption application has no such file; "
                        "dates in the past or too far apart; `plate` or `drivers.N.id_number` "
                        "when the vehicle or a driver is already on another active or pending "
                        "pass for overlapping days, naming it)",
                    ),
                },
            }
        },
        "/applications/{application_id}/withdraw": {
            "post": {
                "operationId": "withdrawApplication",
                "summary": "Take back a draft, returned application or one under review; final",
                "parameters": [{"$ref": "#/components/parameters/ApplicationId"}],
                "responses": {
                    "200": _json(_ref("Application"), "The withdrawn application"),
                    **_error(400, "The CSRF token of a session call is missing or wrong"),
                    **_errors(401),
                    **_error(403, "Not an enterprise account"),
                    **_error(404, "No such application, or not the caller's enterprise's"),
                    **_error(409, "Approved, rejected or withdrawn already"),
                },
            }
        },
        "/applications/{application_id}/decisions": {
            "post": {
                "operationId": "decideApplication",
                "summary": "Approve, return or reject the step an application waits at",
                "description": (
                    "For an approver of the department and scope of the current step who has "
                    "signed no other step of this application. Approving the last step approves "
                    "the application; a return sends it back to the enterprise; a reject is "
                    "final. Of two approvers deciding at once, exactly one succeeds."
                ),
                "parameters": [{"$ref": "#/components/parameters/ApplicationId"}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("DecisionRequest")}},
                },
                "responses": {
                    "201": _json(
                        {
                            "type": "object",
                            "required": ["decision", "application"],
                            "properties": {
                                "decision": _ref("Decision"),
                                "application": _ref("Application"),
                            },
                        },
                        "The decision, and the application after it",
                    ),
                    **_error(400, "The CSRF token of a session call is missing or wrong"),
                    **_errors(401),
                    **_error(
                        403,
                        "Not an approver; the application does not wait at the caller's "
                        "department's step; or the caller signed another step of it "
                        "(separation of duties)",
                    ),
                    **_error(404, "No such application, or the caller may not see it"),
                    **_error(
                        409,
                        "Already decided: the application is no longer in review or someone "
                        "decided this step first; `error` is `already_decided`. Or, on the "
                        "last step, `error` is `conflict`: another pass issued meanwhile holds "
                        "the plate or a driver for overlapping days (`fields` names it); return "
                        "or reject instead",
                    ),
                    **_error(
                        422,
                        "`decision` is not approve, return or reject; `comment` is missing (a "
                        "return or reject needs one) or longer than 2000 characters; "
                        "`reason_code` is not listed",
                    ),
                },
            }
        },
        "/applications/decisions": {
            "post": {
                "operationId": "decideApplications",
                "summary": "One decision for many applications (a batch, or a page of the queue)",
                "description": (
                    f"At most {MAX_BULK} ids (repeated ids count once). Each application is "
                    "decided on its own, exactly as by `decideApplication` (state checks, "
                    "separation of duties, the pass issued on the last step, each decision "
                    "recorded and audited): one that cannot be decided is reported in its "
                    "result and does not undo the others. Ids the caller may not see are "
                    "reported as `not_found`. A wrong `decision`, `comment` or `reason_code` "
                    "is the same for every id and refuses the whole call (422)."
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("BulkDecisionRequest")}},
                },
                "responses": {
                    "200": _json(
                        _ref("BulkDecisionResults"),
                        "One result per distinct id, in the order given",
                    ),
                    **_error(400, "The CSRF token of a session call is missing or wrong"),
                    **_errors(401),
                    **_error(403, "Not an approver"),
                    **_error(
                        422,
                        f"`ids` is not a list of 1 to {MAX_BULK} numbers; `decision` is not "
                        "approve, return or reject; `comment` is missing (a return or reject "
                        "needs one) or longer than 2000 characters; `reason_code` is not listed",
                    ),
                },
            }
        },
        "/passes/{number}": {
            "get": {
                "operationId": "getPass",
                "summary": "A pass, with its PP1 QR text and control code",
                "parameters": [{"$ref": "#/components/parameters/PassNumber"}],
                "responses": {
                    "200": _json(_ref("Pass"), "The pass"),
                    **_errors(401),
                    **_error(404, "No such pass, or not yours to see"),
                },
            }
        },
        "/passes/{number}/pdf": {
            "get": {
                "operationId": "getPassPdf",
                "summary": "The printable PDF; the same pass gives the same bytes (ETag)",
                "parameters": [{"$ref": "#/components/parameters/PassNumber"}],
                "responses": {
                    "200": {
                        "description": "The PDF",
                        "content": {
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    "304": {"description": "Unchanged since the ETag sent in If-None-Match"},
                    **_errors(401),
                    **_error(404, "No such pass, or not yours to see"),
                    **_error(410, "The pass is revoked: it has no PDF any more (error `revoked`)"),
                },
            }
        },
        "/passes/{number}/revoke": {
            "post": {
                "operationId": "revokePass",
                "summary": "Revoke a pass (approvers of its departments, admins)",
                "parameters": [{"$ref": "#/components/parameters/PassNumber"}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["reason"],
                                "properties": {"reason": {"type": "string", "maxLength": 500}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(_ref("Pass"), "The revoked pass"),
                    **_errors(400, 401),
                    **_error(403, "Not an approver of this pass's departments, nor an admin"),
                    **_error(404, "No such pass, or not yours to see"),
                    **_error(409, "Revoked already"),
                    **_error(422, "The reason is missing or too long"),
                },
            }
        },
        "/verify": {
            "post": {
                "operationId": "verify",
                "summary": "A verdict for a QR text, a control code or a plate (checkpoint, admin)",
                "description": "Every call is logged as a scan. Results: valid, expired, "
                "not_yet_valid, revoked, bad_signature, unknown_key, malformed, wrong_prefix, "
                "not_found. `reason` is in the caller's language.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "qr": {"type": "string", "description": "The PP1 text"},
                                    "code": {"type": "string", "description": "Control code"},
                                    "plate": {"type": "string"},
                                    "checkpoint": {"type": "string", "description": "Its code"},
                                },
                                "description": "Exactly one of qr, code or plate",
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(_ref("Verdict"), "The verdict"),
                    **_errors(400, 401, 403, 429),
                    **_error(422, "Not exactly one of qr, code, plate; or an unknown checkpoint"),
                },
            }
        },
        "/scans": {
            "post": {
                "operationId": "uploadScans",
                "summary": "Scans a scanner decided offline, uploaded when the network returns",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["scans"],
                                "properties": {
                                    "scans": {
                                        "type": "array",
                                        "maxItems": 1000,
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "result", "scanned_at"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "number": {"type": ["string", "null"]},
                                                "result": {"type": "string"},
                                                "scanned_at": TIME,
                                            },
                                        },
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["received", "stored", "refused"],
                            "properties": {
                                "received": {"type": "integer"},
                                "stored": {"type": "integer", "description": "New ones"},
                                "refused": {
                                    "type": "array",
                                    "description": "Scans not stored, and why: a result no "
                                    "scanner gives, a time in the future (beyond 5 minutes of "
                                    "clock skew) or before the account or the pass existed, or "
                                    "a pass found offline that the server does not know",
                                    "items": {
                                        "type": "object",
                                        "required": ["index", "id", "error", "message", "fields"],
                                        "properties": {
                                            "index": {"type": "integer"},
                                            "id": {"type": "string"},
                                            "error": {"type": "string"},
                                            "message": {"type": "string"},
                                            "fields": {
                                                "type": "object",
                                                "additionalProperties": {"type": "string"},
                                            },
                                        },
                                    },
                                },
                            },
                        },
                        "How many arrived, how many were new (ids seen before are skipped), "
                        "and the ones refused",
                    ),
                    **_errors(400, 401, 403, 422, 429),
                },
            }
        },
        "/keys": {
            "get": {
                "operationId": "getKeys",
                "summary": "JWKS of every key whose passes may still be valid",
                "security": [],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["keys"],
                            "properties": {"keys": {"type": "array", "items": _ref("Jwk")}},
                        },
                        "The published keys",
                    )
                },
            }
        },
        "/revocations": {
            "get": {
                "operationId": "getRevocations",
                "summary": "Pass numbers revoked (or reinstated) after feed position `since`",
                "security": [],
                "parameters": [
                    {
                        "name": "since",
                        "in": "query",
                        "required": False,
                        "schema": {**ROW_ID, "default": 0},
                        "description": "The `counter` of the previous answer (0 the first time)",
                    }
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["counter", "revoked"],
                            "properties": {
                                "counter": {"type": "integer", "minimum": 0},
                                "revoked": {
                                    "type": "array",
                                    "items": {"type": "string", "pattern": "^[0-9]{12}$"},
                                },
                                "reinstated": {
                                    "type": "array",
                                    "items": {"type": "string", "pattern": "^[0-9]{12}$"},
                                    "description": "Passes listed as revoked while their "
                                    "enterprise was suspended, valid again: remove them from "
                                    "the held list",
                                },
                            },
                        },
                        "Revoked and reinstated pass numbers in feed order, and the position "
                        "to ask from next",
                    ),
                    **_error(400, "`since` is not a whole number"),
                },
            }
        },
        "/stats": {
            "get": {
                "operationId": "getStats",
                "summary": "Supervision figures (admins and supervisors)",
                "description": (
                    "The figures of the supervision dashboard, from the same service. Decision "
                    "times are hours from entering a step (the submission for step 1, the "
                    "approval of the step before for the others) to its decision, over the "
                    "decisions of the last 90 days (at most the newest 20,000); common problems "
                    "come from the same decisions. Days are calendar days in the service's "
                    "time zone; scans cover the last 24 hours, anomalies the last 7 days. "
                    "The figures are a snapshot exact at `generated_at`, recomputed at most "
                    "once per PERMITS_SUPERVISION_MAX_AGE_SECONDS (60 by default); the "
                    "dashboard shows the same snapshot."
                ),
                "responses": {
                    "200": _json(_ref("Stats"), "The figures at `generated_at`"),
                    **_error(401, "No valid token or session"),
                    **_error(403, "Neither an admin nor a supervisor"),
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
        "parameters": {
            "ApplicationId": {
                "name": "application_id",
                "in": "path",
                "required": True,
                "schema": ROW_ID,
            },
            "PassNumber": {
                "name": "number",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": "^[0-9]{12}$"},
            },
            "AttachmentId": {
                "name": "attachment_id",
                "in": "path",
                "required": True,
                "schema": ROW_ID,
            },
        },
        "responses": {"Error": ERROR_RESPONSE},
        "schemas": {
            "Stats": {
                "type": "object",
                "required": [
                    "generated_at",
                    "passes_issued",
                    "passes_active",
                    "passes_revoked",
                    "applications",
                    "steps",
                    "overdue",
                    "common_problems",
                    "scans",
                    "anomalies",
                ],
                "properties": {
                    "generated_at": TIME,
                    "passes_issued": {"type": "integer", "minimum": 0},
                    "passes_active": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "Not revoked and not expired",
                    },
                    "passes_revoked": {"type": "integer", "minimum": 0},
                    "applications": {
                        "type": "object",
                        "required": ["by_state", "by_kind", "by_district", "per_day"],
                        "properties": {
                            "by_state": {
                                "type": "object",
                                "propertyNames": {"enum": STATES},
                                "additionalProperties": {"type": "integer"},
                            },
                            "by_kind": {
                                "type": "object",
                                "propertyNames": {"enum": KINDS},
                                "additionalProperties": {"type": "integer"},
                            },
                            "by_district": {
                                "type": "object",
                                "description": "Applications per routing district code",
                                "additionalProperties": {"type": "integer"},
                            },
                            "per_day": {
                                "type": "array",
                                "description": "Submissions per day of the last 30, oldest first",
                                "items": {
                                    "type": "object",
                                    "required": ["date", "submitted"],
                                    "properties": {
                                        "date": DATE,
                                        "submitted": {"type": "integer"},
                                    },
                                },
                            },
                        },
                    },
                    "steps": {
                        "type": "array",
                        "description": "Decision times per kind, step and signing department",
                        "items": {
                            "type": "object",
                            "required": [
                                "kind",
                                "step",
                                "department",
                                "decisions",
                                "median",
                                "p90",
                            ],
                            "properties": {
                                "kind": {"type": "string", "enum": KINDS},
                                "step": {"type": "integer", "minimum": 1},
                                "department": {"type": "string", "description": "Its code"},
                                "decisions": {"type": "integer", "minimum": 1},
                                "median": {"type": "number", "description": "Hours"},
                                "p90": {"type": "number", "description": "Hours, 90th percentile"},
                            },
                        },
                    },
                    "overdue": {
                        "type": "object",
                        "required": ["total", "by_department"],
                        "properties": {
                            "total": {"type": "integer"},
                            "by_department": {
                                "type": "array",
                                "description": "The department with the most overdue first",
                                "items": {
                                    "type": "object",
                                    "required": ["department", "scope", "count", "applications"],
                                    "properties": {
                                        "department": {"type": "string"},
                                        "scope": {
                                            "type": "string",
                                            "description": "A district code, or `city`",
                                        },
                                        "count": {"type": "integer"},
                                        "applications": {
                                            "type": "array",
                                            "items": {"type": "integer"},
                                            "description": "Ids of the most overdue (at most "
                                            "200 over all departments)",
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "common_problems": {
                        "type": "array",
                        "description": "Returns and rejections of the last 90 days by reason, "
                        "most frequent first",
                        "items": {
                            "type": "object",
                            "required": ["action", "reason_code", "count", "examples"],
                            "properties": {
                                "action": {"type": "string", "enum": ["return", "reject"]},
                                "reason_code": {
                                    "type": ["string", "null"],
                                    "enum": [*REASON_CODES, None],
                                    "description": "Null for returns",
                                },
                                "count": {"type": "integer"},
                                "examples": {
                                    "type": "array",
                                    "maxItems": 3,
                                    "items": {"type": "string"},
                                    "description": "Recent comments, long numbers cut out",
                                },
                            },
                        },
                    },
                    "scans": {
                        "type": "object",
                        "required": ["total", "hours", "by_checkpoint", "verdicts"],
                        "properties": {
                            "total": {"type": "integer"},
                            "hours": {
                                "type": "array",
                                "items": TIME,
                                "description": "Start of each of the last 24 hours (UTC)",
                            },
                            "by_checkpoint": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["checkpoint", "name", "total", "per_hour"],
                                    "properties": {
                                        "checkpoint": {
                                            "type": ["string", "null"],
                                            "description": "Its code; null for scans made "
                                            "without a checkpoint",
                                        },
                                        "name": {"type": "string"},
                                        "total": {"type": "integer"},
                                        "per_hour": {
                                            "type": "array",
                                            "items": {"type": "integer"},
                                            "description": "Scans in each of `hours`",
                                        },
                                    },
                                },
                            },
                            "verdicts": {
                                "type": "object",
                                "description": "Scans of the last 24 hours per `result` of /verify",
                                "additionalProperties": {"type": "integer"},
                            },
                        },
                    },
                    "anomalies": {
                        "type": "integer",
                        "description": "Scans flagged as anomalies in the last 7 days",
                    },
                },
            },
            "PassSummary": {
                "type": "object",
                "required": [
                    "number",
                    "status",
                    "valid_from",
                    "valid_until",
                    "control_code",
                    "url",
                ],
                "properties": {
                    "number": {"type": "string", "pattern": "^[0-9]{12}$"},
                    "status": {"type": "string", "enum": ["active", "revoked"]},
                    "valid_from": DATE,
                    "valid_until": DATE,
                    "control_code": {"type": "string", "pattern": "^[0-9A-Z]{8}$"},
                    "url": {"type": "string"},
                },
            },
            "Pass": {
                "type": "object",
                "required": [
                    "number",
                    "kind",
                    "status",
                    "control_code",
                    "qr",
                    "valid_from",
                    "valid_until",
                    "not_before",
                    "expires_at",
                    "kid",
                ],
                "properties": {
                    "number": {"type": "string", "pattern": "^[0-9]{12}$"},
                    "kind": {"type": "string", "enum": KINDS},
                    "status": {
                        "type": "string",
                        "enum": ["active", "revoked", "expired", "not_yet_valid"],
                    },
                    "control_code": {"type": "string", "pattern": "^[0-9A-Z]{8}$"},
                    "control_code_display": {"type": "string", "examples": ["ABCD-EFGH"]},
                    "valid_from": DATE,
                    "valid_until": DATE,
                    "not_before": TIME,
                    "expires_at": TIME,
                    "issued_at": TIME,
                    "plate": {"type": ["string", "null"]},
                    "kid": {"type": "string", "description": "Hex of the signing key's 8-byte id"},
                    "qr": {"type": "string", "description": "The PP1 text of the QR code"},
                    "application_id": {"type": "integer"},
                    "revoked_at": NULLABLE_TIME,
                    "revoke_reason": {"type": ["string", "null"]},
                    "pdf": {"type": "string"},
                },
            },
            "Verdict": {
                "type": "object",
                "required": ["result", "reason", "warning", "flags", "pass", "checked_at"],
                "properties": {
                    "result": {"type": "string", "enum": [r.value for r in Result]},
                    "reason": {"type": "string"},
                    "warning": {"type": "boolean", "description": "Valid, but flagged"},
                    "flags": {"type": "array", "items": {"enum": ["distance", "frequency"]}},
                    "pass": {
                        "type": ["object", "null"],
                        "description": "Only what is needed to match vehicle and driver: kind, "
                        "number, validity, enterprise, status; plate, route, cargo and drivers "
                        "(name, last 4 of the ID) for a vehicle pass; site, district, staff for "
                        "work resumption. Never a full ID or a phone number.",
                    },
                    "checked_at": TIME,
                },
            },
            "Jwk": {
                "type": "object",
                "required": ["kty", "crv", "x", "y", "kid", "nbf", "exp"],
                "properties": {
                    "kty": {"const": "EC"},
                    "crv": {"const": "P-256"},
                    "x": {"type": "string"},
                    "y": {"type": "string"},
                    "kid": {"type": "string", "description": "base64url of the 8-byte key id"},
                    "use": {"const": "sig"},
                    "alg": {"const": "ES256"},
                    "nbf": {"type": "integer", "description": "Start of the signing period"},
                    "exp": {"type": "integer", "description": "End of the signing period"},
                },
            },
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
            "Application": _application_schema(full=True),
            "ApplicationSummary": _application_schema(full=False),
            "ApplicationPage": {
                "type": "object",
                "required": ["items", "next_cursor"],
                "properties": {
                    "items": {"type": "array", "items": _ref("ApplicationSummary")},
                    "next_cursor": {
                        "type": ["string", "null"],
                        "description": "Pass as `cursor` for the next page; null on the last",
                    },
                },
            },
            "Step": {
                "type": "object",
                "description": "The workflow step an application in review waits at",
                "required": ["position", "department", "scope", "entered_at", "due_at", "overdue"],
                "properties": {
                    "position": {"type": "integer", "minimum": 1},
                    "department": {
                        "type": "string",
                        "description": "Code of the department that signs the step",
                        "examples": ["economy", "transport"],
                    },
                    "scope": {
                        "type": "string",
                        "description": "The signing department's scope: a 6-digit district code "
                        "or `city`",
                        "examples": ["310115", "city"],
                    },
                    "entered_at": TIME,
                    "due_at": TIME,
                    "overdue": {"type": "boolean"},
                },
            },
            "Driver": {
                "type": "object",
                "required": ["name", "id_number", "phone"],
                "properties": {
                    "name": {"type": "string", "maxLength": 50},
                    "id_number": {
                        "type": "string",
                        "pattern": "^[0-9]{17}[0-9X]$",
                        "description": "Resident ID number (GB 11643)",
                    },
                    "phone": {"type": "string", "pattern": "^1[3-9][0-9]{9}$"},
                },
            },
            "DriverInput": {
                "type": "object",
                "required": ["name", "id_number", "phone"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 50},
                    "id_number": {
                        "type": "string",
                        "description": "Resident ID number of 18 characters with a valid GB "
                        "11643 check character; spaces are removed, x is upper-cased; unique "
                        "within the list",
                    },
                    "phone": {
                        "type": "string",
                        "description": "11-digit mainland mobile number (spaces, dashes, +86 "
                        "are removed)",
                    },
                },
            },
            "AttachmentInfo": {
                "type": "object",
                "required": [
                    "id",
                    "purpose",
                    "filename",
                    "content_type",
                    "size",
                    "created_at",
                    "url",
                ],
                "properties": {
                    "id": {"type": "integer"},
                    "purpose": {"type": "string", "enum": list(ATTACHMENT_PURPOSES)},
                    "filename": {"type": "string"},
                    "content_type": {"type": "string", "enum": CONTENT_TYPES},
                    "size": {"type": "integer", "description": "Bytes"},
                    "created_at": TIME,
                    "url": {
                        "type": "string",
                        "format": "uri-reference",
                        "description": "Where to download it",
                    },
                },
            },
            "UploadedAttachment": {
                "type": "object",
                "required": ["id", "purpose", "filename", "content_type", "size", "sha256"],
                "properties": {
                    "id": {"type": "integer"},
                    "purpose": {"type": "string", "enum": list(ATTACHMENT_PURPOSES)},
                    "filename": {"type": "string"},
                    "content_type": {"type": "string", "enum": CONTENT_TYPES},
                    "size": {"type": "integer", "description": "Bytes"},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                },
            },
            "HistoryEntry": {
                "type": "object",
                "required": [
                    "action",
                    "round",
                    "step",
                    "department",
                    "actor",
                    "comment",
                    "reason_code",
                    "at",
                ],
                "properties": {
                    "action": {"type": "string", "enum": [a.value for a in Action]},
                    "round": {"type": "integer", "minimum": 0},
                    "step": {
                        "type": ["integer", "null"],
                        "description": "The step decided; null for a submission or withdrawal",
                    },
                    "department": {
                        "type": ["object", "null"],
                        "required": ["code", "scope"],
                        "properties": {
                            "code": {"type": "string"},
                            "scope": {"type": "string"},
                        },
                        "description": "The deciding department; null for the enterprise's acts",
                    },
                    "actor": {"type": "string", "description": "Name (or email) of who acted"},
                    "comment": {"type": "string"},
                    "reason_code": {
                        "type": ["string", "null"],
                        "enum": [*REASON_CODES, None],
                        "description": "Set on rejections only",
                    },
                    "at": TIME,
                },
            },
            "Decision": {
                "type": "object",
                "required": ["id", "action", "step", "round", "reason_code", "comment"],
                "properties": {
                    "id": {"type": "integer"},
                    "action": {"type": "string", "enum": DECISION_ACTIONS},
                    "step": {"type": "integer", "minimum": 1},
                    "round": {"type": "integer", "minimum": 1},
                    "reason_code": {
                        "type": ["string", "null"],
                        "enum": [*REASON_CODES, None],
                        "description": "Set on rejections only",
                    },
                    "comment": {"type": "string"},
                },
            },
            "DecisionRequest": {
                "type": "object",
                "required": ["decision"],
                "properties": {
                    "decision": {"type": "string", "enum": DECISION_ACTIONS},
                    "comment": {
                        "type": "string",
                        "maxLength": 2000,
                        "description": "Required to return or reject",
                    },
                    "reason_code": {
                        "type": ["string", "null"],
                        "enum": [*REASON_CODES, None],
                        "description": "Coded reason of a rejection (`other` when omitted); "
                        "ignored for approve and return",
                    },
                },
            },
            "BulkDecisionRequest": {
                "type": "object",
                "required": ["ids", "decision"],
                "properties": {
                    "ids": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "minItems": 1,
                        "maxItems": MAX_BULK,
                        "description": "The applications to decide",
                    },
                    "decision": {"type": "string", "enum": DECISION_ACTIONS},
                    "comment": {
                        "type": "string",
                        "maxLength": 2000,
                        "description": "Required to return or reject; the same for every one",
                    },
                    "reason_code": {
                        "type": ["string", "null"],
                        "enum": [*REASON_CODES, None],
                        "description": "Coded reason of a rejection (`other` when omitted)",
                    },
                },
            },
            "BulkDecisionResults": {
                "type": "object",
                "required": ["results", "decided", "refused"],
                "properties": {
                    "results": {"type": "array", "items": _ref("BulkDecisionResult")},
                    "decided": {"type": "integer", "minimum": 0},
                    "refused": {"type": "integer", "minimum": 0},
                },
            },
            "BulkDecisionResult": {
                "type": "object",
                "required": ["id", "result"],
                "properties": {
                    "id": {"type": "integer"},
                    "result": {"type": "string", "enum": ["decided", "error"]},
                    "decision": {
                        **_ref("Decision"),
                        "description": "When decided: the decision recorded",
                    },
                    "application": {
                        **_ref("ApplicationSummary"),
                        "description": "When decided: the application after it",
                    },
                    "error": {
                        "type": "string",
                        "description": "When not decided: `already_decided` (someone decided "
                        "first, or it is no longer in review), `forbidden` (not at the caller's "
                        "department's step, or the caller signed another step of it), "
                        "`not_found` (no such application, or the caller may not see it), or "
                        "another error code",
                        "examples": ["already_decided", "forbidden", "not_found"],
                    },
                    "message": {"type": "string", "description": "When not decided: why"},
                },
            },
            "ApplicationCreate": {
                "description": "`kind` and any of that kind's fields",
                "oneOf": [_ref("WorkResumptionCreate"), _ref("VehiclePassCreate")],
                "discriminator": {
                    "propertyName": "kind",
                    "mapping": {
                        Kind.WORK_RESUMPTION.value: "#/components/schemas/WorkResumptionCreate",
                        Kind.VEHICLE_PASS.value: "#/components/schemas/VehiclePassCreate",
                    },
                },
            },
            "WorkResumptionCreate": _fields_schema(
                Kind.WORK_RESUMPTION, WORK_RESUMPTION_IN, create=True
            ),
            "VehiclePassCreate": _fields_schema(Kind.VEHICLE_PASS, VEHICLE_PASS_IN, create=True),
            "ApplicationPatch": {
                "description": "Any of the fields of the application's kind",
                "anyOf": [_ref("WorkResumptionPatch"), _ref("VehiclePassPatch")],
            },
            "WorkResumptionPatch": _fields_schema(
                Kind.WORK_RESUMPTION, WORK_RESUMPTION_IN, create=False
            ),
            "VehiclePassPatch": _fields_schema(Kind.VEHICLE_PASS, VEHICLE_PASS_IN, create=False),
            "BatchItemResult": {
                "type": "object",
                "required": ["index", "id", "fields"],
                "properties": {
                    "index": {"type": "integer", "description": "The item's position, from 0"},
                    "id": {
                        "type": ["integer", "null"],
                        "description": "The new draft's id; null when the item was refused",
                    },
                    "status": {
                        "type": "string",
                        "const": State.DRAFT.value,
                        "description": "Only when the draft was created",
                    },
                    "error": {
                        "type": "string",
                        "const": "invalid",
                        "description": "Only when the item was refused",
                    },
                    "message": {"type": "string", "description": "Only when refused"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "Field → message, as for POST /applications (`plate`, "
                        "`drivers.N.id_number` for conflicts, naming the other pass number, "
                        "application id or item); empty when created",
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


def _document_edge_refusals(spec: dict[str, Any]) -> None:
    """Any operation answers 400 before its own checks for input no view may see
    (permits/inputs.py): a control character anywhere, or JSON nested too deeply; and 413
    for a JSON body above MAX_JSON_LENGTH."""
    refusal = _error(400, "A control character (such as NUL) in the path, query, form or JSON.")
    too_large = _error(413, "The JSON body is larger than MAX_JSON_LENGTH.")
    for path in spec["paths"].values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["responses"].setdefault("400", refusal["400"])
            body = operation.get("requestBody", {}).get("content", {})
            if "application/json" in body:
                operation["responses"].setdefault("413", too_large["413"])


_document_edge_refusals(SPEC)


@bp.get("/openapi.json")
@public
def openapi_json() -> Response:
    return jsonify(SPEC)
