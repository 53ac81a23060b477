"""The workflow issue's journey in a real browser: an enterprise applies for a vehicle pass in
Chinese on a phone, the district approver returns it with a comment, the enterprise fixes and
resubmits, both steps approve, and the timeline shows every comment."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from permits.models import Role
from tests.browser.conftest import DESKTOP, PHONE, new_page
from tests.factories import PASSWORD, make_approver, make_id_number, make_user


def log_in(page: Any, base: str, email: str, *, chinese: bool = True) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("电子邮箱" if chinese else "Email").fill(email)
    page.get_by_label("密码" if chinese else "Password").fill(PASSWORD)
    page.get_by_role("button", name="登录" if chinese else "Log in").click()


def decide(page: Any, base: str, app_id: str, decision: str, comment: str = "") -> None:
    page.goto(f"{base}/applications/{app_id}")
    page.locator(f"input[name=decision][value={decision}]").check()
    if comment:
        page.locator("#comment").fill(comment)
    page.get_by_role("button", name="Record the decision").click()
    assert "Your decision is recorded." in page.content()


def test_apply_return_fix_resubmit_approve_on_a_phone(browser: Any, live_server: str) -> None:
    applicant = make_user(Role.ENTERPRISE)
    district = make_approver("commerce", "310115", name="浦东商务委 李审批")
    city = make_approver("transport", "city", name="市交通委 张审批")
    emails = (applicant.email, district.email, city.email)
    start = date.today() + timedelta(days=1)

    phone = new_page(browser, locale="zh-CN", viewport=PHONE)
    log_in(phone, live_server, emails[0])
    phone.get_by_role("link", name="我的申请").click()
    phone.get_by_role("link", name="申请车辆通行证").click()
    phone.get_by_label("车牌号码").fill("沪a61234")
    phone.get_by_label("车辆类型").select_option("refrigerated_truck")
    phone.get_by_label("货物类别").select_option("daily_necessities")
    phone.get_by_label("出发地（区县代码）").fill("310115")
    phone.get_by_label("目的地（区县代码）").fill("999999")
    phone.get_by_label("有效期自").fill(start.isoformat())
    phone.get_by_label("有效期至").fill((start + timedelta(days=6)).isoformat())
    phone.locator("#drivers-0-name").fill("王建军")
    phone.locator("#drivers-0-id_number").fill(make_id_number())
    phone.locator("#drivers-0-phone").fill("13901110001")
    phone.get_by_role("button", name="保存并提交").click()

    # An unknown county code gets its own message at that field; nothing is saved.
    assert phone.locator("#destination-error").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.get_by_label("目的地（区县代码）").fill("320583")
    phone.get_by_role("button", name="保存并提交").click()
    assert "审核中" in phone.locator(".badge").first.inner_text()
    app_id = phone.url.rstrip("/").split("/")[-1]

    desk = new_page(browser, locale="en-US", viewport=DESKTOP)
    log_in(desk, live_server, emails[1], chinese=False)
    desk.get_by_role("link", name="Queue").click()
    assert desk.get_by_text("沪A61234").is_visible()
    decide(desk, live_server, app_id, "return", "请补充第二名司机信息")

    phone.goto(f"{live_server}/applications/{app_id}")
    assert "请补充第二名司机信息" in phone.locator(".timeline").inner_text()
    phone.get_by_role("link", name="修改并提交").click()
    phone.locator("#drivers-1-name").fill("周明")
    phone.locator("#drivers-1-id_number").fill(make_id_number(serial="456"))
    phone.locator("#drivers-1-phone").fill("13901110002")
    phone.get_by_role("button", name="保存并提交").click()
    assert "审核中" in phone.locator(".badge").first.inner_text()

    decide(desk, live_server, app_id, "approve")
    other = new_page(browser, locale="en-US", viewport=DESKTOP)
    log_in(other, live_server, emails[2], chinese=False)
    decide(other, live_server, app_id, "approve")

    phone.goto(f"{live_server}/applications/{app_id}")
    assert "已批准" in phone.locator(".badge").first.inner_text()
    timeline = phone.locator(".timeline").inner_text()
    assert "请补充第二名司机信息" in timeline
    assert phone.locator(".timeline-item").count() == 5
