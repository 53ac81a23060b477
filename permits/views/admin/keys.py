"""Signing keys: their periods, how many valid passes each signed; rotation."""

from __future__ import annotations

from permits.views.admin import bp  # noqa: F401
