"""Template helpers: names of codes in the current language, local times, role-aware navigation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, current_app
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

from permits import regions
from permits.i18n import current_locale_name, html_lang
from permits.models import CITY_SCOPE, Department, Role
from permits.permissions import can_revoke_token

ROLE_NAMES = {
    Role.ENTERPRISE: _l("Enterprise"),
    Role.APPROVER: _l("Approver"),
    Role.CHECKPOINT: _l("Checkpoint staff"),
    Role.ADMIN: _l("Administrator"),
    Role.SUPERVISOR: _l("Supervisor"),
}

DEPARTMENT_NAMES = {
    "economy": _l("Economy and Informatization Commission"),
    "commerce": _l("Commerce Commission"),
    "health": _l("Health Commission"),
    "transport": _l("Transport Commission"),
    "postal": _l("Postal Administration"),
    "agriculture": _l("Agriculture and Rural Affairs Commission"),
    "development_reform": _l("Development and Reform Commission"),
}


def division_name(code: str | None) -> str:
    """A division code as its name in the current language; "city" as the city's name."""
    if not code:
        return ""
    if code == CITY_SCOPE:
        code = current_app.config["CITY_CODE"]
    found = regions.division(code)
    return found.name(current_locale_name()) if found else code


def department_name(department: Department | None) -> str:
    if department is None:
        return ""
    scope = division_name(department.scope)
    return f"{scope} {DEPARTMENT_NAMES.get(department.code, department.code)}"


def role_name(role: Role | str) -> str:
    return str(ROLE_NAMES.get(Role(role), role))


def local_datetime(value: datetime | None) -> str:
    """A stored UTC time shown in the service's time zone."""
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(division_name, "division")
    app.add_template_filter(department_name, "department")
    app.add_template_filter(role_name, "role_name")
    app.add_template_filter(local_datetime, "local_dt")

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {
            "Role": Role,
            "html_lang": html_lang,
            "current_locale_name": current_locale_name,
            "can_revoke_token": can_revoke_token,
        }
