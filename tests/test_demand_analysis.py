"""Common problems from a fixed corpus: the weekly counts and each category's rising terms,
segmented by a real Chinese word segmenter with the stop words left out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from permits.extensions import db
from permits.models import DemandCategory, Role, User
from permits.services import demand_analysis, demands
from permits.services.errors import ValidationFailed
from permits.terms import terms_of
from tests.factories import make_department, make_enterprise, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: Monday 30 November 2026 (ISO week 49) and Monday 7 December (week 50), 10:00 in Shanghai.
WEEK_49 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
WEEK_50 = WEEK_49 + timedelta(weeks=1)

CORPUS = {
    WEEK_49: [
        ("staff_return", "员工无法返岗", "小区封控，员工无法返岗。"),
        ("logistics", "货车无法通行", "货车在卡口被拦，通行证还没有办下来。"),
        ("finance", "房租压力", "停工两个月，房租压力很大。"),
    ],
    WEEK_50: [
        ("staff_return", "员工被封控", "员工所在小区封控，无法返岗。"),
        ("staff_return", "返岗困难", "封控小区的员工需要返岗证明。"),
        ("staff_return", "返岗证明", "员工返岗需要街道证明，小区封控。"),
        ("logistics", "货车通行证", "两辆货车的通行证还在审批，货车停在厂里。"),
        ("finance", "减免房租", "希望减免房租。"),
    ],
}


def test_chinese_is_segmented_into_words_and_stop_words_are_left_out() -> None:
    assert terms_of("小区封控，员工无法返岗，货车通行证办不下来，房租压力很大。") == [
        "小区",
        "封控",
        "员工",
        "返岗",
        "货车",
        "通行证",
        "房租",
        "压力",
    ]
    assert terms_of("Our trucks cannot get a pass: 12 drivers held.") == [
        "trucks",
        "get",
        "pass",
        "drivers",
        "held",
    ]


def file_corpus() -> User:
    make_department("economy", "310115")
    make_department("transport", "310115")
    make_department("development_reform", "310115")
    pudong = make_user(Role.ENTERPRISE, enterprise=make_enterprise(district="310115"))
    jingan = make_user(Role.ENTERPRISE, enterprise=make_enterprise(district="310106"))
    for moment, tickets in CORPUS.items():
        for i, (category, title, description) in enumerate(tickets):
            user = jingan if category == "finance" else pudong
            demands.file_demand(
                user,
                category=category,
                title=title,
                description=description,
                now=moment + timedelta(hours=i),
            )
    db.session.commit()
    return pudong


def test_the_weekly_counts_and_the_rising_terms(app: Flask) -> None:
    file_corpus()
    report = demand_analysis.analyse(date(2026, 12, 7), date(2026, 12, 13), zone=SHANGHAI)
    assert [(c.week, c.category.value, c.district, c.n) for c in report.counts] == [
        ("2026-W50", "finance", "310106", 1),
        ("2026-W50", "logistics", "310115", 1),
        ("2026-W50", "staff_return", "310115", 3),
    ]
    staff = [t for t in report.terms if t.category is DemandCategory.STAFF_RETURN]
    # Three tickets this week use each of these four words, one did last week: +2.
    assert {t.term for t in staff[:4]} == {"员工", "封控", "小区", "返岗"}
    assert all(t.n == 3 and t.change == 2 for t in staff[:4])
    logistics = {t.term: (t.n, t.change) for t in report.terms if t.category.value == "logistics"}
    assert logistics["货车"] == (1, 0) and logistics["通行证"] == (1, 0)
    finance = {t.term: (t.n, t.change) for t in report.terms if t.category.value == "finance"}
    assert finance["房租"] == (1, 0) and finance["减免"] == (1, 1)
    assert all(t.week == "2026-W50" for t in report.terms)


def test_a_period_is_bounded() -> None:
    today = date(2026, 12, 5)
    assert demand_analysis.check_period(None, None, today=today) == (date(2026, 11, 8), today)
    with pytest.raises(ValidationFailed):
        demand_analysis.check_period(date(2026, 1, 1), today, today=today)
    with pytest.raises(ValidationFailed):
        demand_analysis.check_period(today, date(2026, 12, 1), today=today)
