"""What each route of API v1 takes and answers: the table the OpenAPI document is built from.

Each operation names its body and answer models (permits/schemas/) or components by name, and
its errors as status → when it is given (None: the shared description only).
"""

from __future__ import annotations

from typing import Any

from permits.database import MAX_ROW_ID
from permits.models import Kind
from permits.passes.token import Result
from permits.schemas import accounts, batches, decisions, passes, verify
from permits.schemas import applications as apps
from permits.schemas.common import RowId
from permits.services.batch_review import MAX_BULK
from permits.services.batches import BATCH_LIMIT
from permits.services.reviews import COMMENT_MAX
from permits.views.api.applications import MAX_PAGE
from permits.workflow import State

CSRF = "The CSRF token of a session call is missing or wrong"
NOT_ENTERPRISE = "Not an enterprise account"
NOT_OWN = "No such application, or not the caller's enterprise's"
NOT_VISIBLE = "No such application, or the caller may not see it"
NOT_EDITABLE = "The application is neither a draft nor returned"
CHANGE_FIRST = "The account must change its password first"
NOT_YOURS = "No such pass, or not yours to see"
FIELD_ERRORS = (
    "Invalid fields: `fields` maps each field to its message (`kind`, `body` when the body is "
    "not a JSON object, `drivers.N.name` etc. for a driver row, `origin` when neither end is "
    "in the city; `plate` or `drivers.N.id_number` when the vehicle or driver is already on "
    "another active or pending pass for overlapping days, naming that pass or application)"
)
LIST_DESCRIPTION = (
    "An enterprise sees its own applications; an approver those waiting at or decided by its "
    "department; admins and supervisors all of them. With `step=mine` an approver gets its "
    "queue instead: what waits at its step, soonest due (so overdue) first; `status` and "
    "`order` do not apply there. Follow `next_cursor` for the next page."
)
BATCH_DESCRIPTION = (
    "Enterprise accounts only. Each item is a vehicle application (`kind` may be omitted; any "
    "other kind is refused) and is checked exactly as `POST /applications` checks it, including "
    "conflicts: a plate may not hold two active or pending passes, nor a driver be on two "
    "vehicles' passes, for overlapping days (inclusive calendar days). Within the call, an item "
    "that repeats an earlier item's plate (or puts its driver on another plate) for overlapping "
    "days is refused, naming `item N`. The valid items become drafts of one batch, to be "
    "submitted one by one with `POST /applications/{id}/submit`; the invalid ones create "
    "nothing. The answer has one result per item, in order. All or nothing on an unexpected "
    "error."
)
STATS_DESCRIPTION = (
    "The figures of the supervision dashboard, from the same service. Decision times are hours "
    "from entering a step (the submission for step 1, the approval of the step before for the "
    "others) to its decision, over the decisions of the last 90 days (at most the newest "
    "20,000); common problems come from the same decisions. Days are calendar days in the "
    "service's time zone; scans cover the last 24 hours, anomalies the last 7 days. The figures "
    "are a snapshot exact at `generated_at`, recomputed at most once per "
    "PERMITS_SUPERVISION_MAX_AGE_SECONDS (60 by default); the dashboard shows the same snapshot."
)
ID = "ApplicationId"
PDF = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}


def _query(name: str, schema: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, **extra}


LIST_PARAMETERS = [
    _query("status", State),
    _query("kind", Kind),
    _query(
        "step", {"type": "string", "enum": ["mine"]}, description="`mine`: the approver's queue"
    ),
    _query("order", {"type": "string", "enum": ["newest", "oldest"], "default": "newest"}),
    # Opaque, but always URL-safe base64 (an id's digits are of that alphabet too).
    _query(
        "cursor",
        {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"},
        description="The `next_cursor` of the previous page (opaque); any other is refused (400)",
    ),
    # Any whole number is taken (and clamped), so the schema has no bounds that would refuse it.
    _query(
        "limit",
        {"type": "integer", "default": 20},
        description=f"Page size; values outside 1..{MAX_PAGE} are clamped",
    ),
]
SINCE = _query(
    "since",
    {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID, "default": 0},
    required=False,
    description="The `counter` of the previous answer (0 the first time)",
)
LOCATION = {
    "headers": {
        "Location": {
            "description": "The URL of the application",
            "schema": {"type": "string", "format": "uri-reference"},
        }
    }
}
DOWNLOAD = {
    "headers": {
        "Content-Disposition": {
            "description": "`attachment` with the file's name",
            "schema": {"type": "string"},
        },
        "Cache-Control": {"description": "`private, no-store`", "schema": {"type": "string"}},
    },
    "content": {content_type: {} for content_type in apps.CONTENT_TYPES},
}


def _op(
    route: str, operation_id: str, summary: str, **spec: Any
) -> tuple[str, str, dict[str, Any]]:
    """One operation: "method path", its id and summary, then what it takes and answers."""
    method, path = route.split(" ")
    return path, method, {"operationId": operation_id, "summary": summary, **spec}


#: Every operation: `body` and each `ok` answer name a model, a component or a schema.
OPERATIONS: list[tuple[str, str, dict[str, Any]]] = [
    _op(
        "get /me",
        "getMe",
        "The account the token or session belongs to",
        ok={200: ("Me", "The account")},
        errors={401: None, 429: None},
    ),
    _op(
        "get /tokens",
        "listTokens",
        "The caller's API tokens (never the secrets)",
        ok={200: (accounts.TokenList, "The tokens")},
        errors={401: None, 429: None},
    ),
    _op(
        "delete /tokens/{token_id}",
        "revokeToken",
        "Revoke one of the caller's tokens",
        parameters=[{"name": "token_id", "in": "path", "required": True, "schema": RowId}],
        ok={200: ("Token", "The revoked token")},
        errors={400: None, 401: None, 404: None, 429: None},
    ),
    _op(
        "post /applications",
        "createApplication",
        "Create a draft application for the caller's enterprise",
        description="Enterprise accounts only. The given fields must be valid; the others "
        "may be filled in later with PATCH. A work-resumption draft takes the enterprise's "
        "contact when none is given.",
        body="ApplicationCreate",
        ok={201: ("Application", "The new draft", LOCATION)},
        errors={400: CSRF, 401: None, 403: NOT_ENTERPRISE, 422: FIELD_ERRORS},
    ),
    _op(
        "get /applications",
        "listApplications",
        "List the applications the caller may see, a page at a time",
        description=LIST_DESCRIPTION,
        parameters=LIST_PARAMETERS,
        ok={200: ("ApplicationPage", "A page of applications")},
        errors={
            400: "status, kind, step, limit, order or cursor is not valid",
            401: None,
            403: "A checkpoint account, or step=mine from someone not an approver",
        },
    ),
    _op(
        "post /applications/batch",
        "createApplicationBatch",
        f"Create up to {BATCH_LIMIT} vehicle-pass drafts in one call",
        description=BATCH_DESCRIPTION,
        body=batches.BatchRequest,
        ok={200: (batches.BatchResult, "What became of each item")},
        errors={
            400: CSRF,
            401: None,
            403: NOT_ENTERPRISE,
            422: "The body is not an object with an `applications` list, the list is "
            f"empty, or it has more than {BATCH_LIMIT} items (`fields.applications`); "
            "nothing is created",
        },
    ),
    _op(
        "get /applications/{application_id}",
        "getApplication",
        "The whole file of an application, with its drivers, files and history",
        parameters=[ID],
        ok={200: ("Application", "The application")},
        errors={401: None, 403: CHANGE_FIRST, 404: NOT_VISIBLE},
    ),
    _op(
        "patch /applications/{application_id}",
        "updateApplication",
        "Change fields of a draft or returned application",
        description="Only the given fields change; null, an empty string or an empty list "
        "clears one.",
        parameters=[ID],
        body="ApplicationPatch",
        ok={200: ("Application", "The changed application")},
        errors={
            400: CSRF,
            401: None,
            403: NOT_ENTERPRISE,
            404: NOT_OWN,
            409: NOT_EDITABLE,
            422: FIELD_ERRORS + "; `kind` when it would change",
        },
    ),
    _op(
        "post /applications/{application_id}/attachments",
        "addAttachment",
        "Upload a file (e.g. the epidemic prevention plan) to an application",
        description="PDF, JPEG or PNG, judged by the content, not the name; the stored "
        "name is the cleaned given name with the extension of the detected type. Only while "
        "the application is a draft or returned.",
        parameters=[ID],
        content="multipart/form-data",
        body=apps.AttachmentUpload,
        ok={201: ("UploadedAttachment", "The stored file")},
        errors={
            400: CSRF,
            401: None,
            403: NOT_ENTERPRISE,
            404: NOT_OWN,
            409: NOT_EDITABLE,
            413: "The upload is larger than MAX_CONTENT_LENGTH",
            422: "`purpose` is not listed, or `file` is missing, empty or not a PDF, JPEG or PNG",
        },
    ),
    _op(
        "get /applications/{application_id}/attachments/{attachment_id}",
        "getAttachment",
        "Download a file of an application",
        parameters=[ID, "AttachmentId"],
        ok={200: (None, "The file, as an attachment under its stored name", DOWNLOAD)},
        errors={
            401: None,
            403: CHANGE_FIRST,
            404: "No such file of this application, the caller may not see the "
            "application, or the stored file is gone",
        },
    ),
    _op(
        "post /applications/{application_id}/submit",
        "submitApplication",
        "Send a complete draft (or a fixed returned application) to review",
        description="Review starts at step 1, also after a return.",
        parameters=[ID],
        ok={200: (apps.Submitted, "Submitted: where it waits now")},
        errors={
            400: CSRF,
            401: None,
            403: NOT_ENTERPRISE,
            404: NOT_OWN,
            409: "Already submitted, decided or withdrawn, or changed in the meantime",
            422: "Not complete: `fields` names each missing or wrong field "
            "(`prevention_plan` when a work-resumption application has no such file; dates "
            "in the past or too far apart; `plate` or `drivers.N.id_number` when the "
            "vehicle or a driver is already on another active or pending pass for "
            "overlapping days, naming it)",
        },
    ),
    _op(
        "post /applications/{application_id}/withdraw",
        "withdrawApplication",
        "Take back a draft, returned application or one under review; final",
        parameters=[ID],
        ok={200: ("Application", "The withdrawn application")},
        errors={
            400: CSRF,
            401: None,
            403: NOT_ENTERPRISE,
            404: NOT_OWN,
            409: "Approved, rejected or withdrawn already",
        },
    ),
    _op(
        "post /applications/{application_id}/decisions",
        "decideApplication",
        "Approve, return or reject the step an application waits at",
        description="For an approver of the department and scope of the current step who "
        "has signed no other step of this application. Approving the last step approves the "
        "application; a return sends it back to the enterprise; a reject is final. Of two "
        "approvers deciding at once, exactly one succeeds.",
        parameters=[ID],
        body="DecisionRequest",
        ok={201: (decisions.Decided, "The decision, and the application after it")},
        errors={
            400: CSRF,
            401: None,
            403: "Not an approver; the application does not wait at the caller's "
            "department's step; or the caller signed another step of it (separation of "
            "duties)",
            404: NOT_VISIBLE,
            409: "Already decided: the application is no longer in review or someone "
            "decided this step first; `error` is `already_decided`. Or, on the last step, "
            "`error` is `conflict`: another pass issued meanwhile holds the plate or a "
            "driver for overlapping days (`fields` names it); return or reject instead",
            422: "`decision` is not approve, return or reject; `comment` is missing (a "
            f"return or reject needs one) or longer than {COMMENT_MAX} characters; "
            "`reason_code` is not listed",
        },
    ),
    _op(
        "post /applications/decisions",
        "decideApplications",
        "One decision for many applications (a batch, or a page of the queue)",
        description=f"At most {MAX_BULK} ids (repeated ids count once). Each application "
        "is decided on its own, exactly as by `decideApplication` (state checks, separation "
        "of duties, the pass issued on the last step, each decision recorded and audited): "
        "one that cannot be decided is reported in its result and does not undo the others. "
        "Ids the caller may not see are reported as `not_found`. A wrong `decision`, "
        "`comment` or `reason_code` is the same for every id and refuses the whole call "
        "(422).",
        body="BulkDecisionRequest",
        ok={200: ("BulkDecisionResults", "One result per distinct id, in the order given")},
        errors={
            400: CSRF,
            401: None,
            403: "Not an approver",
            422: f"`ids` is not a list of 1 to {MAX_BULK} numbers; `decision` is not "
            "approve, return or reject; `comment` is missing (a return or reject needs one) "
            f"or longer than {COMMENT_MAX} characters; `reason_code` is not listed",
        },
    ),
    _op(
        "get /passes/{number}",
        "getPass",
        "A pass, with its PP1 QR text and control code",
        parameters=["PassNumber"],
        ok={200: ("Pass", "The pass")},
        errors={401: None, 404: NOT_YOURS},
    ),
    _op(
        "get /passes/{number}/pdf",
        "getPassPdf",
        "The printable PDF; the same pass gives the same bytes (ETag)",
        parameters=["PassNumber"],
        ok={
            200: (None, "The PDF", {"content": PDF}),
            304: (None, "Unchanged since the ETag sent in If-None-Match"),
        },
        errors={
            401: None,
            404: NOT_YOURS,
            410: "The pass is revoked: it has no PDF any more (error `revoked`)",
        },
    ),
    _op(
        "post /passes/{number}/revoke",
        "revokePass",
        "Revoke a pass (approvers of its departments, admins)",
        parameters=["PassNumber"],
        body=passes.RevokeRequest,
        ok={200: ("Pass", "The revoked pass")},
        errors={
            400: None,
            401: None,
            403: "Not an approver of this pass's departments, nor an admin",
            404: NOT_YOURS,
            409: "Revoked already",
            422: "The reason is missing or too long",
        },
    ),
    _op(
        "post /verify",
        "verify",
        "A verdict for a QR text, a control code or a plate (checkpoint, admin)",
        description="Every call is logged as a scan. Results: "
        + ", ".join(result.value for result in Result)
        + ". `reason` is in the caller's language.",
        body=verify.VerifyRequest,
        ok={200: ("Verdict", "The verdict")},
        errors={
            400: None,
            401: None,
            403: None,
            429: None,
            422: "Not exactly one of qr, code, plate; or an unknown checkpoint",
        },
    ),
    _op(
        "post /scans",
        "uploadScans",
        "Scans a scanner decided offline, uploaded when the network returns",
        body=verify.ScanUpload,
        ok={
            200: (
                verify.ScanUploadResult,
                "How many arrived, how many were new (ids seen before are skipped), and the "
                "ones refused",
            )
        },
        errors={400: None, 401: None, 403: None, 422: None, 429: None},
    ),
    _op(
        "get /keys",
        "getKeys",
        "JWKS of every key whose passes may still be valid",
        security=[],
        ok={200: (passes.KeySet, "The published keys")},
    ),
    _op(
        "get /revocations",
        "getRevocations",
        "Pass numbers revoked (or reinstated) after feed position `since`",
        security=[],
        parameters=[SINCE],
        ok={
            200: (
                passes.RevocationPage,
                "Revoked and reinstated pass numbers in feed order, and the position to ask "
                "from next",
            )
        },
        errors={400: "`since` is not a whole number"},
    ),
    _op(
        "get /stats",
        "getStats",
        "Supervision figures (admins and supervisors)",
        description=STATS_DESCRIPTION,
        ok={200: ("Stats", "The figures at `generated_at`")},
        errors={
            401: "No valid token or session",
            403: "Neither an admin nor a supervisor",
        },
    ),
    _op(
        "get /openapi.json",
        "getOpenApi",
        "This document",
        security=[],
        ok={200: ({"type": "object"}, "The OpenAPI document")},
    ),
]
