"""Mass revocation: preview, ask, and a second admin confirms before it runs."""

from __future__ import annotations

from permits.views.admin import bp  # noqa: F401
