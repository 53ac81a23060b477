"""Supervision: the dashboard with its charts, and the CSV exports."""

from __future__ import annotations

from permits.views.admin import bp  # noqa: F401
