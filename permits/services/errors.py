"""Domain errors: what the services raise, and what views turn into messages or JSON 4xx answers."""

from __future__ import annotations

import errno
from collections.abc import Mapping
from typing import Any

from permits import outcome


class DomainError(Exception):
    """A request the domain refuses; `status` is the HTTP status the API answers with.

    Made during a request, it puts the refusal on record, so that the request's transaction is
    rolled back whatever the view answers (see permits/outcome.py)."""

    status = 400
    code = "bad_request"

    def __init__(self, message: Any, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.fields = dict(fields or {})
        outcome.record_refusal(self)


class ValidationFailed(DomainError):
    """One or more fields are wrong; `fields` maps each field name to its message."""

    status = 422
    code = "invalid"


class Conflict(DomainError):
    """The thing exists already or the state moved on."""

    status = 409
    code = "conflict"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"


class StorageFailed(DomainError):
    """A file could not be written: the disk is full or a folder is not writable (logged)."""

    status = 507
    code = "insufficient_storage"


def os_error_name(exc: OSError) -> str:
    """ "ENOSPC", "EACCES"…: what went wrong with a file, without its path (for the log)."""
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)
