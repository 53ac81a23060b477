"""The audit log viewer: filters and the result of the chain check."""

from __future__ import annotations

from datetime import date

from flask import render_template, request
from flask_babel import lazy_gettext as _l

from permits import audit
from permits.inputs import int_arg
from permits.services import audit_log as trail
from permits.views.admin import bp

PAGE_SIZE = 50

#: What `audit.verify_chain` found, in the reader's language.
CHAIN_PROBLEMS = {
    "was changed after it was written": _l("This event was changed after it was written."),
    "does not follow the event before it": _l("This event does not follow the one before it."),
    "the newest events were deleted": _l("The newest events were deleted."),
}
MISSING = _l("This event is missing.")


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name) or "")
    except ValueError:
        return None


@bp.get("/audit/")
def audit_log() -> str:
    """Newest first, filtered; the chain is checked when asked for (?check=1), as it reads all."""
    filters = trail.AuditFilter(
        actor=(request.args.get("actor") or "")[: trail.SEARCH_MAX],
        action=request.args.get("action") or None,
        object_type=request.args.get("object_type") or None,
        object_id=(request.args.get("object_id") or "")[:40] or None,
        since=_date_arg("since"),
        until=_date_arg("until"),
    )
    events = trail.search(filters, before=int_arg("before"), limit=PAGE_SIZE + 1)
    more = events[PAGE_SIZE - 1].seq if len(events) > PAGE_SIZE else None
    checked = request.args.get("check") == "1"
    chain_break = audit.verify_chain() if checked else None
    return render_template(
        "admin/audit.html",
        events=events[:PAGE_SIZE],
        more=more,
        filters=filters,
        actions=trail.actions(),
        object_types=trail.object_types(),
        details_text=trail.details_text,
        checked=checked,
        chain_break=chain_break,
        chain_problem=CHAIN_PROBLEMS.get(chain_break.reason, MISSING) if chain_break else None,
        event_count=trail.event_count() if checked else None,
    )
