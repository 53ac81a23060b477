"""Administration (admin) and supervision (admin, and the read-only supervisor): pages under /admin.

Deny by default for the whole blueprint: admins may do everything here, supervisors may only
read (GET), everyone else gets 403. Views that change something are POST and admin-only.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from permits.models import Role

bp = Blueprint("admin", __name__, url_prefix="/admin")

READ_METHODS = frozenset({"GET", "HEAD"})


@bp.before_request
def admins_only() -> None:
    if not current_user.is_authenticated:
        abort(401)
    if current_user.role is Role.ADMIN:
        return
    if current_user.role is Role.SUPERVISOR and request.method in READ_METHODS:
        return
    abort(403)


#: The sections of the administration, in the order the index lists them: (endpoint, title, what).
SECTIONS = (
    (
        "admin.dashboard",
        _l("Supervision dashboard"),
        _l("Applications, decisions, overdue work, passes and scans"),
    ),
    ("admin.users", _l("Users"), _l("Create, deactivate, reset passwords, unlock")),
    (
        "admin.enterprises",
        _l("Enterprises"),
        _l("Find an enterprise, its users, applications and passes; suspend"),
    ),
    ("admin.departments", _l("Departments"), _l("Departments and their scopes")),
    ("admin.checkpoints", _l("Checkpoints"), _l("Checkpoints and their coordinates")),
    ("admin.workflows", _l("Workflows"), _l("The chain of approval steps for each kind")),
    ("admin.keys", _l("Signing keys"), _l("Key periods, passes signed, rotation")),
    (
        "admin.mass_revocations",
        _l("Mass revocation"),
        _l("Revoke many passes at once, confirmed by a second admin"),
    ),
    ("admin.audit_log", _l("Audit log"), _l("Who did what, and the chain check")),
)


@bp.get("/")
def index() -> str:
    sections = [s for s in SECTIONS if s[0] in current_app.view_functions]
    return render_template("admin/index.html", sections=sections)


from permits.views.admin import (  # noqa: E402,F401 - registers the routes
    audit,
    dashboard,
    enterprises,
    keys,
    organisation,
    revocations,
    users,
    workflows,
)
