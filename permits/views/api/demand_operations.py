"""What each demand-ticket route of API v1 takes and answers, for the OpenAPI document (the
same table form as views/api/operations.py, kept apart to keep that module one screenful
per area)."""

from __future__ import annotations

from typing import Any

from permits.database import MAX_ROW_ID
from permits.demand_workflow import DemandState
from permits.models import DemandCategory
from permits.models.demands import DESCRIPTION_MAX, REASON_MAX, RESPONSE_MAX, TITLE_MAX
from permits.schemas import demands
from permits.schemas.common import RowId
from permits.views.api.applications import MAX_PAGE
from permits.views.api.operations import CSRF, _op, _query

ID = {"name": "demand_id", "in": "path", "required": True, "schema": RowId}
NOT_VISIBLE = "No such ticket, or the caller may not see it"
NOT_ENTERPRISE = "Not an enterprise account, or not the enterprise that filed the ticket"
NOT_HOLDER = (
    "Not an approver or handler, or the ticket is not with the caller's department (a "
    "copied-in department may only add notes)"
)
MOVED = (
    "The ticket's state does not allow this any more (someone acted first, or the page was "
    "stale): `error` is `conflict`; reload it"
)
UNKNOWN = "; a field the body does not name, or a value of the wrong JSON type, is named too"
LIST_DESCRIPTION = (
    "An enterprise sees its own tickets; a department's approvers and handlers those it holds "
    "or was copied on (`mine=1`: only those it holds); admins and supervisors all of them. "
    "Newest first; follow `next_cursor` for the next page."
)


def _handling(
    route: str, operation_id: str, summary: str, body: Any, wrong: str, **spec: Any
) -> tuple[str, str, dict[str, Any]]:
    """An action of the department holding the ticket."""
    extra = {"body": body} if body is not None else {}
    return _op(
        route,
        operation_id,
        summary,
        parameters=[ID],
        **extra,
        **spec,
        ok={200: ("Demand", "The ticket after it")},
        errors={
            400: CSRF,
            401: None,
            403: NOT_HOLDER,
            404: NOT_VISIBLE,
            409: MOVED,
            **({422: wrong + UNKNOWN} if wrong else {}),
        },
    )


def _enterprise(
    route: str, operation_id: str, summary: str, body: Any, wrong: str, **spec: Any
) -> tuple[str, str, dict[str, Any]]:
    """An action of the enterprise that filed the ticket."""
    extra = {"body": body} if body is not None else {}
    return _op(
        route,
        operation_id,
        summary,
        parameters=[ID],
        **extra,
        **spec,
        ok={200: ("Demand", "The ticket after it")},
        errors={
            400: CSRF,
            401: None,
            403: NOT_ENTERPRISE,
            404: NOT_VISIBLE,
            409: MOVED,
            **({422: wrong + UNKNOWN} if wrong else {}),
        },
    )


DEMAND_OPERATIONS: list[tuple[str, str, dict[str, Any]]] = [
    _op(
        "post /demands",
        "createDemand",
        "File a difficulty of the caller's enterprise (a demand ticket)",
        description="Enterprise accounts only. The ticket goes at once to the lead department "
        "of its category in the enterprise's district (else the city-wide one), whose officers "
        "are told; it is to be accepted within 4 working hours.",
        body=demands.DemandCreate,
        ok={
            201: (
                "Demand",
                "The filed ticket",
                {
                    "headers": {
                        "Location": {
                            "description": "The URL of the ticket",
                            "schema": {"type": "string", "format": "uri-reference"},
                        }
                    }
                },
            )
        },
        errors={
            400: CSRF,
            401: None,
            403: "Not an enterprise account",
            422: f"`category` is not listed; `title` (at most {TITLE_MAX} characters) or "
            f"`description` (at most {DESCRIPTION_MAX}) is missing or too long; "
            "`application_id` or `pass_number` is not the enterprise's" + UNKNOWN,
        },
    ),
    _op(
        "get /demands",
        "listDemands",
        "List the demand tickets the caller may see, a page at a time",
        description=LIST_DESCRIPTION,
        parameters=[
            _query("status", DemandState),
            _query("category", DemandCategory),
            _query(
                "mine",
                {"type": "string", "enum": ["0", "1"]},
                description="`1`: only what the caller's department holds (approvers, handlers)",
            ),
            # An id: the last one of the previous page.
            _query(
                "cursor",
                {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID},
                description="The `next_cursor` of the previous page",
            ),
            # Any whole number is taken (and clamped), so the schema has no bounds that refuse it.
            _query(
                "limit",
                {"type": "integer", "default": 20},
                description=f"Page size; values outside 1..{MAX_PAGE} are clamped",
            ),
        ],
        ok={200: ("DemandPage", "A page of tickets")},
        errors={
            400: "status, category, mine, limit or cursor is not valid",
            401: None,
            403: "A checkpoint account, or mine=1 from someone not of a department",
        },
    ),
    _op(
        "get /demands/{demand_id}",
        "getDemand",
        "A demand ticket with its whole history",
        description="The departments' working notes are in the history for officials only, "
        "never for the enterprise.",
        parameters=[ID],
        ok={200: ("Demand", "The ticket")},
        errors={401: None, 403: "The account must change its password first", 404: NOT_VISIBLE},
    ),
    _handling(
        "post /demands/{demand_id}/accept",
        "acceptDemand",
        "Acknowledge an open ticket; its answer is then due within 3 days",
        None,
        "",
    ),
    _handling(
        "post /demands/{demand_id}/answer",
        "answerDemand",
        "Write what was done or will be done (an accepted or reopened ticket)",
        demands.DemandAnswer,
        f"`response` is missing or longer than {RESPONSE_MAX} characters",
        description="The enterprise then confirms it or reopens it; an answer left "
        "unconfirmed for 7 days closes itself (`closed_unconfirmed`).",
    ),
    _handling(
        "post /demands/{demand_id}/transfer",
        "transferDemand",
        "Send the ticket to another department, with a reason",
        demands.DemandTransfer,
        "`department` is the holder's own, not listed or not set up; `reason` is missing or "
        f"longer than {REASON_MAX} characters",
        description="The state stays; the third transfer sends the ticket to the "
        "supervisors instead (`assigned_by_supervisor`), who choose its department.",
    ),
    _handling(
        "post /demands/{demand_id}/copy",
        "copyDemand",
        "Copy in a co-handling department, which sees the ticket and may add notes",
        demands.DemandCopyTo,
        "`department` is the holder's own, not listed or not set up",
        description="Copying a department in twice changes nothing.",
    ),
    _handling(
        "post /demands/{demand_id}/note",
        "noteDemand",
        "Add a working note (the holding or a copied-in department); the enterprise never sees it",
        demands.DemandNoteText,
        f"`text` is missing or longer than {RESPONSE_MAX} characters",
    ),
    _enterprise(
        "post /demands/{demand_id}/confirm",
        "confirmDemand",
        "Confirm the answer solved it and rate the handling; final",
        demands.DemandConfirm,
        f"`rating` is not 1 to 5; `comment` is longer than {REASON_MAX} characters",
    ),
    _enterprise(
        "post /demands/{demand_id}/reopen",
        "reopenDemand",
        "Say the answer did not solve it: back to the same department, the city-wide one copied in",
        demands.DemandReopen,
        f"`reason` is missing or longer than {REASON_MAX} characters",
    ),
    _enterprise(
        "post /demands/{demand_id}/withdraw",
        "withdrawDemand",
        "Take back a ticket not accepted yet; final",
        None,
        "",
    ),
]
