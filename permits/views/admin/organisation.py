"""Departments, their scopes, and checkpoints (with coordinates for the anomaly check)."""

from __future__ import annotations

from permits.views.admin import bp  # noqa: F401
