"""Escalation of overdue steps: approvers once past the time limit, supervisors once past twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from permits.extensions import db
from permits.models import Application, Notification, Role, User, utcnow
from permits.services import escalation, reviews
from tests.conftest import login
from tests.factories import PASSWORD, make_application, make_approver, make_user


def told(user: User, event: str) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.event == event)
        )
        or 0
    )


def waited(application: Application, hours: float, sla: int = 12) -> None:
    """The application entered its step `hours` ago, with a time limit of `sla` hours."""
    application.step_entered_at = utcnow() - timedelta(hours=hours)
    application.step_due_at = application.step_entered_at + timedelta(hours=sla)
    db.session.commit()


def escalate() -> escalation.Escalated:
    done = escalation.escalate_overdue(utcnow())
    db.session.commit()
    return done


@pytest.fixture
def people(app: Flask) -> dict[str, Any]:
    application = make_application(submit=True)  # waits at commerce of 310115
    return {
        "application": application,
        "approver": make_approver("commerce", "310115"),
        "other_approver": make_approver("commerce", "310101"),
        "supervisor": make_user(Role.SUPERVISOR),
    }


def test_nobody_is_told_while_the_step_is_in_time(people: dict[str, Any]) -> None:
    waited(people["application"], 11)
    assert escalate() == escalation.Escalated(0, 0)
    assert told(people["approver"], "overdue") == 0


def test_approvers_are_told_once_when_the_step_is_overdue(people: dict[str, Any]) -> None:
    waited(people["application"], 13)
    assert escalate() == escalation.Escalated(to_approvers=1, to_supervisors=0)
    assert escalate() == escalation.Escalated(0, 0)
    assert told(people["approver"], "overdue") == 1
    assert told(people["other_approver"], "overdue") == 0  # another district's department
    assert told(people["supervisor"], "overdue_twice") == 0
    db.session.refresh(people["application"])
    assert people["application"].escalation_level == 1


def test_supervisors_are_told_once_past_twice_the_time_limit(people: dict[str, Any]) -> None:
    waited(people["application"], 13)
    escalate()
    waited(people["application"], 24)  # exactly twice the 12 h
    assert escalate() == escalation.Escalated(to_approvers=0, to_supervisors=1)
    assert escalate() == escalation.Escalated(0, 0)
    assert told(people["approver"], "overdue") == 1
    assert told(people["supervisor"], "overdue_twice") == 1


def test_a_step_found_late_past_twice_tells_both_at_once(people: dict[str, Any]) -> None:
    waited(people["application"], 40)
    assert escalate() == escalation.Escalated(to_approvers=1, to_supervisors=1)
    escalate()
    assert told(people["approver"], "overdue") == 1
    assert told(people["supervisor"], "overdue_twice") == 1


def test_the_next_step_is_escalated_afresh(people: dict[str, Any]) -> None:
    application = people["application"]
    waited(application, 13)
    escalate()
    reviews.decide(people["approver"], application, "approve", now=utcnow())
    db.session.commit()
    assert application.escalation_level == 0
    city = make_approver("transport", "city")
    waited(application, 13)
    assert escalate() == escalation.Escalated(to_approvers=1, to_supervisors=0)
    assert told(city, "overdue") == 1
    assert told(people["approver"], "overdue") == 1


def test_a_run_that_lost_the_race_tells_nobody(
    people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another run raises the level between our read and our UPDATE: ours must not notify."""
    application = people["application"]
    waited(application, 13)
    checked = escalation.is_twice_overdue

    def other_run_got_there_first(candidate: Application, now: Any) -> bool:
        db.session.execute(
            update(Application)
            .where(Application.id == candidate.id)
            .values(escalation_level=1)
            .execution_options(synchronize_session=False)
        )
        return checked(candidate, now)

    monkeypatch.setattr(escalation, "is_twice_overdue", other_run_got_there_first)
    assert escalate() == escalation.Escalated(0, 0)
    assert told(people["approver"], "overdue") == 0


def test_the_notification_reads_as_a_sentence(app: Flask, people: dict[str, Any]) -> None:
    waited(people["application"], 40)
    escalate()
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, people["supervisor"].email, PASSWORD)
    page = client.get("/notifications/").get_data(as_text=True)
    assert f"#{people['application'].id} has waited at step 1" in page
    assert "twice its time limit" in page


def test_flask_escalate_runs_it_from_the_command_line(app: Flask, people: dict[str, Any]) -> None:
    waited(people["application"], 13)
    result = app.test_cli_runner().invoke(args=["escalate"])
    assert result.exit_code == 0, result.output
    assert "Escalated 1 overdue application(s) to their approvers" in result.output
    assert told(people["approver"], "overdue") == 1


def test_the_queue_marks_steps_past_twice_the_time_limit(
    app: Flask, people: dict[str, Any]
) -> None:
    late = people["application"]
    later = make_application(submit=True, plate="沪A99999")
    waited(late, 13)
    waited(later, 30)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, people["approver"].email, PASSWORD)
    page = client.get("/review/").get_data(as_text=True)
    items = page.split('<li class="card list-item')[1:]
    twice = next(item for item in items if f">#{later.id} ·" in item)
    once = next(item for item in items if f">#{late.id} ·" in item)
    assert "is-twice-overdue" in twice and "Past twice the time limit" in twice
    assert "is-twice-overdue" not in once and "Overdue" in once
