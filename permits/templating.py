"""Template helpers: names of codes in the current language, local times, role-aware navigation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, current_app
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from permits import labels, regions
from permits.forms.common import field_errors
from permits.i18n import current_locale_name, html_lang
from permits.models import CITY_SCOPE, Department, Role
from permits.permissions import can_revoke_token
from permits.security import csp_nonce
from permits.services import notifications
from permits.services.reviews import REJECT_REASONS


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
    return f"{scope} {labels.DEPARTMENT_NAMES.get(department.code, department.code)}"


def signer_name(code: str | None, scope: str | None) -> str:
    """A department by code and scope, e.g. "Pudong New Area Commerce Commission"."""
    if not code or not scope:
        return ""
    return f"{division_name(scope)} {labels.DEPARTMENT_NAMES.get(code, code)}"


def _name(table: dict[Any, Any]) -> Any:
    def lookup(value: Any) -> str:
        if value is None:
            return ""
        return str(table.get(value, value))

    return lookup


def time_left(due: datetime | None, now: datetime) -> str:
    """How long until a step is due, or how long it is overdue, in hours."""
    if due is None:
        return ""
    if due >= now:
        return str(_l("%(h)d h left", h=int((due - now).total_seconds() // 3600)))
    return str(_l("overdue by %(h)d h", h=int((now - due).total_seconds() // 3600)))


def role_name(role: Role | str) -> str:
    return str(labels.ROLE_NAMES.get(Role(role), role))


def local_datetime(value: datetime | None) -> str:
    """A stored UTC time shown in the service's time zone."""
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


def unread_notifications() -> int:
    if not current_user.is_authenticated:
        return 0
    return notifications.unread_count(current_user._get_current_object())


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(division_name, "division")
    app.add_template_filter(department_name, "department")
    app.add_template_filter(role_name, "role_name")
    app.add_template_filter(local_datetime, "local_dt")
    app.add_template_filter(_name(labels.STATE_NAMES), "state_name")
    app.add_template_filter(_name(labels.KIND_NAMES), "kind_name")
    app.add_template_filter(_name(labels.ACTION_NAMES), "action_name")
    app.add_template_filter(_name(labels.CARGO_NAMES), "cargo_name")
    app.add_template_filter(_name(labels.VEHICLE_TYPE_NAMES), "vehicle_type_name")
    app.add_template_filter(_name(labels.PURPOSE_NAMES), "purpose_name")
    app.add_template_filter(_name(labels.RESULT_NAMES), "result_name")
    app.add_template_filter(_name(REJECT_REASONS), "reject_reason_name")
    app.add_template_filter(_name(labels.DEMAND_CATEGORY_NAMES), "demand_category_name")
    app.add_template_filter(_name(labels.DEMAND_STATE_NAMES), "demand_state_name")
    app.add_template_filter(_name(labels.DEMAND_ACTION_NAMES), "demand_action_name")
    # A global, not a context variable: the macros of _macros.html are imported without context.
    app.add_template_global(field_errors, "field_errors")

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {
            "Role": Role,
            "html_lang": html_lang,
            "current_locale_name": current_locale_name,
            "can_revoke_token": can_revoke_token,
            "csp_nonce": csp_nonce,
            "signer_name": signer_name,
            "time_left": time_left,
            "unread_notifications": unread_notifications,
        }
