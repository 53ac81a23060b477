"""Enterprises: list, search, one enterprise's users, applications and passes; suspension."""

from __future__ import annotations

from permits.views.admin import bp  # noqa: F401
