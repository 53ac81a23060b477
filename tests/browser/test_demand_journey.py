"""A demand ticket in a real browser, as issue 17 tries it: an enterprise on a phone in Chinese
files "员工无法返岗" (first with its title forgotten), the district's economy commission accepts
and answers it on a desktop, the enterprise says it is not solved (first without a reason), the
commission answers again, and the enterprise confirms it solved and rates the handling 5.
axe-core checks every main screen on the way."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from permits.extensions import db
from permits.models import Demand, Role
from tests.browser.conftest import (
    EN_DESKTOP,
    ZH_PHONE,
    check_accessibility,
    log_in,
    setting_page,
    snap,
)
from tests.browser.test_application_journey import badge, fits_the_screen, read
from tests.factories import make_approver, make_enterprise, make_user


def ticket(demand_id: int) -> Demand:
    db.session.expire_all()
    demand = db.session.get(Demand, demand_id)
    assert demand is not None
    return demand


def test_file_accept_answer_not_solved_answer_again_confirm_and_rate(
    browser: Any, live_server: str
) -> None:
    owner = make_user(Role.ENTERPRISE, enterprise=make_enterprise(district="310115"))
    officer = make_approver("economy", "310115")

    # The enterprise, on its phone in Chinese, forgets the title first.
    phone = setting_page(browser, ZH_PHONE)
    log_in(phone, live_server, owner.email, ZH_PHONE)
    phone.get_by_role("link", name="诉求", exact=True).click()
    check_accessibility(phone, "my demands")
    phone.get_by_role("link", name="提交诉求", exact=True).click()
    phone.get_by_label("诉求类别").select_option("staff_return")
    description = "小区封控，12名员工无法到岗，请协调开具返岗证明。"
    phone.get_by_label("具体描述").fill(description)
    phone.get_by_role("button", name="提交诉求").click()
    error = phone.locator("#title-error")
    expect(error).to_have_text("此项为必填项。")
    expect(error).to_be_in_viewport()
    expect(phone.get_by_label("具体描述")).to_have_value(description)
    expect(phone.get_by_label("诉求类别")).to_have_value("staff_return")
    check_accessibility(phone, "refused demand form")
    assert read(lambda: db.session.query(Demand).count()) == 0

    phone.get_by_label("标题").fill("员工无法返岗")
    phone.get_by_role("button", name="提交诉求").click()
    assert badge(phone) == "待受理"
    demand_id = int(phone.url.split("#")[0].rstrip("/").rsplit("/", 1)[1])
    assert fits_the_screen(phone, ZH_PHONE)
    check_accessibility(phone, "filed demand")
    snap(phone, "phone-demand-filed")

    # The district's economy commission, on a desktop, accepts and answers it.
    desk = setting_page(browser, EN_DESKTOP)
    log_in(desk, live_server, officer.email, EN_DESKTOP)
    desk.get_by_role("link", name="Demands", exact=True).click()
    check_accessibility(desk, "department queue")
    desk.locator(f"a[href$='/demands/{demand_id}']").click()
    desk.get_by_role("button", name="Accept", exact=True).click()
    expect(desk.locator(".flash-success")).to_be_visible()
    assert badge(desk) == "Accepted, being handled"
    desk.get_by_label("Your answer").fill("已协调街道开具返岗证明，请凭证明返岗。")
    check_accessibility(desk, "ticket with the answer form")
    desk.get_by_role("button", name="Send the answer").click()
    assert badge(desk) == "Answered, waiting for your confirmation"

    # Not solved: without a reason first, then with it.
    phone.reload()
    assert badge(phone) == "已答复，待确认"
    expect(phone.locator(".timeline")).to_contain_text("已协调街道开具返岗证明")
    phone.get_by_role("button", name="仍未解决").click()
    expect(phone.locator("#reason-error")).to_have_text("此项为必填项。")
    check_accessibility(phone, "refused reopening")
    assert read(lambda: ticket(demand_id).status.value) == "answered"
    phone.get_by_label("为什么没有解决？").fill("证明不被小区物业认可。")
    phone.get_by_role("button", name="仍未解决").click()
    assert badge(phone) == "未解决，已重新办理"

    # The commission sees it reopened and answers again.
    desk.reload()
    assert badge(desk) == "Reopened, not solved"
    expect(desk.locator(".timeline")).to_contain_text("证明不被小区物业认可。")
    desk.get_by_label("Your answer").fill("市经信委已发函物业，员工明日可返岗。")
    desk.get_by_role("button", name="Send the answer").click()
    assert badge(desk) == "Answered, waiting for your confirmation"

    # Solved, rated 5.
    phone.reload()
    phone.get_by_label("5 · 非常满意").check()
    phone.get_by_label("评价（可选）").fill("谢谢，问题已解决。")
    check_accessibility(phone, "confirming a demand")
    phone.get_by_role("button", name="确认已解决").click()
    assert badge(phone) == "已解决"
    expect(phone.locator(".facts")).to_contain_text("5 分（满分 5 分）")
    assert fits_the_screen(phone, ZH_PHONE)
    snap(phone, "phone-demand-solved", full_page=True)
    done = read(lambda: (ticket(demand_id).status.value, ticket(demand_id).rating))
    assert done == ("closed", 5)
