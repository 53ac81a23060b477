"""The enterprise's and the approvers' journeys in a real browser, each once in Chinese on a phone
and once in English on a desktop, with axe-core on every main screen.

Each journey clicks through its own part and builds the rest of the world with the factories and
services: the enterprise's journey does not click the approvers' decisions, and the approvers'
journey starts from a submitted application.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import expect

from permits.extensions import db
from permits.models import Application, Role, utcnow
from permits.services import applications, issuance, reviews
from permits.validators import uscc_check_character
from tests.browser.conftest import (
    SETTINGS,
    Setting,
    check_accessibility,
    log_in,
    setting_page,
    snap,
)
from tests.factories import (
    PASSWORD,
    approve_fully,
    make_application,
    make_approver,
    make_id_number,
    make_user,
    service_today,
)

T = TypeVar("T")
PLAN = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def fresh(application_id: int) -> Application:
    """The application as the live server left it (the test's session may hold an old copy).
    Use it in read() or before a service call and a commit."""
    db.session.rollback()
    db.session.expire_all()  # the session keeps objects across commits (expire_on_commit=False)
    application = db.session.get(Application, application_id)
    assert application is not None
    return application


def read(what: Callable[[], T]) -> T:
    """What the database says now; the read's transaction ends at once, since on SQLite it holds
    the write lock (BEGIN IMMEDIATE outside requests) the live server would wait on."""
    db.session.rollback()
    try:
        return what()
    finally:
        db.session.commit()


def badge(page: Any) -> str:
    return page.locator(".page-head .badge").inner_text()


def application_id_of(page: Any) -> int:
    return int(page.url.split("#")[0].rstrip("/").split("/")[-1])


def fits_the_screen(page: Any, setting: Setting) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= setting.viewport["width"]


def register(page: Any, base: str, setting: Setting, email: str) -> None:
    body = "91310115MA1K3P7Q" + ("A" if setting.lang == "zh" else "B")
    page.goto(f"{base}/register")
    check_accessibility(page, "registration")
    page.locator("#name").fill(
        setting.t("上海浦江冷链物流有限公司", "Pujiang Cold Chain Co., Ltd.")
    )
    page.locator("#uscc").fill(body + uscc_check_character(body))
    page.locator("#district").select_option("310115")
    page.locator("#address").fill("浦东新区航头镇沪南公路5678号")
    page.locator("#contact_name").fill("陈建国")
    page.locator("#contact_phone").fill("13916001234")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password_again").fill(PASSWORD)
    page.get_by_role("button", name=setting.t("注册", "Register")).click()
    page.wait_for_selector(".whoami")


def fill_vehicle_form(page: Any, setting: Setting) -> None:
    start = service_today()
    page.get_by_label(setting.t("车牌号码", "Plate number")).fill("沪a61234")
    page.locator("#vehicle_type").select_option("refrigerated_truck")
    page.locator("#cargo_category").select_option("daily_necessities")
    page.locator("#origin").fill("310115")
    page.locator("#destination").fill("320583")
    page.locator("#valid_from").fill(start.isoformat())
    page.locator("#valid_until").fill((start + timedelta(days=6)).isoformat())
    for n, (name, serial, phone) in enumerate(
        [("王建军", "123", "13901110001"), ("周明", "456", "13901110002")]
    ):
        page.locator(f"#drivers-{n}-name").fill(name)
        page.locator(f"#drivers-{n}-id_number").fill(make_id_number(serial=serial))
        page.locator(f"#drivers-{n}-phone").fill(phone)


def fill_work_form(page: Any, setting: Setting) -> None:
    start = service_today() + timedelta(days=1)
    page.get_by_label(setting.t("场所地址", "Site address")).fill("浦东新区张江路100号")
    page.locator("#district").select_option("310115")
    page.locator("#staff_on_site").fill("40")
    page.locator("#closed_loop").check()
    page.locator("#resume_date").fill(start.isoformat())
    page.locator("#valid_until").fill((start + timedelta(days=20)).isoformat())
    page.locator("#contact_name").fill("陈建国")
    page.locator("#contact_phone").fill("13916001234")


@SETTINGS
def test_enterprise_registers_applies_answers_a_return_and_gets_its_pass(
    browser: Any, live_server: str, setting: Setting, tmp_path: Path
) -> None:
    page = setting_page(browser, setting)
    page.goto(f"{live_server}/login")
    check_accessibility(page, "login")
    snap(page, f"{setting.device}-login")
    email = f"chen-{setting.lang}@pujiang.example.com"
    register(page, live_server, setting, email)

    # A vehicle pass with two drivers, submitted at once.
    page.get_by_role("link", name=setting.t("我的申请", "My applications")).click()
    page.get_by_role(
        "link", name=setting.t("申请车辆通行证", "Apply for a vehicle pass"), exact=True
    ).click()
    fill_vehicle_form(page, setting)
    check_accessibility(page, "vehicle pass form")
    snap(page, f"{setting.device}-application-form")
    page.get_by_role("button", name=setting.t("保存并提交", "Save and submit")).click()
    assert badge(page) == setting.t("审核中", "In review")
    vehicle_id = application_id_of(page)
    assert read(lambda: [d.name for d in fresh(vehicle_id).drivers]) == ["王建军", "周明"]

    # Work resumption: a draft first, then its prevention plan, then submitted.
    page.goto(f"{live_server}/applications/new/work_resumption")
    fill_work_form(page, setting)
    page.get_by_role("button", name=setting.t("保存草稿", "Save draft")).click()
    plan = tmp_path / "prevention-plan.pdf"
    plan.write_bytes(PLAN)
    page.locator("#file").set_input_files(str(plan))
    page.get_by_role("button", name=setting.t("上传", "Upload")).click()
    expect(page.locator("#files").get_by_text("prevention-plan.pdf")).to_be_visible()
    check_accessibility(page, "work resumption form with its plan")
    page.get_by_role("button", name=setting.t("保存并提交", "Save and submit")).click()
    assert badge(page) == setting.t("审核中", "In review")
    work_id = application_id_of(page)

    # The list follows both; the district's commerce commission returns the vehicle pass.
    page.get_by_role("link", name=setting.t("我的申请", "My applications")).click()
    expect(page.locator(f"a[href$='/applications/{vehicle_id}']").first).to_be_visible()
    expect(page.locator(f"a[href$='/applications/{work_id}']").first).to_be_visible()
    check_accessibility(page, "my applications")
    comment = setting.t("请补充第二名司机的手机号", "Please check the second driver's phone")
    reviews.decide(
        make_approver("commerce", "310115"),
        fresh(vehicle_id),
        "return",
        comment=comment,
        now=utcnow(),
    )
    db.session.commit()

    page.goto(f"{live_server}/applications/{vehicle_id}")
    assert badge(page) == setting.t("退回修改", "Returned for changes")
    assert comment in page.locator(".timeline").inner_text()
    check_accessibility(page, "returned application with its timeline")
    snap(page, f"{setting.device}-application-status", full_page=setting.device == "desktop")
    page.get_by_role("link", name=setting.t("修改并提交", "Edit and submit")).click()
    page.locator("#drivers-1-phone").fill("13901110003")
    page.get_by_role("button", name=setting.t("保存并提交", "Save and submit")).click()
    assert badge(page) == setting.t("审核中", "In review")
    assert read(lambda: fresh(vehicle_id).drivers[1].phone) == "13901110003"

    # Both steps approve (the approvers' own journey clicks them): the pass is issued.
    issued = approve_fully(fresh(vehicle_id))
    page.reload()
    assert badge(page) == setting.t("已批准", "Approved")
    assert page.locator(".timeline-item").count() == 5
    page.locator(f"a[href$='/passes/{issued.number}']").first.click()
    assert page.locator(".epass-plate").inner_text() == "沪A61234"
    assert page.locator(".epass-status").inner_text() == setting.t("有效", "VALID")
    assert fits_the_screen(page, setting)
    check_accessibility(page, "e-pass")
    snap(page, f"{setting.device}-epass", full_page=setting.device == "desktop")

    # The PDF opens in chromium's viewer; its bytes, fetched with the same login, are a PDF.
    with page.expect_response(lambda response: response.url.endswith("/pdf")) as opened:
        page.get_by_role("link", name=setting.t("下载 PDF", "Download the PDF")).click()
    assert opened.value.headers["content-type"] == "application/pdf"
    assert page.context.request.get(opened.value.url).body().startswith(b"%PDF-")
    page.goto(f"{live_server}/passes/{issued.number}")

    page.get_by_role(
        "button", name=setting.t("生成驾驶员分享链接", "Share link for the driver")
    ).click()
    link = page.locator("#share-link").input_value()
    driver = setting_page(browser, setting)
    driver.goto(link)
    assert driver.locator(".epass-plate").inner_text() == "沪A61234"
    assert driver.locator(".whoami").count() == 0  # no login on the driver's phone
    assert make_id_number(serial="456") not in driver.content()  # only the masked ID number
    check_accessibility(driver, "shared e-pass")


@SETTINGS
def test_approvers_return_once_approve_both_steps_and_revoke_the_pass(
    browser: Any, live_server: str, setting: Setting
) -> None:
    applicant = make_user(Role.ENTERPRISE)
    submitted = make_application(applicant, submit=True, plate="沪B76543")
    application_id = submitted.id
    district = make_approver("commerce", "310115", name=setting.t("李审批", "Li Shenpi"))
    city = make_approver("transport", "city", name=setting.t("张审批", "Zhang Shenpi"))
    supervisor = make_user(Role.SUPERVISOR)
    emails = (district.email, city.email, supervisor.email)
    db.session.commit()
    record = setting.t("提交审批决定", "Record the decision")
    recorded = setting.t("您的审批决定已记录。", "Your decision is recorded.")

    # Step 1: the district's queue, the whole file, a return with a comment.
    first = setting_page(browser, setting)
    log_in(first, live_server, emails[0], setting)
    first.get_by_role("link", name=setting.t("待办", "Queue")).click()
    expect(first.get_by_text("沪B76543")).to_be_visible()
    check_accessibility(first, "approver's queue")
    snap(first, f"{setting.device}-approver-queue")
    first.locator(f"a[href$='/applications/{application_id}']").click()
    first.get_by_label(setting.t("退回修改", "Return for changes")).check()
    first.locator("#comment").fill(setting.t("请上传行驶证", "Please add the vehicle licence"))
    check_accessibility(first, "decision page")
    snap(first, f"{setting.device}-decision", full_page=setting.device == "desktop")
    first.get_by_role("button", name=record).click()
    assert recorded in first.locator(".flash").first.inner_text()
    assert read(lambda: fresh(application_id).status.value) == "returned"

    applications.submit(applicant, fresh(application_id), now=utcnow())
    db.session.commit()

    # Resubmitted: back in the district's queue, with the earlier comment; approved.
    first.get_by_role("link", name=setting.t("待办", "Queue")).click()
    first.locator(f"a[href$='/applications/{application_id}']").click()
    assert (
        setting.t("请上传行驶证", "Please add the vehicle licence")
        in first.locator(".timeline").inner_text()
    )
    first.get_by_label(setting.t("同意", "Approve"), exact=True).check()  # nothing is pre-ticked
    first.get_by_role("button", name=record).click()
    assert recorded in first.locator(".flash").first.inner_text()
    assert read(lambda: fresh(application_id).current_step) == 2

    # Step 2: the city's transport commission approves; the pass is issued.
    second = setting_page(browser, setting)
    log_in(second, live_server, emails[1], setting)
    second.get_by_role("link", name=setting.t("待办", "Queue")).click()
    second.locator(f"a[href$='/applications/{application_id}']").click()
    second.get_by_label(setting.t("同意", "Approve"), exact=True).check()
    second.get_by_role("button", name=record).click()
    assert recorded in second.locator(".flash").first.inner_text()
    number = read(lambda: issuance.pass_of(fresh(application_id)).number)  # type: ignore[union-attr]

    # The district approver revokes it, with a reason.
    first.goto(f"{live_server}/passes/{number}")
    reason = setting.t("车辆信息不符", "The vehicle does not match")
    first.get_by_label(setting.t("撤销原因", "Reason for the revocation")).fill(reason)
    check_accessibility(first, "pass page with the revocation form")
    first.get_by_role("button", name=setting.t("撤销", "Revoke"), exact=True).click()
    assert reason in first.locator(".epass-status").inner_text()
    check_accessibility(first, "revoked pass")
    assert read(lambda: issuance.pass_by_number(number).status.value) == "revoked"  # type: ignore[union-attr]

    # A supervisor sees the figures.
    watcher = setting_page(browser, setting)
    log_in(watcher, live_server, emails[2], setting)
    watcher.goto(f"{live_server}/admin/dashboard")
    expect(watcher.locator("h1")).to_be_visible()
    check_accessibility(watcher, "supervision dashboard")
    snap(watcher, f"{setting.device}-admin-dashboard", full_page=setting.device == "desktop")
