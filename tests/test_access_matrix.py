"""Who may do what, for every route of the app: one table, checked with real requests.

Each row of ACCESS is one method of one endpoint of `app.url_map`; its six columns say what
each kind of caller gets. A route missing from the table, or a row naming a route that is gone,
fails the test, so a new route cannot ship without someone deciding who may call it.
docs/access.md is generated from this table:

    python -m tests.test_access_matrix --markdown > docs/access.md
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from functools import cached_property
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, current_app, url_for
from flask.testing import FlaskClient

from permits import devices
from permits.extensions import db
from permits.models import (
    Application,
    ApplicationBatch,
    Checkpoint,
    Demand,
    Department,
    Enterprise,
    Kind,
    MassRevocation,
    Pass,
    Role,
    User,
    utcnow,
)
from permits.services import (
    accounts,
    api_tokens,
    bulk_sheets,
    bulk_uploads,
    demand_handling,
    demands,
    enterprises,
    revocations,
    workflows,
)
from tests.api_helpers import Api, token_for
from tests.conftest import csrf_token, login, project_root
from tests.factories import (
    PASSWORD,
    PDF,
    make_application,
    make_approver,
    make_checkpoint,
    make_department,
    make_enterprise,
    make_pass,
    make_uscc,
    make_user,
    service_today,
    vehicle_fields,
    work_fields,
)

#: The columns, in order: who calls.
CALLERS = ("anonymous", "enterprise", "approver", "checkpoint", "admin", "supervisor")

#: What a caller gets (one letter per caller in each row of ACCESS).
LEGEND = {
    "o": "allowed, and it worked: 2xx, or a redirect (not to the login page) with no error message",
    "v": "allowed, but the input or the object's state was refused: 400/409/422, or a redirect "
    "with an error message (access was granted; the request was judged on its merits)",
    "L": "log in first: a redirect to /login?next=… (pages) or 401 (API)",
    "F": "forbidden: 403 (the role may never do this)",
    "N": "not found: 404 (the object is outside the caller's scope; its existence is not told)",
}

# The seeded world each row runs against (see World below): enterprise A in Pudong (310115)
# whose user is the "enterprise" caller; an approver of Pudong's economy commission, which signs
# step 1 of A's work-resumption and industrial-cargo applications; checkpoint staff posted at
# checkpoint A; an admin; a supervisor. Ids in the URLs name A's objects, the caller's own API
# token, and, under /admin, objects made for the purpose (a user, an enterprise, a department,
# a checkpoint, a mass revocation asked by another admin).
#
# fmt: off
ACCESS: dict[str, str] = {
    # method endpoint                      anon ent appr chk admin sup
    "GET static":                            "o o o o o o",
    "GET main.home":                         "o o o o o o",
    "GET main.healthz":                      "o o o o o o",
    "GET main.livez":                        "o o o o o o",
    # logging in, out, registering, language
    "GET auth.login":                        "o o o o o o",
    "POST auth.login":                       "o o o o o o",
    "GET auth.unlock":                       "o o o o o o",
    "POST auth.logout":                      "L o o o o o",
    "GET auth.register":                     "o o o o o o",
    "POST auth.register":                    "o o o o o o",
    "POST auth.set_language":                "o o o o o o",
    # one's own account
    "GET account.profile":                   "L o o o o o",
    "POST account.change_password":          "L o o o o o",
    "POST account.create_token":             "L o o o o o",
    "POST account.revoke_token":             "L o o o o o",
    "GET notifications.inbox":               "L o o o o o",
    "POST notifications.mark_read":          "L o o o o o",
    # applications in the browser
    "GET applications.index":                "L o F F F F",
    "GET applications.new":                  "L o F F F F",
    "POST applications.new":                 "L o F F F F",
    "GET applications.show":                 "L o o N o o",
    "GET applications.edit":                 "L o F F F F",
    "POST applications.edit":                "L o F F F F",
    "POST applications.upload":              "L o F F F F",
    "POST applications.submit":              "L o F F F F",
    "POST applications.withdraw":            "L o F F F F",
    "GET bulk.start":                        "L o F F F F",
    "GET bulk.template":                     "L o F F F F",
    "GET bulk.codes":                        "L o F F F F",
    "POST bulk.upload":                      "L o F F F F",
    "GET bulk.result":                       "L o F F F F",
    "GET bulk.corrected":                    "L o F F F F",
    "POST bulk.submit":                      "L o F F F F",
    "GET applications.download":             "L o o N o o",
    "GET review.queue":                      "L F o F F F",
    "POST review.decide":                    "L F o F F F",
    "POST review.decide_many":               "L F o F F F",
    "GET review.batch":                      "L F o F F F",
    # passes in the browser
    "GET passes.show":                       "L o o N o o",
    "GET passes.download":                   "L o o N o o",
    "POST passes.revoke":                    "L F o F o F",
    "POST passes.renew":                     "L o F F F F",
    "POST passes.share":                     "L o F F F F",
    "GET passes.shared":                     "o o o o o o",
    # checkpoints
    "GET checkpoint.scan":                   "L F F o o F",
    "GET checkpoint.history":                "L F F o o F",
    "GET checkpoint.anomalies":              "L F o F o o",
    "GET checkpoint.service_worker":         "o o o o o o",
    "GET checkpoint.qr_worker":              "o o o o o o",
    "GET checkpoint.manifest":               "o o o o o o",
    # administration and supervision
    "GET admin.index":                       "L F F F o o",
    "GET admin.dashboard":                   "L F F F o o",
    "GET admin.export_applications":         "L F F F o o",
    "GET admin.export_scans":                "L F F F o o",
    "GET admin.users":                       "L F F F o o",
    "GET admin.user":                        "L F F F o o",
    "GET admin.user_new":                    "L F F F o F",
    "POST admin.user_new":                   "L F F F o F",
    "POST admin.user_deactivate":            "L F F F o F",
    "POST admin.user_reactivate":            "L F F F o F",
    "POST admin.user_unlock":                "L F F F o F",
    "POST admin.user_reset_password":        "L F F F o F",
    "GET admin.enterprises":                 "L F F F o o",
    "GET admin.enterprise":                  "L F F F o o",
    "POST admin.enterprise_suspend":         "L F F F o F",
    "POST admin.enterprise_lift":            "L F F F o F",
    "GET admin.departments":                 "L F F F o o",
    "GET admin.department_new":              "L F F F o F",
    "POST admin.department_new":             "L F F F o F",
    "GET admin.department_edit":             "L F F F o F",
    "POST admin.department_edit":            "L F F F o F",
    "POST admin.department_delete":          "L F F F o F",
    "GET admin.checkpoints":                 "L F F F o o",
    "GET admin.checkpoint_new":              "L F F F o F",
    "POST admin.checkpoint_new":             "L F F F o F",
    "GET admin.checkpoint_edit":             "L F F F o F",
    "POST admin.checkpoint_edit":            "L F F F o F",
    "GET admin.workflows":                   "L F F F o o",
    "GET admin.workflow_edit":               "L F F F o F",
    "POST admin.workflow_edit":              "L F F F o F",
    "GET admin.keys":                        "L F F F o o",
    "POST admin.keys_rotate":                "L F F F o F",
    "GET admin.mass_revocations":            "L F F F o o",
    "POST admin.mass_revocation_preview":    "L F F F o F",
    "POST admin.mass_revocation_ask":        "L F F F o F",
    "GET admin.mass_revocation":             "L F F F o o",
    "POST admin.mass_revocation_confirm":    "L F F F o F",
    "POST admin.mass_revocation_cancel":     "L F F F o F",
    "GET admin.audit_log":                   "L F F F o o",
    # demand tickets in the browser (the ticket is A's, held by the approver's department)
    "GET demands.index":                     "L o F F F F",
    "GET demands.new":                       "L o F F F F",
    "POST demands.new":                      "L o F F F F",
    "GET demands.show":                      "L o o F o o",
    "POST demands.withdraw":                 "L o F F F F",
    "POST demands.confirm":                  "L o F F F F",
    "POST demands.reopen":                   "L o F F F F",
    "GET demands.queue":                     "L F o F F F",
    "POST demands.accept":                   "L F o F F F",
    "POST demands.answer":                   "L F o F F F",
    "POST demands.transfer":                 "L F o F F F",
    "POST demands.copy":                     "L F o F F F",
    "POST demands.note":                     "L F o F F F",
    "GET demands.to_assign":                 "L F F F o o",
    "POST demands.assign":                   "L F F F F o",
    # JSON API v1 (Bearer tokens)
    "GET api.openapi_json":                  "o o o o o o",
    "GET api.keys":                          "o o o o o o",
    "GET api.revocations":                   "o o o o o o",
    "GET api.me":                            "L o o o o o",
    "GET api.list_tokens":                   "L o o o o o",
    "DELETE api.revoke_token":               "L o o o o o",
    "GET api.list_applications":             "L o o F o o",
    "POST api.create_application":           "L o F F F F",
    "POST api.create_batch":                 "L o F F F F",
    "GET api.get_application":               "L o o N o o",
    "PATCH api.update_application":          "L o F F F F",
    "POST api.add_attachment":               "L o F F F F",
    "GET api.get_attachment":                "L o o N o o",
    "POST api.submit_application":           "L o F F F F",
    "POST api.withdraw_application":         "L o F F F F",
    "POST api.decide_application":           "L F o F F F",
    "POST api.decide_applications":          "L F o F F F",
    "GET api.get_pass":                      "L o o N o o",
    "GET api.get_pass_pdf":                  "L o o N o o",
    "POST api.revoke_pass":                  "L F o F o F",
    "POST api.verify":                       "L F F o o F",
    "POST api.upload_scans":                 "L F F o o F",
    "GET api.stats":                         "L F F F o o",
    # demand tickets over the API: A's staff_return ticket, held by Pudong's economy
    "POST api.create_demand":                "L o F F F F",
    "GET api.list_demands":                  "L o o F o o",
    "GET api.get_demand":                    "L o o N o o",
    "POST api.accept_demand":                "L F o F F F",
    "POST api.answer_demand":                "L F o F F F",
    "POST api.transfer_demand":              "L F o F F F",
    "POST api.copy_demand":                  "L F o F F F",
    "POST api.note_demand":                  "L F o F F F",
    "POST api.confirm_demand":               "L o F F F F",
    "POST api.reopen_demand":                "L o F F F F",
    "POST api.withdraw_demand":              "L o F F F F",
}
# fmt: on


def expected(row: str) -> dict[str, str]:
    letters = ACCESS[row].split()
    assert len(letters) == len(CALLERS) and set(letters) <= set(LEGEND), row
    return dict(zip(CALLERS, letters, strict=True))


#: The rule of permits/services/two_person.py, proved by tests/test_two_person_rule.py.
TWO_PERSON_RULE = (
    "## Two-person rule",
    "",
    "What needs a second administrator (confirming a mass revocation) counts a confirmation "
    "only from an active admin who did not ask for it, who is not on a one-time password, whose "
    "password no administrator set for them (created or reset it) after the request was made, "
    "and whose password the requester did not set in the last `ADMIN_HANDOVER_DAYS` (7) days. "
    "Creating an admin or resetting an admin's password is audited and told to every other "
    "admin; a reset of any other account is told to its holder (in the app, and by email when "
    "mail is on). Admins made with `flask users create` (the server's operator) have no such "
    "handover.",
)


def markdown() -> str:
    """docs/access.md: the table above, for people."""
    words = {
        "o": "yes",
        "v": "yes (input judged)",
        "L": "log in",
        "F": "403",
        "N": "404",
    }
    lines = [
        "# Who may do what",
        "",
        "Generated from `tests/test_access_matrix.py` (`python -m tests.test_access_matrix "
        "--markdown > docs/access.md`); the test fails when the two differ, and when a route "
        "of the app is missing from the table. Every cell is checked by a real request.",
        "",
        "The objects in the URLs belong to the enterprise of the *enterprise* column, whose "
        "applications wait at a step signed by the department of the *approver* column. "
        "Objects of other enterprises, other districts and other checkpoints answer 404 "
        "(see the IDOR tests in the same file).",
        "",
        *TWO_PERSON_RULE,
        "",
        "| cell | meaning |",
        "|---|---|",
        *(f"| {words[k]} | {v} |" for k, v in LEGEND.items()),
        "",
        "| method | endpoint | path | " + " | ".join(CALLERS) + " |",
        "|---|---|---|" + "---|" * len(CALLERS),
    ]
    from permits import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "DATABASE_URL": "sqlite://"})
    paths = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    for row in ACCESS:
        method, endpoint = row.split()
        cells = " | ".join(words[letter] for letter in expected(row).values())
        lines.append(f"| {method} | `{endpoint}` | `{paths.get(endpoint, '?')}` | {cells} |")
    return "\n".join(lines) + "\n"


# --- the seeded world ------------------------------------------------------------------------


@pytest.fixture
def app(migrated: str) -> Iterator[Flask]:
    """As conftest's, without rate limits: dozens of logins per test are access, not abuse."""
    from permits import create_app
    from permits.extensions import db
    from tests.conftest import IsolatedClient, empty_every_table, release_connections, test_config

    app = create_app(test_config(migrated, RATELIMIT_ENABLED=False))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        release_connections(app)
        db.session.remove()
        empty_every_table()
        db.engine.dispose()


PUDONG = "310115"


class People:
    """One user per calling role; enterprise A is in Pudong, the approver signs its step 1."""

    def __init__(self, district: str = PUDONG) -> None:
        self.district = district

    @cached_property
    def enterprise(self) -> User:
        return make_user(Role.ENTERPRISE, enterprise=make_enterprise(district=self.district))

    @cached_property
    def approver(self) -> User:
        return make_approver("economy", self.district)

    @cached_property
    def checkpoint(self) -> User:
        return make_user(Role.CHECKPOINT, checkpoint=make_checkpoint(district=self.district))

    @cached_property
    def admin(self) -> User:
        return make_user(Role.ADMIN)

    @cached_property
    def supervisor(self) -> User:
        return make_user(Role.SUPERVISOR)

    @cached_property
    def other_admin(self) -> User:
        return make_user(Role.ADMIN)

    def of(self, caller: str) -> User | None:
        return None if caller == "anonymous" else getattr(self, caller)


class World:
    """The objects a row's URL names, made on first use (fresh ones for every change)."""

    def __init__(self, people: People, *, foreign: bool = False) -> None:
        self.people = people
        #: The objects are another's: the tokens in URLs are their enterprise user's too.
        self.foreign = foreign

    @cached_property
    def draft(self) -> Application:
        """A complete work-resumption draft of enterprise A, ready to submit."""
        return make_application(
            self.people.enterprise, kind="work_resumption", district=self.people.district
        )

    @cached_property
    def submitted(self) -> Application:
        """A's work-resumption application at step 1, which the approver signs."""
        return make_application(
            self.people.enterprise,
            kind="work_resumption",
            submit=True,
            district=self.people.district,
        )

    @cached_property
    def issued(self) -> Pass:
        """A's vehicle pass for industrial cargo from Pudong (step 1: Pudong's economy)."""
        self.people.approver  # noqa: B018 - the department exists before the pass is signed
        return make_pass(
            self.people.enterprise, cargo_category="industrial", origin=self.people.district
        )

    @cached_property
    def victim(self) -> User:
        return make_user(Role.ENTERPRISE)

    @cached_property
    def deactivated(self) -> User:
        user = make_user(Role.ENTERPRISE)
        accounts.deactivate_user(user, now=utcnow(), actor=self.people.admin)
        db.session.commit()
        return user

    @cached_property
    def enterprise(self) -> Enterprise:
        return make_enterprise(district="310104")

    @cached_property
    def suspended(self) -> Enterprise:
        enterprise = make_enterprise(district="310104")
        enterprises.suspend(self.people.admin, enterprise, "tests", now=utcnow())
        db.session.commit()
        return enterprise

    @cached_property
    def department(self) -> Department:
        return make_department("postal", "310101")

    @cached_property
    def checkpoint(self) -> Checkpoint:
        return make_checkpoint(district="310101")

    @cached_property
    def mass(self) -> MassRevocation:
        criteria = revocations.Criteria(district=PUDONG)
        mass = revocations.ask(self.people.other_admin, criteria, "tests", now=utcnow())
        db.session.commit()
        return mass

    @cached_property
    def batch(self) -> ApplicationBatch:
        """A batch holding the application at the approver's step."""
        batch = ApplicationBatch(
            enterprise_id=self.submitted.enterprise_id,
            created_by_id=self.submitted.created_by_id,
            source="api",
        )
        db.session.add(batch)
        db.session.flush()
        self.submitted.batch_id = batch.id
        db.session.commit()
        return batch

    @cached_property
    def upload_key(self) -> str:
        """A spreadsheet the enterprise uploaded (one good row), waiting to be submitted."""
        owner = self.people.enterprise
        key = bulk_uploads.keep_upload(owner, "fleet.csv", _fleet_csv(), now=utcnow())
        db.session.commit()
        return key

    @cached_property
    def demand(self) -> Demand:
        """A's staff_return ticket, held by the approver's department (the district's economy);
        the district's transport and health exist to transfer or copy it to."""
        self.people.approver  # noqa: B018 - the department exists before the ticket is filed
        for code in ("transport", "health"):
            make_department(code, self.people.district)
        demand = demands.file_demand(
            self.people.enterprise,
            category="staff_return",
            title="员工无法返岗",
            description="小区封控，12名员工无法到岗。",
            now=utcnow(),
        )
        db.session.commit()
        return demand

    @cached_property
    def accepted_demand(self) -> Demand:
        demand = self.demand
        demand_handling.accept(self.people.approver, demand, now=utcnow())
        db.session.commit()
        return demand

    @cached_property
    def answered_demand(self) -> Demand:
        demand = self.accepted_demand
        demand_handling.answer(self.people.approver, demand, response="已协调。", now=utcnow())
        db.session.commit()
        return demand

    @cached_property
    def demand_to_assign(self) -> Demand:
        """A ticket transferred three times, waiting for the supervisors."""
        economy = self.people.approver
        transport = make_approver("transport", self.people.district)
        demand = self.demand
        for actor, to in ((economy, "transport"), (transport, "economy"), (economy, "transport")):
            demand_handling.transfer(actor, demand, department_code=to, reason="x", now=utcnow())
            db.session.commit()
        return demand

    def demand_for(self, endpoint: str) -> Demand:
        """The ticket, first brought to the state the row's action needs (DEMAND_STATES)."""
        demand, wanted = self.demand, DEMAND_STATES.get(endpoint, ())
        officer = self.people.approver
        if "accept" in wanted and demand.accepted_at is None:
            demand_handling.accept(officer, demand, now=utcnow())
        if "answer" in wanted and demand.answered_at is None:
            demand_handling.answer(officer, demand, response="已协调街道。", now=utcnow())
        db.session.commit()
        return demand

    def token_of(self, user: User | None) -> int:
        owner = self.people.enterprise if self.foreign or user is None else user
        token, _plain = api_tokens.issue_api_token(owner, "t", now=utcnow())
        db.session.commit()
        return token.id

    def share_path(self) -> str:
        from permits.views.passes import share_link

        with current_app.test_request_context():
            return urlsplit(share_link(self.issued, utcnow())).path


#: The rows whose application id names the draft; every other row names the submitted one.
ON_THE_DRAFT = {
    "applications.edit",
    "applications.upload",
    "applications.submit",
    "api.update_application",
    "api.add_attachment",
    "api.submit_application",
}
#: The rows whose demand id names a ticket further on than the open one.
DEMAND_IN_STATE = {
    "demands.confirm": "answered_demand",
    "demands.reopen": "answered_demand",
    "demands.answer": "accepted_demand",
    "demands.assign": "demand_to_assign",
}


#: What a demand row's ticket has been through first; every other row names an open ticket.
DEMAND_STATES = {
    "api.answer_demand": ("accept",),
    "api.confirm_demand": ("accept", "answer"),
    "api.reopen_demand": ("accept", "answer"),
}


def url_for_row(endpoint: str, world: World, caller: User | None) -> str:
    """The row's URL with the world's ids in it."""
    rule = next(r for r in current_app.url_map.iter_rules() if r.endpoint == endpoint)
    if "signed" in rule.arguments:
        return world.share_path()
    values: dict[str, Any] = {}
    for name in rule.arguments:
        if name == "application_id":
            values[name] = (world.draft if endpoint in ON_THE_DRAFT else world.submitted).id
        elif name == "demand_id" and endpoint.startswith("api."):
            values[name] = world.demand_for(endpoint).id
        elif name == "demand_id":
            values[name] = getattr(world, DEMAND_IN_STATE.get(endpoint, "demand")).id
        elif name == "attachment_id":
            values[name] = world.submitted.attachments[0].id
        elif name == "number":
            values[name] = world.issued.number
        elif name == "token_id":
            values[name] = world.token_of(caller)
        elif name == "user_id":
            target = world.deactivated if endpoint == "admin.user_reactivate" else world.victim
            values[name] = target.id
        elif name == "enterprise_id":
            target = world.suspended if endpoint == "admin.enterprise_lift" else world.enterprise
            values[name] = target.id
        elif name == "department_id":
            values[name] = world.department.id
        elif name == "checkpoint_id":
            values[name] = world.checkpoint.id
        elif name == "mass_id":
            values[name] = world.mass.id
        elif name == "kind":
            values[name] = "vehicle_pass"
        elif name == "batch_id":
            values[name] = world.batch.id
        elif name == "fmt":
            values[name] = "csv"
        elif name == "key":
            values[name] = world.upload_key
        elif name == "filename":
            values[name] = "css/app.css"
        elif name == "token":
            values[name] = devices.unlock_token(world.victim.id)
        else:
            raise AssertionError(f"{endpoint}: no sample value for <{name}>")
    with current_app.test_request_context():
        return url_for(endpoint, **values)


# --- the bodies: acceptable ones where that is practical -------------------------------------

Body = Callable[[World, User | None], dict[str, Any]]


def _form(**fields: Any) -> Body:
    return lambda world, caller: {"data": dict(fields)}


def _json(**fields: Any) -> Body:
    return lambda world, caller: {"json": dict(fields)}


def _plan() -> Body:
    def body(world: World, caller: User | None) -> dict[str, Any]:
        data = {"purpose": "prevention_plan", "file": (BytesIO(PDF), "plan.pdf")}
        return {"data": data, "content_type": "multipart/form-data"}

    return body


def _with_department(code: str, **fields: Any) -> Body:
    """A form naming a department of the ticket's district, which is made first."""

    def body(world: World, caller: User | None) -> dict[str, Any]:
        make_department(code, world.people.district)
        return {"data": dict(fields)}

    return body


def _fleet_csv() -> bytes:
    """The upload template with one good vehicle row."""
    from permits.services.bulk_sheets import columns, template_csv

    template = template_csv(service_today()).decode("utf-8-sig").splitlines()
    keys = [key for key, _ in columns(bulk_sheets.max_drivers())]
    fields = vehicle_fields()
    driver = fields["drivers"][0]
    row = {**{k: str(v) for k, v in fields.items() if k != "drivers"}}
    row.update(
        driver1_name=driver["name"],
        driver1_id_number=driver["id_number"],
        driver1_phone=driver["phone"],
    )
    line = ",".join(row.get(key, "") for key in keys)
    return ("\n".join([template[0], line]) + "\n").encode("utf-8")


def _fleet_upload(world: World, caller: User | None) -> dict[str, Any]:
    data = {"file": (BytesIO(_fleet_csv()), "fleet.csv")}
    return {"data": data, "content_type": "multipart/form-data"}


def _login(world: World, caller: User | None) -> dict[str, Any]:
    return {"data": {"email": world.people.enterprise.email, "password": PASSWORD}}


def _register(world: World, caller: User | None) -> dict[str, Any]:
    return {
        "data": {
            "name": "浦东注册测试有限公司",
            "uscc": make_uscc(PUDONG),
            "district": PUDONG,
            "address": "张江路1号",
            "contact_name": "李明",
            "contact_phone": "13800138001",
            "email": "new-enterprise@example.com",
            "password": "a-new-password-0815",
            "password_again": "a-new-password-0815",
        }
    }


def _vehicle_form(world: World, caller: User | None) -> dict[str, Any]:
    fields = vehicle_fields()
    driver = fields.pop("drivers")[0]
    data = {name: str(value) for name, value in fields.items()}
    data.update({f"drivers-0-{name}": value for name, value in driver.items()})
    return {"data": data}


def _chain(world: World, caller: User | None) -> dict[str, Any]:
    """The default vehicle-pass chain, saved again as a new version."""
    version, _steps = workflows.editable_chain(Kind.VEHICLE_PASS)
    rows = [("by_cargo", "district", "12"), ("transport", "city", "12")]
    data = {"base_version": str(version)}
    for i, (code, scope_rule, hours) in enumerate(rows):
        data |= {
            f"steps-{i}-department_code": code,
            f"steps-{i}-scope_rule": scope_rule,
            f"steps-{i}-sla_hours": hours,
        }
    return {"data": data}


def _verify(world: World, caller: User | None) -> dict[str, Any]:
    return {"json": {"code": world.issued.control_code}}


def _new_user(world: World, caller: User | None) -> dict[str, Any]:
    return {"data": {"email": "made-by-admin@example.com", "name": "新用户", "role": "supervisor"}}


BODIES: dict[str, Body] = {
    "POST auth.login": _login,
    "POST auth.register": _register,
    "POST auth.set_language": _form(locale="en"),
    "POST account.change_password": _form(
        current_password=PASSWORD,
        new_password="another-river-8812",
        new_password_again="another-river-8812",
    ),
    "POST account.create_token": _form(name="ci"),
    "POST applications.new": _vehicle_form,
    "POST applications.edit": _form(**{k: str(v) for k, v in work_fields().items()}),
    "POST applications.upload": _plan(),
    "POST applications.withdraw": _form(confirm="y"),
    "POST review.decide": _form(decision="approve"),
    "POST review.decide_many": lambda world, caller: _form(
        ids=str(world.submitted.id), decision="approve"
    )(world, caller),
    "POST passes.revoke": _form(reason="The truck was sold."),
    "POST admin.user_new": _new_user,
    "POST admin.enterprise_suspend": _form(reason="Outbreak on site."),
    "POST admin.department_new": _form(department="postal", scope="310104"),
    "POST admin.department_edit": _form(department="postal", scope="310105"),
    "POST admin.checkpoint_new": _form(
        code="CP-NEW", name="新卡口", district="310104", latitude="31.2", longitude="121.4"
    ),
    "POST admin.checkpoint_edit": _form(
        code="CP-EDIT", name="改名卡口", district="310104", latitude="31.2", longitude="121.4"
    ),
    "POST admin.workflow_edit": _chain,
    "POST admin.mass_revocation_preview": _form(district=PUDONG),
    "POST admin.mass_revocation_ask": _form(district=PUDONG, reason="Forged documents."),
    "POST demands.new": _form(
        category="staff_return", title="员工无法返岗", description="小区封控，员工无法到岗。"
    ),
    "POST demands.confirm": _form(rating="5"),
    "POST demands.reopen": _form(reason="证明不被小区认可。"),
    "POST demands.answer": _form(response="已协调街道开具返岗证明。"),
    "POST demands.transfer": _with_department("transport", department="transport", reason="x"),
    "POST demands.copy": _with_department("health", copy_department="health"),
    "POST demands.note": _form(text="先联系街道"),
    "POST demands.assign": lambda world, caller: _form(
        department="economy", scope=world.people.district
    )(world, caller),
    "POST api.create_application": _json(kind="vehicle_pass", **vehicle_fields()),
    "POST api.create_batch": lambda world, caller: _json(
        applications=[{"kind": "vehicle_pass", **vehicle_fields()}]
    )(world, caller),
    "POST bulk.upload": _fleet_upload,
    "PATCH api.update_application": _json(staff_on_site=12),
    "POST api.add_attachment": _plan(),
    "POST api.decide_application": _json(decision="approve"),
    "POST api.decide_applications": lambda world, caller: _json(
        ids=[world.submitted.id], decision="approve"
    )(world, caller),
    "POST api.revoke_pass": _json(reason="The truck was sold."),
    "POST api.verify": _verify,
    "POST api.upload_scans": _json(scans=[]),
    "POST api.create_demand": _json(
        category="logistics", title="货车无法进园区", description="园区封闭，货车无法进出。"
    ),
    "POST api.answer_demand": _json(response="已协调街道开具返岗证明。"),
    "POST api.transfer_demand": _json(department="transport", reason="属物流问题"),
    "POST api.copy_demand": _json(department="health"),
    "POST api.note_demand": _json(text="已联系街道"),
    "POST api.confirm_demand": _json(rating=5),
    "POST api.reopen_demand": _json(reason="证明不被小区认可。"),
}


#: Query strings of the reads that need one.
QUERIES = {
    "GET admin.export_applications": "?date_from=2026-01-01&date_to=2026-01-31",
    "GET admin.export_scans": "?date_from=2026-01-01&date_to=2026-01-31",
}


# --- calling and judging ---------------------------------------------------------------------

READS = frozenset({"GET"})


def session_client(app: Flask, user: User | None) -> FlaskClient:
    client = app.test_client()
    if user is not None:
        assert login(client, user.email, PASSWORD).status_code == 302
    return client


def outcome(client: FlaskClient, response: Any, *, is_api: bool) -> str:
    """The legend's letter for this response."""
    status = response.status_code
    location = response.headers.get("Location", "")
    if status == 401 or (status == 302 and location.startswith("/login?next=")):
        return "L"
    if status in (403, 404):
        return {403: "F", 404: "N"}[status]
    if status in (400, 409, 422):
        return "v"
    if 200 <= status < 400:
        if is_api or status < 300:
            return "o"
        with client.session_transaction() as session:
            flashed = {category for category, _message in session.get("_flashes", [])}
        return "v" if flashed & {"error", "warning"} else "o"
    return f"?{status}"


def call(app: Flask, row: str, caller: str, people: People, world: World) -> str:
    method, endpoint = row.split()
    user = people.of(caller)
    url = url_for_row(endpoint, world, user) + QUERIES.get(row, "")
    request = BODIES.get(row, _form())(world, user)
    is_api = url.startswith("/api/")
    if is_api:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token_for(user)}"} if user is not None else {}
        if method in READS:
            request = {}
        response = client.open(url, method=method, headers=headers, buffered=True, **request)
    else:
        client = session_client(app, user)
        if method not in READS:
            data = request.setdefault("data", {})
            data["csrf_token"] = csrf_token(client, "/login" if user is None else "/account/")
        else:
            request = {}
        response = client.open(url, method=method, buffered=True, **request)
    with response:
        return outcome(client, response, is_api=is_api)


def observed_row(app: Flask, row: str) -> dict[str, str]:
    """What each caller gets; a change is tried on fresh objects by each caller."""
    people = People()
    shared = World(people)
    method = row.split()[0]
    return {
        caller: call(app, row, caller, people, shared if method in READS else World(people))
        for caller in CALLERS
    }


# --- the tests -------------------------------------------------------------------------------


def routes_of(app: Flask) -> set[str]:
    return {
        f"{method} {rule.endpoint}"
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_the_table_names_every_route_and_only_routes_that_exist(app: Flask) -> None:
    table = set(ACCESS)
    assert sorted(routes_of(app) - table) == [], "routes missing from ACCESS"
    assert sorted(table - routes_of(app)) == [], "rows of ACCESS naming no route"


@pytest.mark.parametrize("row", list(ACCESS))
def test_each_caller_gets_what_the_table_says(app: Flask, row: str) -> None:
    assert observed_row(app, row) == expected(row)


# --- object level: across every boundary (IDOR) ---------------------------------------------

XUHUI = "310104"
#: The parameters that name one object of one owner.
OBJECT_IDS = {
    "application_id",
    "attachment_id",
    "number",
    "token_id",
    "key",
    "batch_id",
    "demand_id",
}


def rows_naming_objects(app: Flask) -> list[str]:
    """Every row outside /admin whose URL names an object by id or number."""
    with_ids = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.arguments & OBJECT_IDS and not rule.endpoint.startswith("admin.")
    }
    return [row for row in ACCESS if row.split()[1] in with_ids]


def test_every_id_bearing_route_is_tried_across_the_boundary(app: Flask) -> None:
    """Pudong's enterprise, approver and checkpoint on Xuhui's enterprise's objects: 404, so
    nobody learns that the id exists; 403 only where the role may never do this at all."""
    rows = rows_naming_objects(app)
    assert len(rows) >= 20
    ours, theirs = People(PUDONG), People(XUHUI)
    leaks = {}
    for row in rows:
        method = row.split()[0]
        shared = World(theirs, foreign=True)
        for caller in ("enterprise", "approver", "checkpoint"):
            world = shared if method in READS else World(theirs, foreign=True)
            wanted = "F" if expected(row)[caller] == "F" else "N"
            got = call(app, row, caller, ours, world)
            if got != wanted:
                leaks[f"{row} by {caller}"] = got
    assert leaks == {}


def test_the_owner_and_the_signing_district_do_reach_those_objects(app: Flask) -> None:
    """The other side of the boundary: Xuhui's own callers get what the table says."""
    theirs = People(XUHUI)
    world = World(theirs)
    for row in rows_naming_objects(app):
        if row.split()[0] not in READS:
            continue
        for caller in ("enterprise", "approver"):
            assert call(app, row, caller, theirs, world) == expected(row)[caller], (row, caller)


def test_checkpoint_staff_log_scans_only_at_their_own_checkpoint(app: Flask) -> None:
    world = World(People(PUDONG))
    staff = world.people.checkpoint
    elsewhere = make_checkpoint("CP-ELSEWHERE", district=XUHUI)
    api = Api(app.test_client(), staff)
    code = world.issued.control_code
    assert api.post("/verify", {"code": code, "checkpoint": elsewhere.code}).status_code == 403
    own = api.post("/verify", {"code": code, "checkpoint": staff.checkpoint.code})
    assert own.status_code == 200 and own.get_json()["result"] == "valid"


def test_admin_pages_refuse_other_roles_alike_for_existing_and_missing_ids(app: Flask) -> None:
    """403 for a role that may not administer, whether or not the id exists: nothing leaks."""
    people, world = People(), World(People())
    admin_rows = [
        row
        for row in ACCESS
        if row.split()[1].startswith("admin.")
        and "<int:"
        in next(r.rule for r in app.url_map.iter_rules() if r.endpoint == row.split()[1])
    ]
    assert len(admin_rows) >= 15
    for row in admin_rows:
        for caller in ("enterprise", "approver", "checkpoint"):
            client = session_client(app, people.of(caller))
            method, endpoint = row.split()
            real = url_for_row(endpoint, world, None)
            missing = re.sub(r"/\d+(?=/|$)", "/987654", real)
            token = csrf_token(client, "/account/")
            for url in (real, missing):
                data = {} if method in READS else {"data": {"csrf_token": token}}
                with client.open(url, method=method, buffered=True, **data) as response:
                    assert response.status_code == 403, (row, caller, url)


def test_docs_access_md_is_the_table() -> None:
    document = (project_root() / "docs" / "access.md").read_text()
    assert document == markdown(), (
        "run: python -m tests.test_access_matrix --markdown > docs/access.md"
    )


if __name__ == "__main__" and "--markdown" in sys.argv:
    sys.stdout.write(markdown())
    raise SystemExit(0)
