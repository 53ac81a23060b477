"""Workflow editor: each kind's chain of steps, saved as a new version.

The editor works without JavaScript: moving, adding and removing a step are submit buttons
that send the rows back and get them rearranged; only "save" stores a version.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from permits.forms.admin import ChainForm
from permits.forms.common import show_problems
from permits.labels import CARGO_NAMES, DEPARTMENT_NAMES, KIND_NAMES
from permits.models import BY_CARGO, Kind, Role, ScopeRule, utcnow
from permits.permissions import acting_user, roles_required
from permits.services import workflows
from permits.services.errors import DomainError
from permits.views.admin import bp

SCOPE_RULE_NAMES = {
    ScopeRule.DISTRICT: _l("The department of the application's district (a vehicle's origin)"),
    ScopeRule.CITY: _l("The city-wide department"),
}
BY_CARGO_NAME = _l("By cargo category")


def _department_names() -> dict[str, Any]:
    return {BY_CARGO: BY_CARGO_NAME, **DEPARTMENT_NAMES}


def _load_kind(kind: str) -> Kind:
    try:
        return Kind(kind)
    except ValueError:
        abort(404)


@bp.get("/workflows", endpoint="workflows")
def workflows_page() -> str:
    """Each kind's current chain and its version history."""
    chains = []
    for kind in Kind:
        version, steps = workflows.editable_chain(kind)
        chains.append(
            {
                "kind": kind,
                "version": version,
                "steps": steps,
                "history": workflows.workflow_history(kind),
            }
        )
    return render_template(
        "admin/workflows.html",
        chains=chains,
        department_names=_department_names(),
        scope_rule_names=SCOPE_RULE_NAMES,
        cargo_departments=workflows.CARGO_DEPARTMENT,
        cargo_names=CARGO_NAMES,
    )


def _chain_form(kind: Kind, data: dict[str, Any] | None = None) -> ChainForm:
    form = ChainForm() if data is None else ChainForm(formdata=None, data=data)
    names = _department_names()
    form.set_choices(
        [SelectChoice(code, str(names[code])) for code in workflows.department_choices(kind)],
        [SelectChoice(rule.value, str(label)) for rule, label in SCOPE_RULE_NAMES.items()],
    )
    return form


def _rearranged(rows: list[dict[str, str]], op: str) -> list[dict[str, str]] | None:
    """The rows after a move, add or remove button; None for an unknown button."""
    rows = list(rows)
    name, _sep, index_text = op.partition("-")
    if name == "add":
        if len(rows) < workflows.MAX_STEPS:
            rows.append(
                {"department_code": "", "scope_rule": ScopeRule.CITY.value, "sla_hours": "24"}
            )
        return rows
    if not index_text.isdigit() or int(index_text) >= len(rows):
        return None
    i = int(index_text)
    if name == "remove":
        del rows[i]
    elif name == "up" and i > 0:
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
    elif name == "down" and i < len(rows) - 1:
        rows[i + 1], rows[i] = rows[i], rows[i + 1]
    elif name not in ("up", "down"):
        return None
    return rows


@bp.route("/workflows/<kind>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def workflow_edit(kind: str) -> Response | tuple[str, int]:
    chain_kind = _load_kind(kind)
    status = 200
    unplaced: dict[str, str] = {}
    if request.method == "GET":
        version, steps = workflows.editable_chain(chain_kind)
        rows = [
            {
                "department_code": s.department_code,
                "scope_rule": s.scope_rule.value,
                "sla_hours": str(s.sla_hours),
            }
            for s in steps
        ]
        form = _chain_form(chain_kind, {"base_version": str(version), "steps": rows})
    else:
        form = _chain_form(chain_kind)
        if not form.validate_on_submit():
            abort(400)
        op = request.form.get("op", "save")
        if op != "save":
            rearranged = _rearranged(form.rows(), op)
            if rearranged is None:
                abort(400)
            data = {"base_version": form.base_version.data, "steps": rearranged}
            form = _chain_form(chain_kind, data)
        else:
            try:
                steps = workflows.parse_chain(chain_kind, form.rows())
                base = form.base_version.data or ""
                workflow = workflows.save_chain(
                    chain_kind,
                    steps,
                    base_version=int(base) if base.isdigit() else 0,
                    actor=acting_user(),
                    now=utcnow(),
                )
            except DomainError as exc:
                unplaced = show_problems(form, exc.fields)
                if not exc.fields:
                    unplaced = {"": str(exc.message)}
                status = exc.status
            else:
                if str(workflow.version) == base:
                    flash(_("The chain is unchanged; no new version was saved."), "info")
                    return redirect(url_for("admin.workflows"))
                flash(
                    _(
                        "Saved as version %(v)d: new submissions follow it; applications under "
                        "way finish on the version they started with.",
                        v=workflow.version,
                    ),
                    "success",
                )
                return redirect(url_for("admin.workflows"))
    page = render_template(
        "admin/workflow_edit.html",
        kind=chain_kind,
        kind_name=KIND_NAMES[chain_kind],
        form=form,
        unplaced=unplaced,
        max_steps=workflows.MAX_STEPS,
    )
    return page, status
