"""The demo city: Shanghai's 16 districts with departments, approvers, checkpoints and enterprises.

Idempotent: running it again adds only what is missing. Every demo account shares one password.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import current_app

from permits import regions, validators
from permits.extensions import db
from permits.models import CITY_SCOPE, Department, Role, User
from permits.services import accounts, organisations

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
    return accounts.hash_password(DEMO_PASSWORD)


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
    db.session.flush()
    return demo_logins()


def demo_logins() -> list[DemoLogin]:
    first = CHECKPOINTS[0][0].lower()
    return [
        DemoLogin("admin", _email("admin"), "operator of the service"),
        DemoLogin("supervisor", _email("supervisor"), "city leadership, read-only figures"),
        DemoLogin("enterprise", _email("chen.pujiang"), "cold-chain logistics, Pudong"),
        DemoLogin("enterprise", _email("wang.kangan"), "medical supplies, Xuhui"),
        DemoLogin("approver", _email("economy.310115"), "Pudong economy (step 1, work resumption)"),
        DemoLogin(
            "approver", _email("commerce.310115"), "Pudong commerce (step 1, vehicle passes)"
        ),
        DemoLogin("approver", _email("economy.city"), "city economy (step 2, work resumption)"),
        DemoLogin("approver", _email("transport.city"), "city transport (step 2, vehicle passes)"),
        DemoLogin("checkpoint", _email(f"checkpoint.{first}"), CHECKPOINTS[0][1]),
    ]
