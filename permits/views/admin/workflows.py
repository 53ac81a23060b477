"""Workflow editor: each kind's chain of steps, saved as a new version."""

from __future__ import annotations

from permits.views.admin import bp  # noqa: F401
