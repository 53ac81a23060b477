"""Many vehicles from one spreadsheet: template, Excel's habits, per-row errors, the corrected
file, the good rows submitted as one batch, and the limits."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from permits.extensions import db
from permits.models import (
    Application,
    ApplicationBatch,
    Decision,
    Kind,
    Notification,
    Role,
    utcnow,
)
from permits.services import applications, attachments, bulk
from permits.services.bulk_sheets import columns
from permits.services.errors import ValidationFailed
from permits.workflow import Action, State
from tests.conftest import csrf_token, login
from tests.factories import (
    PASSWORD,
    make_application,
    make_approver,
    make_id_number,
    make_pass,
    make_user,
    service_today,
    vehicle_fields,
)

HEADERS = [header for _, header in columns(3)]


def browser(app: Flask, user: Any) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert login(client, user.email, PASSWORD).status_code == 302
    return client


def vehicle(n: int, **cells: Any) -> dict[str, Any]:
    start = service_today()
    row: dict[str, Any] = {
        "plate": f"沪A{n:05d}",
        "vehicle_type": "heavy_truck",
        "cargo_category": "daily_necessities",
        "origin": "310115",
        "destination": "320583",
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(days=6)).isoformat(),
        "driver1_name": f"司机{n}",
        "driver1_id_number": make_id_number(serial=f"{n:03d}"),
        "driver1_phone": f"139{n:08d}",
    }
    row.update(cells)
    return row


def xlsx(rows: list[dict[str, Any]], extra: list[list[Any]] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([row.get(key) for key, _ in columns(3)])
    for values in extra or []:
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[dict[str, Any]], encoding: str = "utf-8-sig") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([row.get(key, "") for key, _ in columns(3)])
    return text.getvalue().encode(encoding)


def upload(client: FlaskClient, content: bytes, name: str = "fleet.xlsx") -> Any:
    return client.post(
        "/applications/bulk/",
        data={"file": (io.BytesIO(content), name), "csrf_token": csrf_token(client)},
        content_type="multipart/form-data",
    )


def submit(client: FlaskClient, result_url: str) -> Any:
    return client.post(result_url + "/submit", data={"csrf_token": csrf_token(client, result_url)})


def count(model: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def problems_on(page: str) -> list[tuple[int, str]]:
    """(row, column) of every problem listed on the result page."""
    return [
        (int(n), column) for n, column in re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td>", page)
    ]


def test_the_template_has_bilingual_headers_an_example_and_the_codes(app: Flask) -> None:
    client = browser(app, make_user(Role.ENTERPRISE))
    book = load_workbook(io.BytesIO(client.get("/applications/bulk/template.xlsx").data))
    vehicles, codes = book.worksheets
    headers = [c.value for c in vehicles[1]]
    assert "车牌号 plate" in headers and "驾驶员3手机号 driver3_phone" in headers
    assert vehicles.cell(row=2, column=2).value == "沪A12345"
    listed = {(row[0], row[1]) for row in codes.iter_rows(min_row=2, values_only=True)}
    assert ("cargo_category", "medical") in listed
    assert ("origin / destination", "310115") in listed
    csv_template = client.get("/applications/bulk/template.csv").data
    assert csv_template.startswith("\ufeff".encode()) and "车牌号 plate".encode() in csv_template
    assert "浦东新区".encode() in client.get("/applications/bulk/codes.csv").data


def test_the_untouched_template_is_refused_as_having_no_vehicles(app: Flask) -> None:
    client = browser(app, make_user(Role.ENTERPRISE))
    template = client.get("/applications/bulk/template.xlsx").data
    response = upload(client, template)
    assert response.status_code == 422
    assert "Fill one row per vehicle" in response.get_data(as_text=True)


def test_excels_habits_in_an_xlsx_do_not_make_errors(app: Flask) -> None:
    user = make_user(Role.ENTERPRISE)
    client = browser(app, user)
    start = service_today()
    serial = (start - date(1899, 12, 30)).days
    x_id = make_id_number(serial="010")
    if not x_id.endswith("X"):  # find a serial whose check character is X
        x_id = next(
            make_id_number(serial=f"{s:03d}")
            for s in range(1000)
            if make_id_number(serial=f"{s:03d}").endswith("X")
        )
    rows = [
        vehicle(1, plate=" 沪a 00001 ", driver1_phone=13900000001.0),
        vehicle(2, valid_from=datetime(start.year, start.month, start.day), valid_until=serial + 6),
        vehicle(3, driver1_phone=13900000003),
        vehicle(4, driver1_id_number=x_id.lower(), driver1_name="王\n师傅"),
    ]
    content = xlsx(rows, extra=[[None] * 5, [None] * 5, ["", "", ""]])
    response = upload(client, content)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert problems_on(page) == [], page[page.find("<tbody>") : page.find("</tbody>")]
    assert "4 of 4 rows can be submitted" in page
    assert submit(client, response.headers["Location"]).status_code == 302
    stored = db.session.scalars(select(Application).order_by(Application.id)).all()
    assert [a.plate for a in stored] == ["沪A00001", "沪A00002", "沪A00003", "沪A00004"]
    assert all(a.status is State.IN_REVIEW for a in stored)
    assert stored[0].drivers[0].phone == "13900000001"
    assert stored[1].valid_until == start + timedelta(days=6)
    assert stored[3].drivers[0].id_number == x_id
    batch = db.session.scalars(select(ApplicationBatch)).one()
    assert batch.source == "upload" and batch.filename == "fleet.xlsx"
    assert {a.batch_id for a in stored} == {batch.id}


def test_an_id_number_excel_turned_into_a_number_is_named_with_the_cure(app: Flask) -> None:
    client = browser(app, make_user(Role.ENTERPRISE))
    number = float(make_id_number(serial="003"))  # Excel keeps 15 digits: the rest are lost
    response = upload(client, xlsx([vehicle(1, driver1_id_number=number)]))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert problems_on(page) == [(2, "驾驶员1身份证号 driver1_id")]
    assert "format the column as text" in page


def test_a_gbk_csv_with_text_dates_and_numbers_saved_by_excel_reads_right(app: Flask) -> None:
    client = browser(app, make_user(Role.ENTERPRISE))
    start = service_today()
    end = start + timedelta(days=3)
    rows = [
        vehicle(1, valid_from=f"{start.year}/{start.month}/{start.day}"),
        vehicle(2, valid_until=f"{end.year}年{end.month}月{end.day}日"),
        vehicle(3, driver1_phone="13900000003.0"),
    ]
    response = upload(client, csv_bytes(rows, "gbk"), "车队.csv")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert problems_on(page) == [] and "3 of 3 rows can be submitted" in page


def test_a_utf8_csv_with_a_bom_and_line_breaks_inside_cells_reads_right(app: Flask) -> None:
    client = browser(app, make_user(Role.ENTERPRISE))
    content = csv_bytes([vehicle(1, driver1_name="李\r\n师傅"), vehicle(2)]) + b"\r\n,,,\r\n\r\n"
    response = upload(client, content, "fleet.csv")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert problems_on(page) == [] and "2 of 2 rows can be submitted" in page


def test_every_bad_field_is_named_by_row_and_nothing_is_created_before_submit(
    app: Flask,
) -> None:
    user = make_user(Role.ENTERPRISE)
    client = browser(app, user)
    past = (service_today() - timedelta(days=1)).isoformat()
    rows = [
        vehicle(1),
        vehicle(2, plate="沪12345"),
        vehicle(3, vehicle_type="rocket"),
        vehicle(4, cargo_category="gold"),
        vehicle(5, origin="999999"),
        vehicle(6, destination="31011"),
        vehicle(7, valid_from=past),
        vehicle(8, valid_until="soon"),
        vehicle(9, driver1_name=""),
        vehicle(10, driver1_id_number="310115198001011231"),
        vehicle(11, driver1_phone="12345"),
        vehicle(12, valid_until=(service_today() + timedelta(days=90)).isoformat()),
        vehicle(13, driver1_name="", driver1_id_number="", driver1_phone=""),
    ]
    response = upload(client, xlsx(rows))
    result_url = response.headers["Location"]
    page = client.get(result_url).get_data(as_text=True)
    assert problems_on(page) == [
        (3, "车牌号 plate"),
        (4, "车辆类型 vehicle_type"),
        (5, "物资类别 cargo_category"),
        (6, "始发地代码 origin"),
        (7, "目的地代码 destination"),
        (8, "有效期起 valid_from"),
        (9, "有效期止 valid_until"),
        (10, "驾驶员1姓名 driver1_name"),
        (11, "驾驶员1身份证号 driver1_id"),
        (12, "驾驶员1手机号 driver1_phone"),
        (13, "有效期止 valid_until"),
        (14, "驾驶员1姓名 driver1_name"),
    ]
    assert "Not a mainland plate" in page and "The start cannot be in the past." in page
    assert count(Application) == 0
    corrected = client.get(result_url + "/corrected.csv").data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(corrected)))
    assert table[0][0] == "错误 errors" and len(table) == 14
    assert table[1][0] == "" and "Not a mainland plate" in table[2][0]
    book = load_workbook(io.BytesIO(client.get(result_url + "/corrected.xlsx").data))
    assert "车牌号 plate" in str(book.worksheets[0].cell(row=3, column=1).value)
    assert submit(client, result_url).status_code == 302
    assert count(Application) == 1


def test_the_corrected_file_uploads_again_once_fixed(app: Flask) -> None:
    client = browser(app, make_user(Role.ENTERPRISE))
    response = upload(client, xlsx([vehicle(1), vehicle(2, plate="沪12345")]))
    corrected = client.get(response.headers["Location"] + "/corrected.csv").data
    fixed = corrected.replace("沪12345".encode(), "沪B12345".encode())
    again = upload(client, fixed, "fixed.csv")
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "2 of 2 rows can be submitted" in page


def test_one_plate_or_driver_twice_in_the_file_is_flagged_on_the_later_row(app: Flask) -> None:
    client = browser(app, make_user(Role.ENTERPRISE))
    driver = make_id_number(serial="777")
    rows = [
        vehicle(1, driver1_id_number=driver),
        vehicle(2, plate="沪A00001"),
        vehicle(3, driver1_id_number=driver),
    ]
    page = client.get(upload(client, xlsx(rows)).headers["Location"]).get_data(as_text=True)
    assert problems_on(page) == [(3, "车牌号 plate"), (4, "驾驶员1身份证号 driver1_id")]
    assert "row 2 of this batch" in page


def test_approvers_are_told_once_per_batch_not_once_per_vehicle(app: Flask) -> None:
    approver = make_approver("commerce", "310115")
    client = browser(app, make_user(Role.ENTERPRISE))
    response = upload(client, xlsx([vehicle(n) for n in range(1, 6)]))
    submit(client, response.headers["Location"])
    told = db.session.scalars(select(Notification).where(Notification.user_id == approver.id))
    assert [(n.event, n.params["count"]) for n in told] == [("batch_waiting", "5")]


def test_a_file_longer_than_the_limit_is_refused_with_a_message(app: Flask) -> None:
    app.config["BULK_MAX_ROWS"] = 3
    client = browser(app, make_user(Role.ENTERPRISE))
    response = upload(client, xlsx([vehicle(n) for n in range(1, 5)]))
    assert response.status_code == 422
    assert "At most 3 vehicles per file" in response.get_data(as_text=True)


def test_a_file_that_is_not_the_template_is_refused(app: Flask) -> None:
    client = browser(app, make_user(Role.ENTERPRISE))
    response = upload(client, b"%PDF-1.4 not a spreadsheet \xff\xfe", "x.csv")
    assert response.status_code == 422
    assert "template" in response.get_data(as_text=True)


def test_an_upload_is_invisible_to_another_enterprise(app: Flask) -> None:
    owner = browser(app, make_user(Role.ENTERPRISE))
    result_url = upload(owner, xlsx([vehicle(1)])).headers["Location"]
    other = browser(app, make_user(Role.ENTERPRISE))
    assert other.get(result_url).status_code == 404
    assert other.get(result_url + "/corrected.csv").status_code == 404
    assert submit(other, result_url).status_code == 404
    assert count(Application) == 0


def test_only_enterprise_users_reach_the_bulk_pages(app: Flask) -> None:
    client = browser(app, make_approver("commerce", "310115"))
    assert client.get("/applications/bulk/").status_code == 403


def test_a_row_whose_truck_or_driver_already_holds_a_pass_names_that_pass(app: Flask) -> None:
    """The logistics firm's spreadsheet: one truck already has a pass, and one driver is on
    another company's truck for the same days; exactly those two rows are flagged (the firm's
    own pass by its number, the other company's without it)."""
    owner = make_user(Role.ENTERPRISE)
    held = make_pass(owner, plate="沪A00003")
    other = make_pass(plate="沪D55555")
    busy_driver = other.application.drivers[0].id_number
    client = browser(app, owner)
    rows = [vehicle(n) for n in range(1, 41)]
    rows[4]["driver1_id_number"] = busy_driver  # row 6 of the sheet
    page = client.get(upload(client, xlsx(rows)).headers["Location"]).get_data(as_text=True)
    assert problems_on(page) == [(4, "车牌号 plate"), (6, "驾驶员1身份证号 driver1_id")]
    assert held.number in page and other.number not in page
    assert "This driver is already on another enterprise&#39;s pass" in page
    assert "38 of 40 rows can be submitted" in page


def kept_rows_path(result_url: str) -> Any:
    """Where the rows read from an upload are kept beside the file."""
    return attachments.upload_dir() / "bulk" / f"{result_url.rsplit('/', 1)[1]}.rows.json"


def stored_plates() -> list[str | None]:
    db.session.expire_all()
    return list(db.session.scalars(select(Application.plate).order_by(Application.id)))


def test_each_vehicle_is_stored_with_its_own_drivers_in_order_and_one_submission_entry(
    app: Flask,
) -> None:
    user = make_user(Role.ENTERPRISE)
    client = browser(app, user)
    rows = [
        vehicle(1),
        vehicle(
            2,
            driver2_name="二号",
            driver2_id_number=make_id_number(serial="202"),
            driver2_phone="13900000202",
        ),
        vehicle(
            3,
            driver2_name="三号乙",
            driver2_id_number=make_id_number(serial="302"),
            driver2_phone="13900000302",
            driver3_name="三号丙",
            driver3_id_number=make_id_number(serial="303"),
            driver3_phone="13900000303",
        ),
    ]
    response = upload(client, xlsx(rows))
    assert submit(client, response.headers["Location"]).status_code == 302
    db.session.expire_all()
    stored = db.session.scalars(select(Application).order_by(Application.id)).all()
    assert [a.plate for a in stored] == ["沪A00001", "沪A00002", "沪A00003"]
    assert [[(d.position, d.name) for d in a.drivers] for a in stored] == [
        [(1, "司机1")],
        [(1, "司机2"), (2, "二号")],
        [(1, "司机3"), (2, "三号乙"), (3, "三号丙")],
    ]
    assert stored[2].drivers[2].id_number == make_id_number(serial="303")
    for application in stored:
        assert application.status is State.IN_REVIEW and application.round == 1
        assert (application.current_department_code, application.current_scope) == (
            "commerce",
            "310115",
        )
        assert application.workflow is not None and application.step_due_at is not None
        assert [(d.action, d.round, d.step, d.actor_id) for d in application.decisions] == [
            (Action.SUBMIT, 1, None, user.id)
        ]
    assert count(Decision) == 3


def test_a_vehicle_or_driver_taken_after_the_preview_is_left_out_of_the_submit(
    app: Flask,
) -> None:
    """The preview said 3 of 3; meanwhile another company applied for truck 2 and for the
    driver of truck 3: the submit checks again and stores truck 1 alone."""
    client = browser(app, make_user(Role.ENTERPRISE))
    result_url = upload(client, xlsx([vehicle(1), vehicle(2), vehicle(3)])).headers["Location"]
    assert "3 of 3 rows can be submitted" in client.get(result_url).get_data(as_text=True)
    make_application(plate="沪A00002", submit=True)
    make_application(
        plate="沪E00003",
        drivers=[
            {"name": "别人", "id_number": make_id_number(serial="003"), "phone": "13900009999"}
        ],
        submit=True,
    )
    assert submit(client, result_url).status_code == 302
    assert stored_plates() == ["沪A00002", "沪E00003", "沪A00001"]


def test_the_submit_checks_the_dates_again_on_the_day_it_is_made(app: Flask) -> None:
    user = make_user(Role.ENTERPRISE)
    client = browser(app, user)
    tomorrow = (service_today() + timedelta(days=1)).isoformat()
    result_url = upload(client, xlsx([vehicle(1), vehicle(2, valid_from=tomorrow)])).headers[
        "Location"
    ]
    key = result_url.rsplit("/", 1)[1]
    _batch, stored = bulk.submit_good_rows(user, key, now=utcnow() + timedelta(days=1))
    assert stored == 1 and stored_plates() == ["沪A00002"]


def test_kept_rows_that_were_altered_are_checked_as_a_file_with_those_values(
    app: Flask,
) -> None:
    client = browser(app, make_user(Role.ENTERPRISE))
    result_url = upload(client, xlsx([vehicle(1), vehicle(2)])).headers["Location"]
    path = kept_rows_path(result_url)
    kept = json.loads(path.read_text(encoding="utf-8"))
    kept["rows"][1][1]["plate"] = "沪12345"
    path.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    page = client.get(result_url).get_data(as_text=True)
    assert problems_on(page) == [(3, "车牌号 plate")]
    assert submit(client, result_url).status_code == 302
    assert stored_plates() == ["沪A00001"]


def test_kept_rows_that_cannot_be_trusted_are_read_again_from_the_file(app: Flask) -> None:
    client = browser(app, make_user(Role.ENTERPRISE))
    spoiled = float(make_id_number(serial="002"))
    first = upload(client, xlsx([vehicle(1), vehicle(2, driver1_id_number=spoiled)]))
    path = kept_rows_path(first.headers["Location"])
    kept = json.loads(path.read_text(encoding="utf-8"))
    for change in (
        {"rows": [[2, {"plate": 12345}, []]]},  # not what reading a file makes
        {"sha256": "0" * 64},  # the rows of another file
        {"format": 0},  # kept by an older version
        {"max_drivers": 1},  # read with other columns
    ):
        path.write_text(json.dumps({**kept, **change}), encoding="utf-8")
        page = client.get(first.headers["Location"]).get_data(as_text=True)
        assert problems_on(page) == [(3, "驾驶员1身份证号 driver1_id")], change
    path.write_text("{not json", encoding="utf-8")
    assert submit(client, first.headers["Location"]).status_code == 302
    assert stored_plates() == ["沪A00001"]


def test_a_row_is_refused_exactly_when_the_form_and_submit_would_refuse_it_with_their_messages(
    app: Flask,
) -> None:
    """prepare_new (a spreadsheet row) against create_draft then submit (the form), field by
    field and message by message, for every way a vehicle application can be wrong."""
    user = make_user(Role.ENTERPRISE)
    held = make_pass(plate="沪A70001")
    busy = held.application.drivers[0].id_number
    today = service_today()
    variants: list[dict[str, Any]] = [
        {},
        {"plate": "沪12345"},
        {"plate": "沪A70001"},
        {"vehicle_type": "rocket", "cargo_category": "gold"},
        {"origin": "999999"},
        {"origin": "320583", "destination": "330106"},
        {"origin": "", "destination": "330106"},
        {"valid_from": (today - timedelta(days=1)).isoformat()},
        {"valid_until": (today + timedelta(days=90)).isoformat()},
        {"valid_from": (today + timedelta(days=3)).isoformat(), "valid_until": today.isoformat()},
        {"valid_until": "soon"},
        {"drivers": []},
        {"drivers": [{"name": "", "id_number": "310115198001011231", "phone": "12345"}]},
        {"drivers": [{"name": "赵", "id_number": busy, "phone": "13900001111"}]},
        {"plate": "", "cargo_category": ""},
    ]
    for overrides in variants:
        fields = vehicle_fields(**overrides)
        _prepared, row_problems = applications.prepare_new(
            user, Kind.VEHICLE_PASS, fields, now=utcnow()
        )
        try:
            draft = applications.create_draft(user, Kind.VEHICLE_PASS, fields, now=utcnow())
            applications.submit(user, draft, now=utcnow())
            form_problems: dict[str, str] = {}
        except ValidationFailed as exc:
            form_problems = {name: str(message) for name, message in exc.fields.items()}
        finally:
            db.session.rollback()
        assert row_problems == form_problems, overrides
