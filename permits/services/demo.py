"""The demo city: Shanghai's 16 districts with departments, approvers, checkpoints and enterprises.

Idempotent: running it again adds only what is missing. Every demo account shares one password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app

from permits import regions, validators
from permits.extensions import db
from permits.models import CITY_SCOPE, Application, Department, Role, User, utcnow
from permits.services import (
    accounts,
    application_queries,
    applications,
    attachments,
    organisations,
    passwords,
    reviews,
    workflows,
)

DEMO_PASSWORD = "shanghai-demo-2022"  # noqa: S105 - printed to the operator on purpose
DEMO_DOMAIN = "demo.permits.example"

#: Departments each district has (the first step of an application is decided in the district).
DISTRICT_DEPARTMENTS = (
    "economy",
    "commerce",
    "health",
    "postal",
    "agriculture",
    "development_reform",
)
#: City-wide departments (the last step).
CITY_DEPARTMENTS = ("economy", "transport")

#: Short Chinese department names, for the demo approvers' display names.
SHORT_NAMES_ZH = {
    "economy": "经信委",
    "commerce": "商务委",
    "health": "卫健委",
    "transport": "交通委",
    "postal": "邮政管理局",
    "agriculture": "农业农村委",
    "development_reform": "发改委",
}

#: (name, district, first 17 characters of the USCC, address, contact, mobile, user email)
ENTERPRISES = (
    (
        "上海浦江冷链物流有限公司",
        "310115",
        "91310115MA1K3P7Q8",
        "浦东新区航头镇沪南公路5678号",
        "陈建国",
        "13916001234",
        "chen.pujiang",
    ),
    (
        "上海康安医疗器械有限公司",
        "310104",
        "91310104MA1FR2KX5",
        "徐汇区漕宝路1200号",
        "王丽华",
        "13817002345",
        "wang.kangan",
    ),
    (
        "上海鲜达农产品配送有限公司",
        "310112",
        "91310112MA1GB4H63",
        "闵行区七莘路3000号",
        "李强",
        "13701003456",
        "li.xianda",
    ),
    (
        "上海嘉精汽车零部件有限公司",
        "310114",
        "91310114MA1GL8N20",
        "嘉定区安亭镇墨玉南路888号",
        "张伟",
        "13601004567",
        "zhang.jiajing",
    ),
)

#: (code, name, district, latitude, longitude)
CHECKPOINTS = (
    ("JD-G2-ANTING", "G2京沪高速安亭收费站", "310114", 31.2969, 121.1565),
    ("PD-S32-SHENJIANG", "S32申嘉湖高速申江路道口", "310115", 31.0889, 121.6178),
    ("SJ-G60-XINQIAO", "G60沪昆高速新桥道口", "310117", 31.0651, 121.3244),
    ("QP-G50-HUQING", "G50沪渝高速沪青平道口", "310118", 31.1093, 121.0297),
)


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    note: str


def _email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


@cache
def _demo_password_hash() -> str:
    return passwords.hash_password(DEMO_PASSWORD)


def _user(email: str, role: Role, name: str, **org: Any) -> User:
    existing = accounts.user_by_email(email)
    if existing is not None:
        return existing
    return accounts.create_user(
        email, role, DEMO_PASSWORD, name=name, password_hash=_demo_password_hash(), **org
    )


def approver_email(department: Department) -> str:
    return _email(f"{department.code}.{department.scope}")


def load_demo_city() -> list[DemoLogin]:
    """Creates what is missing of the demo city and returns the logins worth trying first."""
    city = str(current_app.config["CITY_CODE"])
    districts = regions.districts(city)
    for division in districts:
        for code in DISTRICT_DEPARTMENTS:
            department = organisations.get_or_create_department(code, division.code)
            _user(
                approver_email(department),
                Role.APPROVER,
                f"{division.name_zh}{SHORT_NAMES_ZH[code]}审批员",
                department=department,
            )
    for code in CITY_DEPARTMENTS:
        department = organisations.get_or_create_department(code, CITY_SCOPE)
        _user(
            approver_email(department),
            Role.APPROVER,
            f"市{SHORT_NAMES_ZH[code]}审批员",
            department=department,
        )

    for code, name, district, lat, lon in CHECKPOINTS:
        checkpoint = organisations.checkpoint_by_code(code) or organisations.create_checkpoint(
            code, name, district, latitude=lat, longitude=lon
        )
        _user(
            _email(f"checkpoint.{code.lower()}"),
            Role.CHECKPOINT,
            f"{name} 值班员",
            checkpoint=checkpoint,
        )

    for name, district, first17, address, contact, mobile, local in ENTERPRISES:
        uscc = first17 + validators.uscc_check_character(first17)
        enterprise = organisations.enterprise_by_uscc(uscc) or organisations.create_enterprise(
            organisations.EnterpriseDetails(
                uscc=uscc,
                name=name,
                district=district,
                address=address,
                contact_name=contact,
                contact_phone=mobile,
                email=_email(local),
            ),
            require_contact=True,
        )
        _user(_email(local), Role.ENTERPRISE, contact, enterprise=enterprise)

    _user(_email("admin"), Role.ADMIN, "系统管理员")
    _user(_email("supervisor"), Role.SUPERVISOR, "市督查组")
    workflows.ensure_default_workflows()
    _demo_applications()
    db.session.flush()
    return demo_logins()


#: A minimal PDF standing in for an epidemic prevention plan.
DEMO_PLAN = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _driver(name: str, birth: str, serial: str, phone: str) -> dict[str, str]:
    body = "310115" + birth + serial
    return {
        "name": name,
        "id_number": body + validators.id_number_check_character(body),
        "phone": phone,
    }


def _demo_applications() -> None:
    """Applications in every state, once: for the Pudong logistics firm and the Xuhui supplier."""
    logistics = accounts.user_by_email(_email("chen.pujiang"))
    medical = accounts.user_by_email(_email("wang.kangan"))
    assert logistics is not None and medical is not None
    if application_queries.enterprise_applications(logistics.enterprise_id or 0, limit=1):
        return
    now = utcnow()
    start = applications.today(now)  # valid today, so the demo checkpoint shows green
    trucks = [
        (
            "沪A61234",
            "refrigerated_truck",
            "daily_necessities",
            "320583",
            [_driver("王建军", "19780312", "231", "13901110001")],
        ),
        (
            "沪AD35719",
            "light_truck",
            "daily_necessities",
            "330106",
            [
                _driver("刘海", "19850720", "114", "13901110002"),
                _driver("周明", "19900105", "337", "13901110003"),
            ],
        ),
        (
            "沪B77821",
            "heavy_truck",
            "agriculture",
            "340104",
            [_driver("孙立", "19820909", "412", "13901110004")],
        ),
        (
            "沪A58830",
            "van",
            "medical",
            "310104",
            [_driver("赵敏", "19881111", "528", "13901110005")],
        ),
        (
            "沪A12675D",
            "heavy_truck",
            "raw_materials",
            "320205",
            [_driver("钱伟", "19750303", "615", "13901110006")],
        ),
        (
            "沪C30918",
            "tanker",
            "energy",
            "330205",
            [_driver("吴刚", "19791224", "139", "13901110007")],
        ),
        (
            "沪A90416",
            "van",
            "postal",
            "310112",
            [_driver("郑洁", "19920218", "246", "13901110008")],
        ),
    ]
    made = []
    for plate, vehicle_type, cargo, destination, drivers in trucks:
        made.append(
            applications.create_draft(
                logistics,
                "vehicle_pass",
                {
                    "plate": plate,
                    "vehicle_type": vehicle_type,
                    "cargo_category": cargo,
                    "origin": "310115",
                    "destination": destination,
                    "drivers": drivers,
                    "valid_from": start.isoformat(),
                    "valid_until": (start + timedelta(days=13)).isoformat(),
                },
                now=now,
            )
        )
    draft, at_step_one, at_step_two, returned, approved, rejected, withdrawn = made

    def approver(code: str, scope: str) -> User:
        user = accounts.user_by_email(_email(f"{code}.{scope}"))
        assert user is not None
        return user

    for application in made[1:]:
        applications.submit(logistics, application, now=now)

    def signer(application: Application) -> User:
        """The demo approver of the department the application waits at."""
        code, scope = application.current_department_code, application.current_scope
        assert code is not None and scope is not None
        return approver(code, scope)

    for application in (at_step_two, returned, approved, rejected):
        reviews.decide(signer(application), application, "approve", now=now)
    transport = approver("transport", "city")
    reviews.decide(
        transport,
        returned,
        "return",
        now=now,
        comment="请补充冷链食品核酸检测报告，并核对司机手机号码。",
    )
    reviews.decide(transport, approved, "approve", now=now)
    reviews.decide(
        transport,
        rejected,
        "reject",
        reason_code="not_key_supply",
        now=now,
        comment="所运货物不属于重点保供物资目录。",
    )
    applications.withdraw(logistics, withdrawn, now=now)
    del draft, at_step_one

    for i, (address, staff) in enumerate((("徐汇区漕宝路1200号", 35), ("徐汇区宜山路700号", 12))):
        work = applications.create_draft(
            medical,
            "work_resumption",
            {
                "site_address": address,
                "district": "310104",
                "resume_date": start.isoformat(),
                "valid_until": (start + timedelta(days=20)).isoformat(),
                "staff_on_site": staff,
                "closed_loop": True,
                "contact_name": "王丽华",
                "contact_phone": "13817002345",
            },
            now=now,
        )
        attachments.add_attachment(
            medical,
            work,
            purpose="prevention_plan",
            filename="疫情防控方案.pdf",
            content=DEMO_PLAN,
            now=now,
        )
        applications.submit(medical, work, now=now)
        if i == 0:
            reviews.decide(signer(work), work, "approve", now=now)
    _demo_backlog(logistics, start, now)


#: Waiting too long, and refused for coded reasons: what the supervision dashboard is for.
BACKLOG = (
    # plate, cargo, hours since submission, decision at step 1 (None: still waiting), reason
    ("沪A70311", "medical", 30, None, None),
    ("沪A70312", "medical", 41, None, None),
    ("沪A70313", "medical", 27, None, None),
    ("沪A70314", "daily_necessities", 26, None, None),
    ("沪A70315", "agriculture", 15, None, None),
    ("沪A70316", "daily_necessities", 50, "reject", "incomplete_documents"),
    ("沪A70317", "daily_necessities", 48, "reject", "incomplete_documents"),
    ("沪A70318", "medical", 45, "reject", "vehicle_or_driver_ineligible"),
    ("沪A70319", "agriculture", 40, "return", None),
)


def _demo_backlog(logistics: User, start: date, now: datetime) -> None:
    comments = {
        "incomplete_documents": "未上传车辆行驶证和司机健康承诺书。",
        "vehicle_or_driver_ineligible": "该车辆不具备医疗物资运输条件。",
        None: "请核对目的地区县代码。",
    }
    for i, (plate, cargo, hours, decision, reason) in enumerate(BACKLOG):
        submitted_at = now - timedelta(hours=hours)
        application = applications.create_draft(
            logistics,
            "vehicle_pass",
            {
                "plate": plate,
                "vehicle_type": "light_truck",
                "cargo_category": cargo,
                "origin": "310115",
                "destination": "320583",
                "drivers": [_driver("李强", "19800101", f"{700 + i}", f"1390111{1000 + i}")],
                "valid_from": start.isoformat(),
                "valid_until": (start + timedelta(days=6)).isoformat(),
            },
            now=submitted_at,
        )
        applications.submit(logistics, application, now=submitted_at)
        if decision is None:
            continue
        code, scope = application.current_department_code, application.current_scope
        officer = accounts.user_by_email(_email(f"{code}.{scope}"))
        assert officer is not None
        reviews.decide(
            officer,
            application,
            decision,
            reason_code=reason,
            comment=comments[reason],
            now=submitted_at + timedelta(hours=hours / 4),
        )


def demo_logins() -> list[DemoLogin]:
    first = CHECKPOINTS[0][0].lower()
    return [
        DemoLogin("admin", _email("admin"), "operator of the service"),
        DemoLogin("supervisor", _email("supervisor"), "city leadership, read-only figures"),
        DemoLogin("enterprise", _email("chen.pujiang"), "cold-chain logistics, Pudong"),
        DemoLogin("enterprise", _email("wang.kangan"), "medical supplies, Xuhui"),
        DemoLogin("approver", _email("economy.310104"), "Xuhui economy (step 1, work resumption)"),
        DemoLogin(
            "approver", _email("commerce.310115"), "Pudong commerce (step 1, vehicle passes)"
        ),
        DemoLogin("approver", _email("economy.city"), "city economy (step 2, work resumption)"),
        DemoLogin("approver", _email("transport.city"), "city transport (step 2, vehicle passes)"),
        DemoLogin("checkpoint", _email(f"checkpoint.{first}"), CHECKPOINTS[0][1]),
    ]
