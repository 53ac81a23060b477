"""The usability findings of issue 15 as a new user meets them, in Chinese on a small phone
(360 × 740): the officer's scan history fits the screen, a revoked e-pass shows no QR code, the
e-pass's dates stay whole, a work-resumption verdict names the site and the district.

PERMITS_SCREENSHOTS=<dir> writes each screen there (see tests/browser/conftest.py)."""

from __future__ import annotations

from typing import Any

from permits.models import Role
from tests.api_helpers import Api
from tests.browser.conftest import Setting, check_accessibility, log_in, new_page, snap
from tests.factories import (
    make_application,
    make_approver,
    make_pass,
    make_user,
    service_today,
)

SMALL_ZH = Setting("zh", "zh-CN", {"width": 360, "height": 740}, "phone")


def phone_page(browser: Any, base: str, email: str) -> Any:
    page = new_page(browser, locale=SMALL_ZH.locale, viewport=SMALL_ZH.viewport)
    log_in(page, base, email, SMALL_ZH)
    return page


def fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_the_scan_history_fits_a_small_phone_and_names_each_result(
    browser: Any, live_server: str
) -> None:
    officer = make_user(Role.CHECKPOINT)
    issued = make_pass()
    page = phone_page(browser, live_server, officer.email)
    page.goto(f"{live_server}/checkpoint/")
    page.wait_for_selector("#scanner[data-ready=true]")
    for form, value, result in (
        ("code", issued.control_code, "valid"),
        ("plate", "沪B99999", "not_found"),
    ):
        page.fill(f"#{form}-input", value)
        page.click(f"#{form}-form button")
        page.wait_for_selector(f"#verdict[data-result={result}]")
        page.keyboard.press("Escape")
    page.goto(f"{live_server}/checkpoint/history")
    assert fits_the_screen(page)
    assert sorted(page.locator(".scan-result").all_inner_texts()) == ["有效", "查无此证"]
    assert page.get_by_text(issued.plate).is_visible()
    check_accessibility(page, "scan history")
    snap(page, "usability-phone-scan-history", full_page=True)


def test_the_e_pass_keeps_each_date_whole_and_a_revoked_one_shows_no_qr_code(
    browser: Any, live_server: str, app: Any
) -> None:
    owner = make_user(Role.ENTERPRISE)
    issued = make_pass(owner)
    page = phone_page(browser, live_server, owner.email)
    page.goto(f"{live_server}/passes/{issued.number}")
    assert fits_the_screen(page)
    line = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.epass-dates')).lineHeight)"
    )
    for date in page.locator(".epass-dates .nowrap").all():
        assert date.bounding_box()["height"] < 1.5 * line  # one line each
    assert page.locator(".epass-qr svg").is_visible()
    snap(page, "usability-phone-epass", full_page=True)

    Api(app.test_client(), make_user(Role.ADMIN)).post(
        f"/passes/{issued.number}/revoke", {"reason": "车辆信息不实"}
    )
    page.reload()
    assert page.get_by_text("此证已撤销，不能再使用。").is_visible()
    assert page.locator(".epass svg").count() == 0
    assert page.get_by_role("link", name="下载 PDF").count() == 0
    check_accessibility(page, "revoked e-pass")
    snap(page, "usability-phone-epass-revoked", full_page=True)


def test_a_work_permit_verdict_names_the_site_and_the_district(
    browser: Any, live_server: str
) -> None:
    officer = make_user(Role.CHECKPOINT)
    site = make_pass(kind="work_resumption", resume_date=service_today().isoformat())
    page = phone_page(browser, live_server, officer.email)
    page.goto(f"{live_server}/checkpoint/")
    page.wait_for_selector("#scanner[data-ready=true]")
    page.fill("#code-input", site.control_code)
    page.click("#code-form button")
    page.wait_for_selector("#verdict[data-result=valid]")
    assert page.locator("#verdict-reason").inner_text() == "证明有效。请核对企业名称和场所地址。"
    district = page.locator("#verdict dt", has_text="区").locator("xpath=following-sibling::dd[1]")
    assert district.inner_text() == "浦东新区"
    snap(page, "usability-phone-verdict-work-permit")


def test_the_home_page_leads_on_and_the_route_is_chosen_by_name(
    browser: Any, live_server: str
) -> None:
    clerk = make_user(Role.ENTERPRISE)
    make_application(clerk)  # a draft waits
    page = phone_page(browser, live_server, clerk.email)
    page.goto(f"{live_server}/")
    assert page.get_by_text("尚未提交的草稿：1 份").is_visible()
    assert fits_the_screen(page)
    check_accessibility(page, "home")
    snap(page, "usability-phone-home-enterprise", full_page=True)

    page.get_by_role("link", name="申请车辆通行证").first.click()
    origin = page.get_by_label("出发地（区县）")
    origin.fill("浦东新区 (310115)")
    page.get_by_label("目的地（区县）").fill("昆山")
    assert origin.get_attribute("inputmode") is None  # a keyboard with letters, not a number pad
    options = page.locator("datalist#divisions option")
    assert options.first.get_attribute("value") == "黄浦区 (310101)"
    assert fits_the_screen(page)
    snap(page, "usability-phone-route-by-name", full_page=True)


def test_an_approver_is_told_what_waits_and_why_the_queue_leaves_some_out(
    browser: Any, live_server: str
) -> None:
    approver = make_approver("commerce", "310115")
    make_application(submit=True)
    page = phone_page(browser, live_server, approver.email)
    page.goto(f"{live_server}/")
    assert page.get_by_text("待您审批：1 份").is_visible()
    snap(page, "usability-phone-home-approver")
    page.get_by_role("link", name="开始审批").click()
    page.wait_for_url(f"{live_server}/review/")
    assert page.get_by_text("按照不相容职责分离原则").is_visible()
    assert fits_the_screen(page)
    snap(page, "usability-phone-queue")
