"""The refusal paths in a real browser, each once in Chinese on a phone and once in English on a
desktop (issue 15, items 3, 8 and 16): a refused decision, an empty required field, a bad file,
an upload too large, a withdrawal and its confirmation.

Each refusal must leave the user where they were: the choice and the text kept, the message
beside the field and on the screen without scrolling, and a corrected second try doing what it
says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import expect

from permits.models import Role
from tests.browser.conftest import SETTINGS, Setting, check_accessibility, log_in, setting_page
from tests.browser.test_application_journey import (
    PLAN,
    application_id_of,
    badge,
    fill_vehicle_form,
    fresh,
    read,
)
from tests.factories import make_application, make_approver, make_user


@SETTINGS
def test_a_refused_return_keeps_the_choice_and_the_corrected_one_returns(
    browser: Any, live_server: str, setting: Setting
) -> None:
    application_id = make_application(make_user(Role.ENTERPRISE), submit=True).id
    officer = make_approver("commerce", "310115")
    page = setting_page(browser, setting)
    log_in(page, live_server, officer.email, setting)
    page.goto(f"{live_server}/applications/{application_id}")

    ret = page.get_by_label(setting.t("退回修改", "Return for changes"))
    approve = page.get_by_label(setting.t("同意", "Approve"), exact=True)
    reject = page.get_by_label(setting.t("不予批准", "Reject"), exact=True)
    reasons = page.locator("#reason_code")
    expect(approve).not_to_be_checked()  # nothing is chosen for the officer
    expect(ret).not_to_be_checked()
    expect(reasons).to_be_hidden()  # the reject reasons only for a rejection
    reject.check()
    expect(reasons).to_be_visible()
    ret.check()
    expect(reasons).to_be_hidden()

    page.get_by_role("button", name=setting.t("提交审批决定", "Record the decision")).click()
    error = page.locator("#comment-error")
    expect(error).to_have_text(
        setting.t("请说明企业需要修改的内容。", "Say what the enterprise should change.")
    )
    expect(error).to_be_in_viewport()
    expect(page.locator("#comment")).to_be_focused()
    expect(ret).to_be_checked()  # still "return", not back on "approve"
    expect(approve).not_to_be_checked()
    check_accessibility(page, "refused decision")
    assert read(lambda: fresh(application_id).status.value) == "in_review"

    page.locator("#comment").fill(setting.t("请上传行驶证", "Please add the vehicle licence"))
    page.get_by_role("button", name=setting.t("提交审批决定", "Record the decision")).click()
    expect(page.locator(".flash-success")).to_be_visible()
    assert read(lambda: fresh(application_id).status.value) == "returned"


@SETTINGS
def test_an_empty_required_field_is_named_marked_and_kept_in_view(
    browser: Any, live_server: str, setting: Setting
) -> None:
    applicant = make_user(Role.ENTERPRISE)
    page = setting_page(browser, setting)
    log_in(page, live_server, applicant.email, setting)
    page.goto(f"{live_server}/applications/new/vehicle_pass")
    fill_vehicle_form(page, setting)
    page.locator("#destination").fill("")
    page.get_by_role("button", name=setting.t("保存并提交", "Save and submit")).click()

    error = page.locator("#destination-error")
    expect(error).to_have_text(setting.t("此项为必填项。", "This field is required."))
    expect(error).to_be_in_viewport()
    expect(page.locator("#destination")).to_be_focused()
    expect(page.locator("#destination")).to_have_attribute("aria-invalid", "true")
    summary = page.locator(".error-summary")
    expect(summary.get_by_role("link")).to_have_text(
        setting.t("目的地（区县）", "Destination: district or county")
    )
    expect(page.locator("#plate")).to_have_value("沪a61234")  # what was typed is kept
    expect(page).to_have_url(f"{live_server}/applications/{_draft_id(page)}/edit")
    check_accessibility(page, "application form with a missing field")

    page.locator("#destination").fill("320583")
    page.get_by_role("button", name=setting.t("保存并提交", "Save and submit")).click()
    assert badge(page) == setting.t("审核中", "In review")


def _draft_id(page: Any) -> int:
    action = page.locator("form.card").get_attribute("action")
    return int(action.rstrip("/").split("/")[-2])


@SETTINGS
def test_a_file_of_the_wrong_type_is_refused_beside_the_file_field(
    browser: Any, live_server: str, setting: Setting, tmp_path: Path
) -> None:
    applicant = make_user(Role.ENTERPRISE)
    draft_id = make_application(applicant, "work_resumption").id
    page = setting_page(browser, setting)
    log_in(page, live_server, applicant.email, setting)
    page.goto(f"{live_server}/applications/{draft_id}/edit")
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00 not a plan")
    page.locator("#purpose").select_option("other")
    page.locator("#file").set_input_files(str(program))
    page.get_by_role("button", name=setting.t("上传", "Upload")).click()

    error = page.locator("#file-error")
    expect(error).to_contain_text(
        setting.t("仅支持 PDF、JPEG 和 PNG 格式的文件", "Only PDF, JPEG and PNG files are accepted")
    )
    expect(error).to_contain_text("setup.exe")
    expect(error).to_be_in_viewport()
    expect(page.locator("#purpose")).to_have_value("other")  # the purpose chosen is kept
    check_accessibility(page, "refused upload")
    assert read(lambda: len(fresh(draft_id).attachments)) == 1  # the factory's plan only


@SETTINGS
def test_an_upload_too_large_says_the_limit_and_leads_back_to_the_application(
    browser: Any, live_server: str, setting: Setting, tmp_path: Path, app: Flask
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    applicant = make_user(Role.ENTERPRISE)
    draft_id = make_application(applicant, "work_resumption").id
    page = setting_page(browser, setting)
    log_in(page, live_server, applicant.email, setting)
    page.goto(f"{live_server}/applications/{draft_id}/edit")
    scan = tmp_path / "plan-scan.pdf"
    scan.write_bytes(PLAN + b"0" * 300_000)
    page.locator("#file").set_input_files(str(scan))
    page.get_by_role("button", name=setting.t("上传", "Upload")).click()

    expect(page.locator(".lead")).to_contain_text(
        setting.t("每次最多 0.25 MB", "at most 0.25 MB can be sent at once")
    )
    check_accessibility(page, "413 page")
    page.get_by_role("link", name=setting.t("返回上一页", "Back to the page you came from")).click()
    expect(page).to_have_url(f"{live_server}/applications/{draft_id}/edit#files")
    expect(page.locator("#file")).to_be_visible()


@SETTINGS
def test_a_withdrawal_asks_for_confirmation_first(
    browser: Any, live_server: str, setting: Setting
) -> None:
    applicant = make_user(Role.ENTERPRISE)
    application_id = make_application(applicant, submit=True).id
    page = setting_page(browser, setting)
    log_in(page, live_server, applicant.email, setting)
    page.goto(f"{live_server}/applications/{application_id}")

    page.get_by_role("link", name=setting.t("撤回…", "Withdraw…")).click()
    withdraw = page.get_by_role("button", name=setting.t("撤回申请", "Withdraw the application"))
    expect(withdraw).to_be_in_viewport()
    withdraw.click()  # without ticking the box: nothing happens but a message
    error = page.locator("#confirm-error")
    expect(error).to_have_text(
        setting.t("请勾选此项以确认撤回。", "Tick the box to confirm the withdrawal.")
    )
    expect(error).to_be_in_viewport()
    check_accessibility(page, "withdrawal not confirmed")
    assert read(lambda: fresh(application_id).status.value) == "in_review"

    page.locator("#confirm").check()
    page.get_by_role("button", name=setting.t("撤回申请", "Withdraw the application")).click()
    assert badge(page) == setting.t("已撤回", "Withdrawn")
    assert application_id_of(page) == application_id
    assert read(lambda: fresh(application_id).status.value) == "withdrawn"


@SETTINGS
def test_a_refused_bulk_return_keeps_the_ticked_rows_and_the_choice(
    browser: Any, live_server: str, setting: Setting
) -> None:
    applicant = make_user(Role.ENTERPRISE)
    ids = [
        make_application(applicant, submit=True, plate=plate).id
        for plate in ("沪B20001", "沪B20002", "沪B20003")
    ]
    officer = make_approver("commerce", "310115")
    page = setting_page(browser, setting)
    log_in(page, live_server, officer.email, setting)
    page.goto(f"{live_server}/review/")
    page.locator(f"#pick-{ids[0]}").check()
    page.locator(f"#pick-{ids[2]}").check()
    page.get_by_label(setting.t("退回修改", "Return for changes")).check()
    record = setting.t(
        "提交已勾选申请的审批决定", "Record the decision for the ticked applications"
    )
    page.get_by_role("button", name=record).click()

    error = page.locator("#comment-error")
    expect(error).to_be_in_viewport()
    expect(page.locator(f"#pick-{ids[0]}")).to_be_checked()
    expect(page.locator(f"#pick-{ids[1]}")).not_to_be_checked()
    expect(page.locator(f"#pick-{ids[2]}")).to_be_checked()
    expect(page.get_by_label(setting.t("退回修改", "Return for changes"))).to_be_checked()
    check_accessibility(page, "refused bulk decision")
    assert read(lambda: [fresh(i).status.value for i in ids]) == ["in_review"] * 3

    page.locator("#comment").fill(setting.t("请补充行驶证", "Please add the vehicle licence"))
    page.get_by_role("button", name=record).click()
    expect(page.locator(".flash-success")).to_be_visible()
    assert read(lambda: [fresh(i).status.value for i in ids]) == [
        "returned",
        "in_review",
        "returned",
    ]
