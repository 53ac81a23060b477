"""An enterprise registers on a phone in Chinese, fixes a wrong USCC, switches to English,
logs out and back in: what a new user of the service does first."""

from __future__ import annotations

from typing import Any

from permits.validators import uscc_check_character
from tests.browser.conftest import DESKTOP, PHONE, new_page

BODY = "91310115MA1K3P7Q8"
GOOD = BODY + uscc_check_character(BODY)
WRONG = BODY + ("0" if GOOD[-1] != "0" else "1")


def test_register_fix_the_uscc_switch_language_and_log_in_again(
    browser: Any, live_server: str
) -> None:
    page = new_page(browser, locale="zh-CN", viewport=PHONE)
    page.goto(f"{live_server}/register")
    assert page.locator("h1").inner_text() == "企业注册"

    page.get_by_label("企业名称").fill("上海浦江冷链物流有限公司")
    page.get_by_label("统一社会信用代码").fill(WRONG)
    page.get_by_label("区").select_option("310115")
    page.get_by_label("地址").fill("浦东新区航头镇沪南公路5678号")
    page.get_by_label("联系人").fill("陈建国")
    page.get_by_label("手机号码").fill("13916001234")
    page.get_by_label("电子邮箱").fill("chen@pujiang.example.com")
    page.get_by_label("密码", exact=True).fill("cold-chain-route-88")
    page.get_by_label("确认密码").fill("cold-chain-route-88")
    page.get_by_role("button", name="注册").click()

    # The message stands at the USCC field, and what was typed is kept.
    error = page.locator("#uscc-error")
    assert "营业执照" in error.inner_text()
    assert page.get_by_label("统一社会信用代码").get_attribute("aria-invalid") == "true"
    assert page.locator("#name-error").count() == 0
    assert page.get_by_label("企业名称").input_value() == "上海浦江冷链物流有限公司"
    # The page fits the phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_label("统一社会信用代码").fill(GOOD)
    page.get_by_label("密码", exact=True).fill("cold-chain-route-88")
    page.get_by_label("确认密码").fill("cold-chain-route-88")
    page.get_by_role("button", name="注册").click()
    assert "上海浦江冷链物流有限公司" in page.locator(".whoami").inner_text()

    page.get_by_role("button", name="English").click()
    assert page.locator("h1").inner_text().startswith("Welcome")

    page.get_by_role("button", name="Log out").click()
    assert page.locator("h1").inner_text() == "Log in"

    # On another device whose browser prefers Chinese, the saved choice (English) wins.
    desktop = new_page(browser, locale="zh-CN", viewport=DESKTOP)
    desktop.goto(f"{live_server}/login")
    assert desktop.locator("h1").inner_text() == "登录"
    desktop.get_by_label("电子邮箱").fill("chen@pujiang.example.com")
    desktop.get_by_label("密码").fill("cold-chain-route-88")
    desktop.get_by_role("button", name="登录").click()
    assert desktop.locator("h1").inner_text().startswith("Welcome")
