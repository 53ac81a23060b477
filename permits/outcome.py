"""A request's outcome decides its commit, not the status code of its answer.

Every DomainError made while a request is served is put on record (services/errors.py), and at
the end of the request the transaction is rolled back if a refusal is still on record, whatever
the view did with it: a flash and a redirect (302), the form again (200 or 4xx) or a JSON 4xx.
A view therefore never rolls back by hand, and one that forgets cannot commit a refused action.
Without a refusal the request commits unless its answer is an error (an unhandled 4xx or 5xx).
A view's own explicit commit (the login throttle counts an attempt before a 429) still commits
at once; only what is left at the end of the request is decided here.

A batch that reports a refusal for one item alone and keeps the others undoes that item's writes
with a savepoint and takes the refusal off the record with `answered_alone`. Outside a request
(the CLI, tests calling services) nothing is recorded: the caller commits or rolls back itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, before_render_template, g, has_request_context
from werkzeug.wrappers import Response

from permits import mail

_REFUSALS = "_refusals"


def record_refusal(error: BaseException) -> None:
    """The domain refused something while serving this request: roll its transaction back."""
    if has_request_context():
        g.setdefault(_REFUSALS, []).append(error)


def answered_alone(error: BaseException) -> None:
    """The refusal of one item of a batch, reported in that item's result after its savepoint
    was rolled back: it no longer fails the request, so the batch's other items are committed."""
    if has_request_context():
        refusals: list[BaseException] = g.get(_REFUSALS, [])
        refusals[:] = [e for e in refusals if e is not error]


@contextmanager
def on_its_own() -> Iterator[None]:
    """One item answered on its own (a row of a batch, the submission of a draft just saved):
    its writes and the emails it queued sit in a savepoint, which an error rolls back without
    touching what came before. The error goes on to the caller, which reports a refusal with
    `answered_alone` or lets it fail the whole request."""
    from permits.extensions import db

    outbox = db.session.info.setdefault(mail.OUTBOX_KEY, [])
    queued = len(outbox)
    try:
        with db.session.begin_nested():
            yield
    except BaseException:
        del db.session.info.get(mail.OUTBOX_KEY, [])[queued:]
        raise


def is_refused() -> bool:
    """A refusal made during this request is still on record."""
    return has_request_context() and bool(g.get(_REFUSALS))


def commit_or_roll_back(response: Response) -> Response:
    """after_request: one commit per request (services only flush), and only when nothing was
    refused and the answer is not an error."""
    from permits.extensions import db

    refused = bool(g.pop(_REFUSALS, None))
    if not db.session.registry.has() or not db.session().in_transaction():
        return response  # the request never used the session (a verification, say)
    if response.status_code < 400 and not refused:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def _show_what_is_stored(sender: Flask, **_extra: Any) -> None:
    """A refused request's page is drawn from what is stored, never from the refused change
    still held in memory (the form keeps what was typed; the objects are as committed)."""
    from permits.extensions import db

    if is_refused() and db.session.registry.has():
        db.session.rollback()
        db.session.expire_all()  # rollback alone does not expire when no transaction is open


def init_app(app: Flask) -> None:
    app.after_request(commit_or_roll_back)
    before_render_template.connect(_show_what_is_stored, app)
