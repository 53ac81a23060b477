"""make_* factories: valid objects by default, any field overridable."""

from __future__ import annotations

import itertools
import random
from typing import Any

from permits.extensions import db
from permits.models import Checkpoint, Department, Enterprise, Role, User
from permits.services import accounts, attachments, organisations
from permits.validators import USCC_ALPHABET, uscc_check_character

PASSWORD = "river-lantern-4711"
_counter = itertools.count(1)


def make_uscc(district: str = "310115", rng: random.Random | None = None) -> str:
    """A USCC with a correct check character (GB 32100-2015)."""
    rng = rng or random.Random()
    body = "91" + district + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_character(body)


def make_enterprise(**fields: Any) -> Enterprise:
    n = next(_counter)
    district = fields.pop("district", "310115")
    details = organisations.EnterpriseDetails(
        uscc=fields.pop("uscc", None) or make_uscc(district),
        name=fields.pop("name", f"上海测试企业{n}有限公司"),
        district=district,
        address=fields.pop("address", f"测试路{n}号"),
        contact_name=fields.pop("contact_name", "测试联系人"),
        contact_phone=fields.pop("contact_phone", "13800138000"),
        email=fields.pop("email", f"contact{n}@example.com"),
    )
    assert not fields, f"unknown fields {fields}"
    enterprise = organisations.create_enterprise(details)
    db.session.commit()
    return enterprise


def make_department(code: str = "economy", scope: str = "310115") -> Department:
    department = organisations.get_or_create_department(code, scope)
    db.session.commit()
    return department


def make_checkpoint(code: str | None = None, district: str = "310114") -> Checkpoint:
    n = next(_counter)
    checkpoint = organisations.create_checkpoint(
        code or f"CP-{n}", f"测试卡口{n}", district, latitude=31.3, longitude=121.2
    )
    db.session.commit()
    return checkpoint


def make_user(role: Role = Role.ENTERPRISE, **fields: Any) -> User:
    n = next(_counter)
    org: dict[str, Any] = {}
    if role is Role.ENTERPRISE:
        org["enterprise"] = fields.pop("enterprise", None) or make_enterprise()
    elif role in (Role.APPROVER, Role.HANDLER):
        org["department"] = fields.pop("department", None) or make_department()
    elif role is Role.CHECKPOINT:
        org["checkpoint"] = fields.pop("checkpoint", None) or make_checkpoint()
    user = accounts.create_user(
        fields.pop("email", f"user{n}@example.com"),
        role,
        fields.pop("password", PASSWORD),
        name=fields.pop("name", f"用户{n}"),
        must_change_password=fields.pop("must_change_password", False),
        **org,
    )
    assert not fields, f"unknown fields {fields}"
    db.session.commit()
    return user


# --- applications ------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_id_number(birth: str = "19800101", serial: str = "123") -> str:
    """A resident ID number with a correct check digit (GB 11643), born in Pudong."""
    from permits.validators import id_number_check_character

    body = "310115" + birth + serial
    return body + id_number_check_character(body)


def unique_id_number() -> str:
    """A valid ID number not used before in this test run (born on a day of its own)."""
    from datetime import date, timedelta

    n = next(_counter)
    birth = date(1960, 1, 1) + timedelta(days=n // 900)
    return make_id_number(birth.strftime("%Y%m%d"), f"{100 + n % 900:03d}")


def service_today() -> Any:
    """Today in the service's time zone (Asia/Shanghai), which is not the machine's."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def vehicle_fields(**overrides: Any) -> dict[str, Any]:
    from datetime import timedelta

    start = service_today()
    fields: dict[str, Any] = {
        # A vehicle of its own per call: one plate cannot hold two overlapping passes.
        "plate": f"沪C{next(_counter) % 100_000:05d}",
        "vehicle_type": "refrigerated_truck",
        # A driver of their own per call: one driver cannot be on two vehicles' overlapping passes.
        "drivers": [{"name": "王师傅", "id_number": unique_id_number(), "phone": "13900001111"}],
        "origin": "310115",
        "destination": "320583",
        "cargo_category": "daily_necessities",
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(days=13)).isoformat(),
    }
    fields.update(overrides)
    return fields


def work_fields(**overrides: Any) -> dict[str, Any]:
    from datetime import timedelta

    start = service_today() + timedelta(days=1)
    fields: dict[str, Any] = {
        "site_address": "浦东新区张江路100号",
        "district": "310115",
        "resume_date": start.isoformat(),
        "valid_until": (start + timedelta(days=20)).isoformat(),
        "staff_on_site": 40,
        "contact_name": "陈建国",
        "contact_phone": "13916001234",
        "closed_loop": True,
    }
    fields.update(overrides)
    return fields


def make_application(
    user: User | None = None, kind: str = "vehicle_pass", *, submit: bool = False, **overrides: Any
) -> Any:
    """A draft (or, with submit=True, a submitted application) made through the services."""
    from permits.models import utcnow
    from permits.services import applications

    user = user or make_user(Role.ENTERPRISE)
    fields = vehicle_fields(**overrides) if kind == "vehicle_pass" else work_fields(**overrides)
    application = applications.create_draft(user, kind, fields, now=utcnow())
    if kind == "work_resumption":
        attachments.add_attachment(
            user,
            application,
            purpose="prevention_plan",
            filename="plan.pdf",
            content=PDF,
            now=utcnow(),
        )
    if submit:
        applications.submit(user, application, now=utcnow())
    db.session.commit()
    return application


def make_approver(code: str, scope: str, **fields: Any) -> User:
    return make_user(Role.APPROVER, department=make_department(code, scope), **fields)


def approve_fully(application: Any) -> Any:
    """Both steps approved by fresh approvers of the right departments; returns the pass."""
    from permits.models import utcnow
    from permits.services import issuance, reviews

    for _ in range(2):
        code, scope = application.current_department_code, application.current_scope
        reviews.decide(make_approver(code, scope), application, "approve", now=utcnow())
        db.session.commit()
    issued = issuance.pass_of(application)
    db.session.commit()  # end the read, so the test holds no lock a live server would wait on
    return issued


def make_pass(user: User | None = None, kind: str = "vehicle_pass", **overrides: Any) -> Any:
    """An issued pass, through the real workflow."""
    return approve_fully(make_application(user, kind, submit=True, **overrides))
