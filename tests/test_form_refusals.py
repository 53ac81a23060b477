"""A refused form comes back as it was sent, with each message beside its field (issue 15, 3 and 8).

Never a redirect that loses the user's choices: a refused "return" must not come back as
"approve", and an empty required field is named and marked, not only flashed at the top.
"""

from __future__ import annotations

import io
import re
from typing import Any

from flask import Flask

from permits.extensions import db
from permits.models import Application, Decision, Pass, PassStatus, Role
from permits.workflow import State
from tests.conftest import csrf_token
from tests.factories import (
    make_application,
    make_approver,
    make_enterprise,
    make_pass,
    make_user,
    work_fields,
)
from tests.test_applications_web import browser, latest_application, post, vehicle_form


def checked(page: str, name: str) -> list[str]:
    """The values of the ticked radio buttons or boxes called `name` on the page."""
    return [
        re.search(r'value="([^"]*)"', tag).group(1)  # type: ignore[union-attr]
        for tag in re.findall(r"<input[^>]*>", page)
        if f'name="{name}"' in tag and re.search(r"\schecked[\s>]", tag)
    ]


def error_of(page: str, field_id: str) -> str | None:
    """The message shown beside the field, when there is one."""
    found = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    return found.group(1) if found else None


def state_of(application_id: int) -> State:
    db.session.expire_all()
    application = db.session.get(Application, application_id)
    assert application is not None
    return application.status


def decisions_on(application_id: int) -> int:
    """Decisions recorded, the submission included."""
    return db.session.query(Decision).filter_by(application_id=application_id).count()


def submitted_with_its_approver(app: Flask) -> tuple[int, Any]:
    application = make_application(make_user(Role.ENTERPRISE), submit=True)
    approver = make_approver("commerce", "310115")
    return application.id, browser(app, approver)


def test_no_decision_is_ticked_before_the_approver_chooses(app: Flask) -> None:
    app_id, officer = submitted_with_its_approver(app)
    page = officer.get(f"/applications/{app_id}").get_data(as_text=True)
    assert checked(page, "decision") == []
    assert 'data-shown-for="decision=reject"' in page  # the reasons only for a rejection
    assert "js/forms.js" in page


def test_a_refused_return_keeps_the_choice_and_the_next_try_returns(app: Flask) -> None:
    app_id, officer = submitted_with_its_approver(app)
    page_path = f"/applications/{app_id}"

    refused = post(
        officer, f"/review/{app_id}/decision", {"decision": "return", "comment": "  "}, page_path
    )
    assert refused.status_code == 422  # the page itself, not a redirect that forgets the choice
    page = refused.get_data(as_text=True)
    assert checked(page, "decision") == ["return"]
    assert error_of(page, "comment") == "请说明企业需要修改的内容。"
    assert re.search(r'<textarea[^>]*aria-invalid="true"[^>]*id="comment"', page)
    assert f'action="/review/{app_id}/decision#decide"' in page
    assert state_of(app_id) is State.IN_REVIEW and decisions_on(app_id) == 1

    post(
        officer,
        f"/review/{app_id}/decision",
        {"decision": "return", "comment": "请补充行驶证"},
        page_path,
    )
    assert state_of(app_id) is State.RETURNED and decisions_on(app_id) == 2


def test_a_decision_sent_without_a_choice_is_refused_beside_the_choice(app: Flask) -> None:
    app_id, officer = submitted_with_its_approver(app)
    refused = post(
        officer, f"/review/{app_id}/decision", {"comment": "资料齐全"}, f"/applications/{app_id}"
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert error_of(page, "decision") == "请选择同意、退回修改或不予批准。"
    assert "资料齐全</textarea>" in page  # the comment typed is kept
    assert state_of(app_id) is State.IN_REVIEW and decisions_on(app_id) == 1


def test_a_refused_rejection_keeps_its_reason(app: Flask) -> None:
    app_id, officer = submitted_with_its_approver(app)
    refused = post(
        officer,
        f"/review/{app_id}/decision",
        {"decision": "reject", "reason_code": "not_key_supply", "comment": ""},
        f"/applications/{app_id}",
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert checked(page, "decision") == ["reject"]
    assert re.search(r'<option selected value="not_key_supply">', page)
    assert error_of(page, "comment") is not None
    assert state_of(app_id) is State.IN_REVIEW


def test_a_withdrawal_needs_the_box_ticked_and_then_withdraws(app: Flask) -> None:
    applicant = make_user(Role.ENTERPRISE)
    app_id = make_application(applicant, submit=True).id
    enterprise = browser(app, applicant)
    page_path = f"/applications/{app_id}"
    page = enterprise.get(page_path).get_data(as_text=True)
    assert 'name="confirm"' in page and checked(page, "confirm") == []

    refused = post(enterprise, f"{page_path}/withdraw", {}, page_path)
    assert refused.status_code == 422
    assert error_of(refused.get_data(as_text=True), "confirm") == "请勾选此项以确认撤回。"
    assert state_of(app_id) is State.IN_REVIEW

    done = post(enterprise, f"{page_path}/withdraw", {"confirm": "y"}, page_path)
    assert done.status_code == 302
    assert state_of(app_id) is State.WITHDRAWN


def test_a_refused_bulk_return_shows_the_queue_again_with_the_rows_still_ticked(
    app: Flask,
) -> None:
    applicant = make_user(Role.ENTERPRISE)
    ids = [
        make_application(applicant, submit=True, plate=plate).id
        for plate in ("沪B10001", "沪B10002", "沪B10003")
    ]
    officer = browser(app, make_approver("commerce", "310115"))
    back = "/review/?kind=vehicle_pass"
    refused = post(
        officer,
        "/review/decisions",
        {"ids": [str(ids[0]), str(ids[2])], "decision": "return", "comment": "", "next": back},
        back,
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert checked(page, "ids") == [str(ids[0]), str(ids[2])]
    assert checked(page, "decision") == ["return"]
    assert error_of(page, "comment") == "请说明企业需要修改的内容。"
    assert 'value="/review/?kind=vehicle_pass"' in page  # it still goes back to the same page
    assert all(state_of(i) is State.IN_REVIEW and decisions_on(i) == 1 for i in ids)

    nothing = post(officer, "/review/decisions", {"decision": "approve", "next": back}, back)
    assert nothing.status_code == 422
    assert error_of(nothing.get_data(as_text=True), "ids") is not None


def test_a_refused_revocation_keeps_the_reason_typed_beside_its_message(app: Flask) -> None:
    issued = make_pass()
    number = issued.number
    officer = browser(app, make_approver("commerce", "310115"))
    too_long = "车辆信息不符" * 90  # 540 characters; at most 500
    refused = post(officer, f"/passes/{number}/revoke", {"reason": too_long}, f"/passes/{number}")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert error_of(page, "reason") is not None
    assert f"{too_long}</textarea>" in page
    assert f'action="/passes/{number}/revoke#revoke"' in page
    db.session.expire_all()
    assert db.session.get(Pass, issued.id).status is PassStatus.ACTIVE  # type: ignore[union-attr]


# --- the application form, its files, and uploads too large (issue 15, item 8) ---------------


def test_save_and_submit_with_an_empty_required_field_names_and_marks_it(app: Flask) -> None:
    enterprise = browser(app, make_user(Role.ENTERPRISE))
    new_page = "/applications/new/vehicle_pass"
    response = post(
        enterprise,
        new_page,
        {**vehicle_form(plate="沪A12345", destination=""), "submit": "1"},
        new_page,
    )
    assert response.status_code == 200  # the draft is kept, shown with what is missing
    page = response.get_data(as_text=True)
    assert error_of(page, "destination") == "此项为必填项。"
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="destination"', page)
    summary = page[page.index("error-summary") : page.index("</div>", page.index("error-summary"))]
    assert '<a href="#destination">目的地（区县）</a>' in summary
    assert 'value="沪A12345"' in page  # what was typed is kept
    draft = latest_application()
    assert draft.status is State.DRAFT and draft.plate == "沪A12345"
    assert f'action="/applications/{draft.id}/edit"' in page  # saving again edits this draft


def test_a_missing_prevention_plan_is_said_beside_the_file_field(app: Flask) -> None:
    applicant = make_user(Role.ENTERPRISE, enterprise=make_enterprise(district="310104"))
    enterprise = browser(app, applicant)
    new_page = "/applications/new/work_resumption"
    fields = {k: str(v) for k, v in work_fields(district="310104").items()}
    response = post(enterprise, new_page, {**fields, "submit": "1"}, new_page)
    page = response.get_data(as_text=True)
    assert error_of(page, "file") is not None
    assert '<a href="#file">' in page


def test_a_file_of_the_wrong_type_is_refused_beside_the_file_field(app: Flask) -> None:
    applicant = make_user(Role.ENTERPRISE)
    draft = make_application(applicant, "work_resumption")
    enterprise = browser(app, applicant)
    edit_page = f"/applications/{draft.id}/edit"
    refused = enterprise.post(
        f"/applications/{draft.id}/attachments",
        data={
            "csrf_token": csrf_token(enterprise, edit_page),
            "purpose": "other",
            "file": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "setup.exe"),
        },
    )
    assert refused.status_code == 422  # the page itself, not a jump to #files with a flash
    page = refused.get_data(as_text=True)
    message = error_of(page, "file") or ""
    assert "仅支持 PDF、JPEG 和 PNG 格式的文件" in message and "setup.exe" in message
    assert re.search(r'<option selected value="other">', page)  # the purpose chosen is kept
    assert f'action="/applications/{draft.id}/attachments#files"' in page
    assert len(latest_application().attachments) == 1  # only the plan the factory added


def test_the_413_page_says_the_limit_and_goes_back_to_the_application(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024  # small: a larger body spools to a file
    applicant = make_user(Role.ENTERPRISE)
    draft = make_application(applicant, "work_resumption")
    enterprise = browser(app, applicant)
    response = enterprise.post(
        f"/applications/{draft.id}/attachments",
        data={
            "csrf_token": csrf_token(enterprise, f"/applications/{draft.id}/edit"),
            "purpose": "prevention_plan",
            "file": (io.BytesIO(b"%PDF-" + b"0" * 300_000), "big.pdf"),
        },
        headers={"Referer": "https://evil.example.com/"},
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "每次最多 0.25 MB" in page
    assert f'href="/applications/{draft.id}/edit#files"' in page
    assert "evil.example.com" not in page


def test_the_413_page_of_a_form_at_its_own_address_goes_back_to_that_page(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    enterprise = browser(app, make_user(Role.ENTERPRISE))
    new_page = "/applications/new/work_resumption"
    response = post(enterprise, new_page, {"site_address": "x" * 60_000}, new_page)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "每次最多 0.048 MB" in page
    assert f'href="{new_page}"' in page


def test_submitting_an_incomplete_draft_shows_its_form_with_the_missing_fields_marked(
    app: Flask,
) -> None:
    applicant = make_user(Role.ENTERPRISE)
    draft = make_application(applicant, plate="沪A54321", destination="")
    enterprise = browser(app, applicant)
    page_path = f"/applications/{draft.id}"
    refused = post(enterprise, f"{page_path}/submit", {}, page_path)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert error_of(page, "destination") == "此项为必填项。"
    assert 'value="沪A54321"' in page
    assert state_of(draft.id) is State.DRAFT


def test_a_decision_sent_with_an_expired_form_says_so_and_leads_back_to_the_decision(
    app: Flask,
) -> None:
    app_id, officer = submitted_with_its_approver(app)
    refused = officer.post(
        f"/review/{app_id}/decision", data={"decision": "approve", "csrf_token": "expired"}
    )
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "表单已过期，请重新提交。" in page
    assert f'href="/applications/{app_id}#decide"' in page
    assert state_of(app_id) is State.IN_REVIEW and decisions_on(app_id) == 1
