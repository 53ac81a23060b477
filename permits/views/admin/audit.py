"""The audit log viewer: filters and the result of the chain check."""

from __future__ import annotations

from permits.views.admin import bp  # noqa: F401
