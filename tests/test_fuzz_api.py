"""Schemathesis drives API v1 from its own OpenAPI document, in-process, as every role.

Whatever it sends, valid or not, the API answers without a 5xx, with a status the document lists
for that operation, and with a body that matches the documented schema.
"""

from __future__ import annotations

import base64
import contextvars
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from permits import create_app
from permits.database import RowIdConverter
from permits.extensions import db
from permits.models import ApiToken, Demand, Role, User, utcnow
from permits.services import demand_handling, demands
from permits.services.text import MESSAGES
from tests.api_helpers import token_for
from tests.conftest import test_config
from tests.factories import (
    make_application,
    make_checkpoint,
    make_pass,
    make_user,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class World:
    """A small seeded city: ids the fuzzer may aim at, and one Bearer token per role."""

    tokens: dict[Role, str]
    application_ids: list[int]
    attachment_ids: list[int]
    pass_numbers: list[str]
    token_ids: list[int]
    attachment_owner: int
    demand_ids: list[int]

    def revive_tokens(self) -> None:
        """The fuzzer may revoke the tokens it calls with (DELETE /tokens/{id}); undo that."""
        db.session.execute(
            sa.update(ApiToken).where(ApiToken.id.in_(self.token_ids)).values(revoked_at=None)
        )
        db.session.commit()


@pytest.fixture
def world(app: Flask) -> World:
    owner = make_user(Role.ENTERPRISE)
    draft = make_application(owner)
    in_review = make_application(owner, "work_resumption", submit=True)
    issued = make_pass(owner)
    step_approver = make_user(Role.APPROVER)
    checkpoint = make_user(Role.CHECKPOINT, checkpoint=make_checkpoint())
    users = {
        Role.ENTERPRISE: owner,
        Role.APPROVER: step_approver,
        Role.CHECKPOINT: checkpoint,
        Role.ADMIN: make_user(Role.ADMIN),
        Role.SUPERVISOR: make_user(Role.SUPERVISOR),
    }
    tokens = {role: token_for(user) for role, user in users.items()}
    tickets = [file_demand(owner) for _ in range(3)]  # held by the approver's department
    demand_handling.accept(step_approver, tickets[1], now=utcnow())
    demand_handling.accept(step_approver, tickets[2], now=utcnow())
    demand_handling.answer(step_approver, tickets[2], response="已处理", now=utcnow())
    world = World(
        tokens=tokens,
        application_ids=[draft.id, in_review.id, issued.application_id],
        attachment_ids=[a.id for a in in_review.attachments],
        pass_numbers=[issued.number],
        token_ids=list(db.session.scalars(sa.select(ApiToken.id))),
        attachment_owner=in_review.id,
        demand_ids=[ticket.id for ticket in tickets],
    )
    db.session.commit()
    return world


def file_demand(owner: User) -> Demand:
    return demands.file_demand(
        owner, category="staff_return", title="员工无法返岗", description="封控", now=utcnow()
    )


def isolated(app: Flask) -> Callable[..., Iterable[bytes]]:
    """The app as a server thread runs it: each request in its own context, not the test's."""

    def serve(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return list(body)
        finally:  # a server closes the body once sent; schemathesis' client does not
            getattr(body, "close", lambda: None)()

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return contextvars.Context().run(serve, environ, start_response)

    return wsgi


def published_document() -> dict[str, Any]:
    """The document as /api/v1/openapi.json serves it (it needs no database to be built)."""
    app = create_app(test_config("sqlite://"))
    document: dict[str, Any] = app.test_client().get("/api/v1/openapi.json").get_json()
    return document


schema = schemathesis.openapi.from_dict(published_document())


def aim(case: Any, world: World) -> None:
    """Most path ids are random; half of them are turned into seeded objects, so the deeper
    code runs too (decided from the generated value, so Hypothesis still shrinks and replays)."""
    targets: dict[str, list[Any]] = {
        "application_id": world.application_ids,
        "attachment_id": world.attachment_ids,
        "number": world.pass_numbers,
        "token_id": world.token_ids,
        "demand_id": world.demand_ids,
    }
    for name, value in (case.path_parameters or {}).items():
        seeded = targets.get(name)
        pick = value if isinstance(value, int) else len(str(value))
        if seeded and pick % 2 == 0:
            case.path_parameters[name] = seeded[(pick // 2) % len(seeded)]
    if case.path_parameters.get("attachment_id") in world.attachment_ids:
        case.path_parameters["application_id"] = world.attachment_owner


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_role_gets_a_documented_answer(case: Any, world: World, app: Flask) -> None:
    aim(case, world)
    wsgi = isolated(app)
    for token in world.tokens.values():
        headers = {"Authorization": f"Bearer {token}"}
        case.call_and_validate(headers=headers, checks=CHECKS, app=wsgi)
        if case.method == "DELETE":
            world.revive_tokens()
    case.call_and_validate(checks=CHECKS, app=wsgi)  # anonymous


def request_side(mode: GenerationMode) -> Any:
    """The document again, generating only requests that it accepts (positive) or only ones
    it refuses (negative)."""
    document = schemathesis.openapi.from_dict(published_document())
    document.config.generation.update(modes=[mode])
    return document


accepted = request_side(GenerationMode.POSITIVE)
refused = request_side(GenerationMode.NEGATIVE)
# A request of the documented shape may still break a rule the document cannot state (a
# plate's check, a date after another, a state that moved on): 422 or 409, never "malformed".
accepted.config.checks.positive_data_acceptance.expected_statuses = [
    "2xx", "401", "403", "404", "409", "413", "422", "429",
]  # fmt: skip


def accepted_or_documented_400(control: str) -> Callable[[Any, Any, Any], bool | None]:
    """positive_data_acceptance, but for two 400s every answer of which the document lists and
    no JSON Schema can state: a control character anywhere (the 400 of every operation,
    permits/inputs.py; the document's strings and the extra properties it allows may hold
    one), and a list cursor of the right alphabet that the list never issued (it is opaque)."""

    def check(ctx: Any, response: Any, case: Any) -> bool | None:
        if response.status_code == 400 and case.method == case.operation.method.upper():
            body = response.json()
            stale_cursor = case.operation.label == "GET /applications" and body["message"] == (
                "cursor is not valid."
            )
            if body["message"] == control or stale_cursor:
                return None
        result: bool | None = positive_data_acceptance(ctx, response, case)
        return result

    return check


@accepted.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_a_request_the_document_accepts_is_never_refused_as_malformed(
    case: Any, world: World, app: Flask
) -> None:
    aim(case, world)
    wsgi = isolated(app)
    with app.test_request_context():
        checks = [not_a_server_error, accepted_or_documented_400(str(MESSAGES["control"]))]
    for token in world.tokens.values():  # until a role the operation is for
        headers = {"Authorization": f"Bearer {token}"}
        response = case.call_and_validate(headers=headers, checks=checks, app=wsgi)
        if case.method == "DELETE":
            world.revive_tokens()
        if response.status_code != 403:
            break


def refused_alone_or_whole(ctx: Any, response: Any, case: Any) -> bool | None:
    """negative_data_rejection, but POST /applications/batch answers each item on its own (a
    200 whose results refuse the bad items, as tests/test_batch_api.py pins): an item the
    document refuses counts as refused when its result is an error."""
    batch = case.operation.label == "POST /applications/batch" and case.method == "POST"
    if (
        batch
        and response.status_code == 200
        and any("error" in result for result in response.json()["results"])
    ):
        return None
    result: bool | None = negative_data_rejection(ctx, response, case)
    return result


@refused.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_a_request_the_document_refuses_is_refused(case: Any, world: World, app: Flask) -> None:
    negated = {where for where, part in case.meta.components.items() if part.mode.is_negative}
    if ParameterLocation.PATH not in negated:
        aim(case, world)  # a seeded id in place of a refused one would make the request valid
    wsgi = isolated(app)
    checks = [not_a_server_error, refused_alone_or_whole]
    if ParameterLocation.HEADER in negated:
        # The refused part may be the Authorization header itself: send it, not a real token.
        case.call_and_validate(checks=checks, app=wsgi)
        return
    for token in world.tokens.values():  # until a role the operation is for
        headers = {"Authorization": f"Bearer {token}"}
        response = case.call_and_validate(headers=headers, checks=checks, app=wsgi)
        if case.method == "DELETE":
            world.revive_tokens()
        if response.status_code != 403:
            break


# --- defects the fuzzer found, pinned ----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/applications/{app}/attachments/36893488147419103233",
        "/api/v1/applications/36893488147419103233",
        "/applications/36893488147419103233/edit",
    ],
)
def test_an_id_larger_than_any_column_holds_is_not_found(
    client: Any, world: World, path: str
) -> None:
    headers = {"Authorization": f"Bearer {world.tokens[Role.ENTERPRISE]}"}
    response = client.get(path.format(app=world.attachment_owner), headers=headers)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("number", "reaches_the_view"),
    [
        (0, True),
        (999_999_999, True),
        (1_999_999_999, True),
        (2_147_483_639, True),
        (2_147_483_647, True),
        (2_147_483_648, False),
        (2_147_483_650, False),
        (2_200_000_000, False),
        (9_999_999_999, False),
    ],
)
def test_any_id_in_a_url_is_not_found_and_only_those_a_column_holds_reach_the_view(
    client: Any, world: World, number: int, reaches_the_view: bool
) -> None:
    headers = {"Authorization": f"Bearer {world.tokens[Role.ENTERPRISE]}"}
    for method in ("GET", "PATCH"):
        response = client.open(f"/api/v1/applications/{number}", method=method, headers=headers)
        assert response.status_code == 404, method
    assert bool(re.fullmatch(RowIdConverter.regex, str(number))) is reaches_the_view


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("/api/v1/revocations?since=2147483647", 200),
        ("/api/v1/revocations?since=2147483648", 400),
        ("/api/v1/revocations?since=1125899906842623", 400),
        ("/api/v1/applications?cursor=2147483647", 200),
        ("/api/v1/applications?cursor=2147483648", 400),
        ("/api/v1/applications?cursor=-1", 400),
    ],
)
def test_a_counter_or_cursor_beyond_any_row_is_refused_not_a_server_error(
    client: Any, world: World, query: str, status: int
) -> None:
    headers = {"Authorization": f"Bearer {world.tokens[Role.ADMIN]}"}
    response = client.get(query, headers=headers)
    assert response.status_code == status
    if status == 400:
        assert response.get_json()["error"] == "bad_request"


def test_an_approver_queue_cursor_naming_an_id_beyond_any_row_is_refused(
    client: Any, world: World
) -> None:
    raw = f"{datetime(2026, 3, 1, tzinfo=UTC).isoformat()}|{2**31}"
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    headers = {"Authorization": f"Bearer {world.tokens[Role.APPROVER]}"}
    response = client.get(f"/api/v1/applications?step=mine&cursor={cursor}", headers=headers)
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "field"),
    [
        (Role.APPROVER, "GET", "/api/v1/applications?step=null", None, "step"),
        (Role.APPROVER, "POST", "/api/v1/applications/decisions", {"ids": [0]}, "decision"),
        (
            Role.APPROVER,
            "POST",
            "/api/v1/applications/decisions",
            {"ids": [0], "decision": "approve", "reason_code": "because"},
            "reason_code",
        ),
        (
            Role.APPROVER,
            "POST",
            "/api/v1/applications/{app}/decisions",
            {"decision": "return", "comment": 5},
            "comment",
        ),
    ],
)
def test_a_request_the_document_refuses_is_refused_with_the_field_named(
    client: Any, world: World, role: Role, method: str, path: str, body: Any, field: str
) -> None:
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    url = path.format(app=world.attachment_owner)
    response = client.open(url, method=method, json=body, headers=headers)
    assert response.status_code == (400 if method == "GET" else 422)
    assert set(response.get_json()["fields"]) == {field}


def test_an_offline_scan_whose_result_is_not_text_is_refused(client: Any, world: World) -> None:
    scan = {"id": "a", "number": "", "result": {}, "scanned_at": "2026-01-01T00:00:00Z"}
    headers = {"Authorization": f"Bearer {world.tokens[Role.CHECKPOINT]}"}
    response = client.post("/api/v1/scans", json={"scans": [scan]}, headers=headers)
    assert response.status_code == 422
