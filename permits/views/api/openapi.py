"""The OpenAPI 3.1 description of API v1, served at /api/v1/openapi.json.

A test compares it with the routes, so a new endpoint without its description fails the suite.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from permits.permissions import public
from permits.views.api import bp

ERROR_RESPONSE = {
    "description": "An error; `error` is a stable code, `message` is for people.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": "#/components/responses/Error"} for status in statuses}


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
