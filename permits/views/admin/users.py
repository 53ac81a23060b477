"""Users: list, search, create, deactivate, reset password, unlock after throttling."""

from __future__ import annotations

from permits.views.admin import bp  # noqa: F401
