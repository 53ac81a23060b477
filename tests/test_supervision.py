"""Supervision: the dashboard, GET /api/v1/stats and the CSV exports, on a known city."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from permits.extensions import db
from permits.models import (
    SNAPSHOT_ID,
    Application,
    Checkpoint,
    Decision,
    Role,
    ScanEvent,
    SupervisionSnapshot,
    utcnow,
)
from permits.services import issuance, reviews
from permits.services.supervision import decisions, figures, snapshot
from permits.workflow import Action
from tests.api_helpers import Api
from tests.conftest import form_post, login
from tests.factories import (
    PASSWORD,
    make_application,
    make_approver,
    make_checkpoint,
    make_enterprise,
    make_user,
)

#: Hours each application waited at step 1, and at step 2, with the decision taken there.
STEP_1_HOURS = (1, 2, 3, 10)
STEP_2 = ((4, "approve"), (6, "approve"), (8, "return"), (12, "reject"))


def decide(application: Application, action: str, **extra: Any) -> None:
    code, scope = application.current_department_code, application.current_scope
    assert code and scope
    reviews.decide(make_approver(code, scope), application, action, now=utcnow(), **extra)
    db.session.commit()


def set_history(application: Application, *hours: float) -> None:
    """Rewrites when the submission and each decision happened: `hours` after each other."""
    at = utcnow() - timedelta(days=5)
    rows = db.session.scalars(
        select(Decision).where(Decision.application_id == application.id).order_by(Decision.id)
    ).all()
    assert len(rows) == len(hours) + 1
    rows[0].created_at = at
    for row, gap in zip(rows[1:], hours, strict=True):
        at += timedelta(hours=gap)
        row.created_at = at
    db.session.commit()


def age(application: Application, hours_overdue: int, sla: int = 12) -> None:
    application.step_due_at = utcnow() - timedelta(hours=hours_overdue)
    application.step_entered_at = application.step_due_at - timedelta(hours=sla)
    db.session.commit()


@pytest.fixture
def city(app: Flask) -> dict[str, Any]:
    """Four decided vehicle passes with chosen times, three overdue applications, some scans."""
    enterprise = make_user(Role.ENTERPRISE, enterprise=make_enterprise(name="=cmd|' /C calc'!A0"))
    decided = []
    for i, (first, (second, action)) in enumerate(zip(STEP_1_HOURS, STEP_2, strict=True)):
        application = make_application(enterprise, submit=True, plate=f"沪A2000{i}")
        decide(application, "approve")
        extra: dict[str, Any] = {}
        if action == "return":
            extra["comment"] = "请补充 =HYPERLINK 通行证明"
        if action == "reject":
            extra = {"comment": "司机电话 13800138000 不符", "reason_code": "incomplete_documents"}
        decide(application, action, **extra)
        set_history(application, first, second)
        decided.append(application)
    issued = issuance.pass_of(decided[0])
    assert issued is not None
    issuance.revoke_pass(make_user(Role.ADMIN), issued, "测试吊销", now=utcnow())
    db.session.commit()

    pudong = [make_application(enterprise, submit=True, plate=f"沪B1000{i}") for i in range(2)]
    huangpu = make_application(enterprise, submit=True, plate="沪C10000", origin="310101")
    waiting = make_application(enterprise, submit=True, plate="沪D10000")
    for application, hours in ((pudong[0], 5), (pudong[1], 30), (huangpu, 2)):
        age(application, hours)

    east, west = make_checkpoint("CP-EAST"), make_checkpoint("CP-WEST")
    user = make_user(Role.CHECKPOINT, checkpoint=east)
    now = utcnow()
    for checkpoint, result, minutes, anomaly in (
        (east, "valid", 5, None),
        (east, "valid", 70, None),
        (east, "revoked", 75, "frequency"),
        (west, "not_found", 10, None),
        (west, "valid", 60 * 30, None),  # yesterday: outside the last 24 h
    ):
        db.session.add(
            ScanEvent(
                checkpoint_id=checkpoint.id,
                user_id=user.id,
                scanned_at=now - timedelta(minutes=minutes),
                result=result,
                method="qr",
                pass_id=issued.id,
                anomaly=anomaly,
            )
        )
    db.session.commit()
    return {
        "decided": decided,
        "pudong": pudong,
        "huangpu": huangpu,
        "waiting": waiting,
        "east": east,
    }


def stats_as(client: FlaskClient, role: Role) -> Any:
    return Api(client, make_user(role)).get("/stats")


def test_stats_count_applications_passes_and_decision_times(
    client: FlaskClient, city: dict[str, Any]
) -> None:
    response = stats_as(client, Role.SUPERVISOR)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    stats = response.get_json()
    assert stats["passes_issued"] == 2
    assert stats["passes_revoked"] == 1
    assert stats["passes_active"] == 1
    assert stats["applications"]["by_state"] == {
        "in_review": 4,
        "approved": 2,
        "returned": 1,
        "rejected": 1,
    }
    assert stats["applications"]["by_kind"] == {"vehicle_pass": 8}
    assert stats["applications"]["by_district"] == {"310115": 7, "310101": 1}
    assert stats["applications"]["per_day"][-1]["submitted"] == 8
    assert len(stats["applications"]["per_day"]) == 30

    steps = {(s["kind"], s["step"], s["department"]): s for s in stats["steps"]}
    first = steps[("vehicle_pass", 1, "commerce")]
    assert (first["decisions"], first["median"], first["p90"]) == (4, 2.5, 7.9)
    second = steps[("vehicle_pass", 2, "transport")]
    assert (second["decisions"], second["median"], second["p90"]) == (4, 7.0, 10.8)


def test_overdue_work_is_counted_per_department_most_overdue_first(
    client: FlaskClient, city: dict[str, Any]
) -> None:
    overdue = stats_as(client, Role.ADMIN).get_json()["overdue"]
    assert overdue["total"] == 3
    assert [(d["department"], d["scope"], d["count"]) for d in overdue["by_department"]] == [
        ("commerce", "310115", 2),
        ("commerce", "310101", 1),
    ]
    # The most overdue first within the department; the application still in time is absent.
    assert overdue["by_department"][0]["applications"] == [
        city["pudong"][1].id,
        city["pudong"][0].id,
    ]


def test_common_problems_count_reasons_and_hide_phone_numbers(
    client: FlaskClient, city: dict[str, Any]
) -> None:
    problems = stats_as(client, Role.ADMIN).get_json()["common_problems"]
    by_reason = {(p["action"], p["reason_code"]): p for p in problems}
    assert by_reason[("return", None)]["count"] == 1
    assert by_reason[("return", None)]["examples"] == ["请补充 =HYPERLINK 通行证明"]
    rejected = by_reason[("reject", "incomplete_documents")]
    assert rejected["count"] == 1
    assert "13800138000" not in rejected["examples"][0]
    assert rejected["examples"][0].startswith("司机电话")


def test_scans_of_the_last_day_per_checkpoint_and_verdict(
    client: FlaskClient, city: dict[str, Any]
) -> None:
    stats = stats_as(client, Role.ADMIN).get_json()
    scans = stats["scans"]
    assert scans["total"] == 4
    by_code = {c["checkpoint"]: c for c in scans["by_checkpoint"]}
    assert by_code["CP-EAST"]["total"] == 3
    assert sum(by_code["CP-EAST"]["per_hour"]) == 3
    assert by_code["CP-WEST"]["total"] == 1
    assert [c["checkpoint"] for c in scans["by_checkpoint"]] == ["CP-EAST", "CP-WEST"]
    assert scans["verdicts"] == {"valid": 2, "not_found": 1, "revoked": 1}
    assert stats["anomalies"] == 1


@pytest.mark.parametrize("role", [Role.ENTERPRISE, Role.APPROVER, Role.CHECKPOINT])
def test_stats_are_refused_to_other_roles(client: FlaskClient, role: Role) -> None:
    response = stats_as(client, role)
    assert response.status_code == 403
    assert response.is_json


def test_stats_are_refused_to_anonymous_callers(client: FlaskClient) -> None:
    response = client.get("/api/v1/stats")
    assert response.status_code == 401
    assert response.is_json


def test_the_dashboard_shows_what_the_api_says(app: Flask, city: dict[str, Any]) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    client = app.test_client()
    stats = Api(client, supervisor).get("/stats").get_json()
    login(client, supervisor.email, PASSWORD)
    page = client.get("/admin/dashboard").get_data(as_text=True)
    for name in ("overdue", "passes-issued", "passes-active", "passes-revoked", "anomalies"):
        key = {"overdue": None, "anomalies": "anomalies"}.get(name, name.replace("-", "_"))
        expected = stats["overdue"]["total"] if key is None else stats[key]
        assert f'id="stat-{name}">{expected}<' in page, name
    for step in stats["steps"]:
        assert f'<td class="median">{step["median"]:.2f}</td>' in page
        assert f'<td class="p90">{step["p90"]:.2f}</td>' in page
    assert 'id="dashboard-data"' in page
    assert "vendor/chartjs/chart.umd.min.js" in page


def test_the_dashboard_reads_in_chinese_with_the_most_overdue_department_first(
    app: Flask, city: dict[str, Any]
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    login(client, supervisor.email, PASSWORD)
    response = client.get("/admin/dashboard")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "已超时" in page  # "Overdue"
    table = page[page.index('id="overdue"') :]
    pudong = table.index(f">#{city['pudong'][1].id}<")
    huangpu = table.index(f">#{city['huangpu'].id}<")
    assert pudong < huangpu
    rows = table.split('class="overdue-department">')[1:]
    assert "浦东" in rows[0] and "商务委员会" in rows[0]
    assert "黄浦" in rows[1]


def test_supervisors_read_but_never_change_anything_in_admin(app: Flask) -> None:
    # A change under /admin (the blueprint's guard runs for every "admin." endpoint).
    app.add_url_rule("/admin/_probe", "admin._probe", lambda: "changed", methods=["POST"])
    supervisor, admin = make_user(Role.SUPERVISOR), make_user(Role.ADMIN)
    client = app.test_client()
    login(client, supervisor.email, PASSWORD)
    assert client.get("/admin/dashboard").status_code == 200
    assert client.get("/admin/").status_code == 200
    changes = [
        re.sub(r"<[^>]+>", "1", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.") and "POST" in (rule.methods or ())
    ]
    assert "/admin/_probe" in changes
    for url in changes:
        assert form_post(client, url, {}, page="/admin/").status_code == 403, url
    as_admin = app.test_client()
    login(as_admin, admin.email, PASSWORD)
    assert form_post(as_admin, "/admin/_probe", {}, page="/admin/").status_code == 200


@pytest.mark.parametrize("role", [Role.ENTERPRISE, Role.APPROVER, Role.CHECKPOINT])
def test_the_dashboard_is_refused_to_other_roles(app: Flask, role: Role) -> None:
    user = make_user(role)
    client = app.test_client()
    login(client, user.email, PASSWORD)
    assert client.get("/admin/dashboard").status_code == 403
    assert client.get("/admin/export/applications.csv").status_code == 403


def read_csv(response: Any) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_application_export_is_filtered_and_neutralises_formulas(
    app: Flask, city: dict[str, Any]
) -> None:
    admin = make_user(Role.ADMIN)
    client = app.test_client()
    login(client, admin.email, PASSWORD)
    today = utcnow().date()
    response = client.get(
        "/admin/export/applications.csv",
        buffered=True,  # the streamed body is read inside the request, as a server does
        query_string={
            "state": "in_review",
            "district": "310115",
            "date_from": (today - timedelta(days=1)).isoformat(),
            "date_to": (today + timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    header, *rows = read_csv(response)
    assert header[:3] == ["id", "kind", "state"] and "overdue" in header
    assert sorted(int(r[0]) for r in rows) == sorted(
        [city["pudong"][0].id, city["pudong"][1].id, city["waiting"].id]
    )
    assert all(r[2] == "in_review" for r in rows)
    assert {r[3] for r in rows} == {"'=cmd|' /C calc'!A0"}
    overdue = {int(r[0]): r[header.index("overdue")] for r in rows}
    assert overdue[city["pudong"][0].id] == "yes" and overdue[city["waiting"].id] == "no"
    body = response.get_data(as_text=True)
    assert "13800138000" not in body and "13900001111" not in body


def test_scan_export_lists_the_scans_of_the_range(app: Flask, city: dict[str, Any]) -> None:
    admin = make_user(Role.ADMIN)
    client = app.test_client()
    login(client, admin.email, PASSWORD)
    today = utcnow().date()
    response = client.get(
        "/admin/export/scans.csv",
        buffered=True,
        query_string={
            "date_from": (today - timedelta(days=3)).isoformat(),
            "date_to": (today + timedelta(days=1)).isoformat(),
        },
    )
    header, *rows = read_csv(response)
    assert header == [
        "scanned_at",
        "checkpoint",
        "pass_number",
        "result",
        "method",
        "offline",
        "anomaly",
        "user_id",
    ]
    assert len(rows) == 5
    assert {r[1] for r in rows} == {"CP-EAST", "CP-WEST"}
    assert sorted(r[6] for r in rows if r[6]) == ["frequency"]
    checkpoint = db.session.scalar(select(Checkpoint).where(Checkpoint.code == "CP-EAST"))
    assert checkpoint is not None and "@" not in response.get_data(as_text=True)


def test_an_export_range_too_long_or_reversed_is_refused_at_the_field(app: Flask) -> None:
    admin = make_user(Role.ADMIN)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, admin.email, PASSWORD)
    for start, end in (("2026-01-01", "2027-06-01"), ("2026-02-01", "2026-01-01")):
        response = client.get(
            "/admin/export/applications.csv",
            query_string={"date_from": start, "date_to": end},
        )
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert 'id="date_to-error"' in page
    response = client.get("/admin/export/scans.csv", query_string={"date_from": "soon"})
    assert response.status_code == 400


def test_decision_times_cover_the_last_90_days_only(app: Flask) -> None:
    application = make_application(submit=True)
    decide(application, "approve")
    rows = db.session.scalars(select(Decision).order_by(Decision.id)).all()
    assert [r.action for r in rows] == [Action.SUBMIT, Action.APPROVE]
    rows[0].created_at = utcnow() - timedelta(days=95)
    rows[1].created_at = utcnow() - timedelta(days=91)
    db.session.commit()
    assert decisions.step_times(utcnow()) == []
    rows[1].created_at = utcnow() - timedelta(days=89)
    db.session.commit()
    [timed] = decisions.step_times(utcnow())
    assert (timed.step, timed.department, timed.median) == (1, "commerce", 144.0)


# --- the snapshot: what page and API serve between refreshes --------------------------------

ZONE = ZoneInfo("Asia/Shanghai")


def supervisor_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    login(client, make_user(Role.SUPERVISOR).email, PASSWORD)
    return client


def shown_time(page: str) -> str:
    """The time the page says its figures are exact at (under the heading)."""
    found = re.search(r'<p class="muted">[^<]*?(\d{4}-\d\d-\d\d \d\d:\d\d)[^<]*</p>', page)
    assert found is not None
    return found.group(1)


def applications_in_review(stats: dict[str, Any]) -> int:
    return int(stats["applications"]["by_state"].get("in_review", 0))


def test_a_fresh_snapshot_is_served_as_it_is_and_a_stale_one_recomputed(
    app: Flask, city: dict[str, Any]
) -> None:
    app.config["SUPERVISION_MAX_AGE_SECONDS"] = 60
    api = Api(app.test_client(), make_user(Role.SUPERVISOR))
    first = api.get("/stats").get_json()
    assert applications_in_review(first) == 4

    make_application(submit=True, plate="沪E10000")  # after the snapshot was taken
    again = api.get("/stats").get_json()
    assert again == first  # the same figures, exact at the same time

    app.config["SUPERVISION_MAX_AGE_SECONDS"] = 0  # now the snapshot is too old
    fresh = api.get("/stats").get_json()
    assert applications_in_review(fresh) == 5
    assert fresh["generated_at"] > first["generated_at"]
    app.config["SUPERVISION_MAX_AGE_SECONDS"] = 60
    assert api.get("/stats").get_json() == fresh  # and stored for the next ones


def test_the_dashboard_shows_when_its_snapshot_was_computed_and_agrees_with_the_api(
    app: Flask, city: dict[str, Any]
) -> None:
    app.config["SUPERVISION_MAX_AGE_SECONDS"] = 600
    taken_at = utcnow() - timedelta(minutes=5)
    snapshot.refresh(taken_at, zone=ZONE)
    make_application(submit=True, plate="沪E10000")

    page = supervisor_client(app).get("/admin/dashboard").get_data(as_text=True)
    assert shown_time(page) == f"{taken_at.astimezone(ZONE):%Y-%m-%d %H:%M}"
    stats = Api(app.test_client(), make_user(Role.SUPERVISOR)).get("/stats").get_json()
    assert stats["generated_at"] == taken_at.isoformat()
    assert applications_in_review(stats) == 4  # the application added since is not counted yet
    assert f'id="stat-overdue">{stats["overdue"]["total"]}<' in page
    assert f'id="stat-passes-issued">{stats["passes_issued"]}<' in page


def test_a_snapshot_gives_back_exactly_the_figures_it_stored(
    app: Flask, city: dict[str, Any]
) -> None:
    now = utcnow()
    refreshed = snapshot.refresh(now, zone=ZONE)
    assert refreshed == figures.compute(now, zone=ZONE)
    db.session.rollback()
    assert snapshot.stored_figures() == refreshed


def test_while_another_refresh_runs_the_older_figures_are_served(
    app: Flask, city: dict[str, Any]
) -> None:
    earlier = utcnow() - timedelta(minutes=2)
    snapshot.refresh(earlier, zone=ZONE)
    now = utcnow()
    row = db.session.get(SupervisionSnapshot, SNAPSHOT_ID)
    assert row is not None
    row.refreshing_since = now - timedelta(seconds=5)  # another worker is at it
    db.session.commit()
    max_age = timedelta(seconds=60)

    served = snapshot.current_figures(now, zone=ZONE, max_age=max_age)
    assert served.generated_at == earlier
    assert snapshot.refresh(now, zone=ZONE) is None  # nor does a timer start a second one

    # A refresh that never finished (its worker was killed) is taken over after a while.
    later = now + snapshot.REFRESH_TIMEOUT
    assert snapshot.current_figures(later, zone=ZONE, max_age=max_age).generated_at == later


def test_without_any_snapshot_the_first_request_computes_the_figures(
    app: Flask, city: dict[str, Any]
) -> None:
    db.session.add(SupervisionSnapshot(id=SNAPSHOT_ID, refreshing_since=utcnow()))
    db.session.commit()  # the first refresh is under way elsewhere, nothing stored yet
    now = utcnow()
    served = snapshot.current_figures(now, zone=ZONE, max_age=timedelta(seconds=60))
    assert served == figures.compute(now, zone=ZONE)


def test_the_refresh_command_stores_the_figures_the_page_then_serves(
    app: Flask, city: dict[str, Any]
) -> None:
    app.config["SUPERVISION_MAX_AGE_SECONDS"] = 60
    result = app.test_cli_runner().invoke(args=["supervision", "refresh"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Supervision figures refreshed: exact at ")
    stored = snapshot.stored_figures()
    assert stored is not None
    assert f"{stored.generated_at:%Y-%m-%d %H:%M:%S} UTC" in result.output
    assert stored == figures.compute(stored.generated_at, zone=ZONE)
    db.session.rollback()

    page = supervisor_client(app).get("/admin/dashboard").get_data(as_text=True)
    assert shown_time(page) == f"{stored.generated_at.astimezone(ZONE):%Y-%m-%d %H:%M}"
    stats = Api(app.test_client(), make_user(Role.SUPERVISOR)).get("/stats").get_json()
    assert stats["generated_at"] == stored.generated_at.isoformat()


def test_the_refresh_command_leaves_a_running_refresh_alone(app: Flask) -> None:
    db.session.add(SupervisionSnapshot(id=SNAPSHOT_ID, refreshing_since=utcnow()))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["supervision", "refresh"])
    assert result.exit_code == 0, result.output
    assert "Another refresh is running" in result.output
    assert snapshot.stored_figures() is None


def test_two_refreshes_at_once_compute_the_figures_only_once(
    app: Flask, city: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    computing, go_on = threading.Event(), threading.Event()
    compute = figures.compute_in

    def slow(*args: Any) -> figures.Figures:
        computing.set()
        go_on.wait(timeout=10)
        return compute(*args)

    monkeypatch.setattr(snapshot, "compute_in", slow)
    results: list[figures.Figures | None] = []

    def refresh_in_another_worker() -> None:
        with app.app_context():
            results.append(snapshot.refresh(utcnow(), zone=ZONE))

    worker = threading.Thread(target=refresh_in_another_worker)
    worker.start()
    assert computing.wait(timeout=10)
    computing.clear()
    assert snapshot.refresh(utcnow(), zone=ZONE) is None  # the timer, meanwhile
    assert not computing.is_set()
    go_on.set()
    worker.join(timeout=10)
    [refreshed] = results
    assert refreshed is not None and snapshot.stored_figures() == refreshed
