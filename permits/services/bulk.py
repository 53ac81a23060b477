"""Vehicle passes by the spreadsheet: the template, reading a filled file, checking every row as
the single form does, the corrected file, and submitting the good rows as one batch.

A file is kept on the server between the preview and the submit (under UPLOAD_DIR/bulk, named by
a random key and bound to its uploader), with the rows read from it, and checked again on submit:
nothing the client sends back is trusted, and no personal data travels in a URL.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import secrets
import time
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from permits import audit, regions, spreadsheets
from permits.extensions import db
from permits.labels import CARGO_NAMES, VEHICLE_TYPE_NAMES
from permits.models import Application, ApplicationBatch, Decision, Driver, Kind, Role, User
from permits.services import applications, attachments, notifications, workflows
from permits.services.conflicts import batch_conflicts, hold, seen_anywhere
from permits.services.errors import (
    Conflict,
    NotAllowed,
    NotFound,
    StorageFailed,
    ValidationFailed,
)
from permits.services.state import move_new
from permits.workflow import Action

log = logging.getLogger(__name__)

#: The columns before the drivers': (key, bilingual header). The key is the API's field name.
VEHICLE_COLUMNS = (
    ("note", "备注 note"),
    ("plate", "车牌号 plate"),
    ("vehicle_type", "车辆类型 vehicle_type"),
    ("cargo_category", "物资类别 cargo_category"),
    ("origin", "始发地代码 origin"),
    ("destination", "目的地代码 destination"),
    ("valid_from", "有效期起 valid_from"),
    ("valid_until", "有效期止 valid_until"),
)
DRIVER_PARTS = (
    ("name", "姓名", "name"),
    ("id_number", "身份证号", "id"),
    ("phone", "手机号", "phone"),
)
ERROR_HEADER = "错误 errors"
#: A row whose note starts with one of these is the template's example and is skipped.
EXAMPLE_MARKS = ("示例", "example")
#: Reading stops after this many blank rows in a row (sheets formatted far below the data).
BLANK_RUN_LIMIT = 1000
#: Columns read per row; anything to the right is ignored.
MAX_COLUMNS = 60
#: Rows above the first vehicle: the column names.
HEADER_ROWS = 1
#: Uploaded files not submitted are deleted after this long.
KEEP_FOR = timedelta(days=1)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"

_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_EXCEL_EPOCH = date(1899, 12, 30)


def columns(max_drivers: int) -> list[tuple[str, str]]:
    """Every column of the template, in order: (key, header)."""
    drivers = [
        (f"driver{i}_{key}", f"驾驶员{i}{zh} driver{i}_{en}")
        for i in range(1, max_drivers + 1)
        for key, zh, en in DRIVER_PARTS
    ]
    return [*VEHICLE_COLUMNS, *drivers]


def max_drivers() -> int:
    return int(current_app.config["MAX_DRIVERS"])


# --- the template ----------------------------------------------------------------------------


def example_row(today: date) -> dict[str, str]:
    from permits.validators import id_number_check_character

    body = "31011519800101123"
    return {
        "note": "示例 example: 此行不会提交 this row is skipped",
        "plate": "沪A12345",
        "vehicle_type": "heavy_truck",
        "cargo_category": "daily_necessities",
        "origin": "310115",
        "destination": "320583",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=13)).isoformat(),
        "driver1_name": "王师傅",
        "driver1_id_number": body + id_number_check_character(body),
        "driver1_phone": "13900001111",
    }


def codes() -> list[tuple[str, str, str, str]]:
    """(column, code, Chinese name, English name) of every coded value the template takes."""
    from flask_babel import force_locale

    rows: list[tuple[str, str, str, str]] = []
    for column, names in (("vehicle_type", VEHICLE_TYPE_NAMES), ("cargo_category", CARGO_NAMES)):
        for code, label in names.items():
            with force_locale("zh"):
                zh = str(label)
            with force_locale("en"):
                en = str(label)
            rows.append((column, code.value, zh, en))
    for division in regions.divisions().values():
        if division.is_county_level:
            rows.append(("origin / destination", division.code, division.name_zh, division.name_en))
    return rows


def template_xlsx(today: date) -> bytes:
    """The template workbook: headers and an example on the first sheet, the codes on the second."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "车辆 vehicles"
    cols = columns(max_drivers())
    sheet.append([header for _, header in cols])
    example = example_row(today)
    sheet.append([example.get(key, "") for key, _ in cols])
    bold = Font(bold=True)
    for index, (key, _) in enumerate(cols, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = 24 if key == "note" else 18
        # Text, so that Excel keeps ID numbers, phones and dates as typed.
        sheet.column_dimensions[letter].number_format = "@"
        sheet.cell(row=2, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    code_sheet = book.create_sheet("代码 codes")
    code_sheet.append(["列 column", "代码 code", "名称 name", "name"])
    for row in codes():
        code_sheet.append(list(row))
    for cell in code_sheet[1]:
        cell.font = bold
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_csv(today: date) -> bytes:
    """The template as CSV (UTF-8 with a BOM, which Excel needs to read Chinese)."""
    cols = columns(max_drivers())
    example = example_row(today)
    return _csv_bytes([[h for _, h in cols], [example.get(key, "") for key, _ in cols]])


def codes_csv() -> bytes:
    return _csv_bytes([["列 column", "代码 code", "名称 name", "name"], *map(list, codes())])


def _csv_bytes(rows: Iterable[list[str]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    for row in rows:
        writer.writerow(row)
    return ("\ufeff" + text.getvalue()).encode("utf-8")


# --- reading a file --------------------------------------------------------------------------


@dataclass
class Row:
    """One vehicle of the file: its row number as the spreadsheet shows it, the cells by key."""

    number: int
    cells: dict[str, str]
    problems: dict[str, str] = field(default_factory=dict)
    #: ID-number columns whose cell the spreadsheet spoiled (stored as a number: digits lost).
    spoiled: list[str] = field(default_factory=list)
    #: The application the row makes, checked but not stored.
    application: applications.Prepared | None = None


def _header_keys(headers: list[str], cols: list[tuple[str, str]]) -> dict[int, str]:
    """Column index → key, matching the bilingual header, or either half of it."""
    names: dict[str, str] = {}
    for key, header in cols:
        zh, en = header.split(" ", 1)
        for name in (header, zh, en, key):
            names[_squash(name)] = key
    found: dict[int, str] = {}
    for index, header in enumerate(headers):
        column = names.get(_squash(header))
        if column is not None and column not in found.values():
            found[index] = column
    return found


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _cell_text(value: Any) -> str:
    """A cell as text, undoing what Excel does to numbers and dates."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    # Line breaks and runs of spaces inside a cell; a text this service's files neutralised.
    return spreadsheets.unneutralised(" ".join(str(value).split()))


def _fix_number_text(text: str) -> str:
    """ "13800138000.0" (a number saved as CSV) → "13800138000"."""
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


def _date_text(text: str) -> str:
    """2026-05-01, 2026/5/1, 2026.5.1, 2026年5月1日 or an Excel serial → ISO; else unchanged."""
    found = _DATE_TEXT.fullmatch(text)
    if found:
        try:
            return date(*map(int, found.groups())).isoformat()
        except ValueError:
            return text
    if re.fullmatch(r"\d{5}(\.0+)?", text):  # days since 1899-12-30: 40000 is 2009-07-06
        return (_EXCEL_EPOCH + timedelta(days=int(float(text)))).isoformat()
    return text


NUMBER_ID_MESSAGE = _l(
    "The spreadsheet stored this ID number as a number and lost its last digits: format the "
    "column as text and type the number again."
)


def _lost_digits(value: Any) -> bool:
    """A float this large held more digits than a float keeps (Excel keeps 15)."""
    return isinstance(value, float) and abs(value) >= 1e15


def _normalise(cells: dict[str, str]) -> dict[str, str]:
    out = {}
    for key, text in cells.items():
        if key in ("valid_from", "valid_until"):
            text = _date_text(_fix_number_text(text))
        elif key.endswith(("_phone", "_id_number")) or key in ("origin", "destination"):
            text = _fix_number_text(text)
        out[key] = text
    return out


def _read_limits() -> spreadsheets.Limits:
    """What reading one uploaded file may take: the rows scanned are the vehicles allowed, the
    header, and a run of blank rows (blank or not, every row read counts)."""
    return spreadsheets.Limits(
        rows=int(current_app.config["BULK_MAX_ROWS"]) + HEADER_ROWS + BLANK_RUN_LIMIT,
        columns=MAX_COLUMNS,
        seconds=float(current_app.config["SPREADSHEET_READ_SECONDS"]),
    )


def read_rows(content: bytes) -> list[Row]:
    """The vehicles of a filled template, blank and example rows skipped; refuses a file that
    is empty, has no plate column, has more rows than BULK_MAX_ROWS, or passes a bound of
    `spreadsheets.read_table` (a spreadsheet bomb)."""
    if not content:
        raise ValidationFailed(_l("The file is empty."), {"file": _l("Choose a file to upload.")})
    cols = columns(max_drivers())
    limit = int(current_app.config["BULK_MAX_ROWS"])
    keys: dict[int, str] | None = None
    rows: list[Row] = []
    blank_run = 0
    with closing(spreadsheets.read_table(content, _read_limits())) as table:
        for number, values in table:
            texts = [_cell_text(v) for v in values]
            if not any(texts):
                blank_run += 1
                if blank_run >= BLANK_RUN_LIMIT:
                    break
                continue
            blank_run = 0
            if keys is None:
                keys = _header_keys(texts, cols)
                if "plate" not in keys.values():
                    raise ValidationFailed(
                        _l("The file is not the template."),
                        {
                            "file": _l(
                                "The first row must hold the template's column names, such as "
                                "车牌号 plate; download the template and copy your rows into it."
                            )
                        },
                    )
                continue
            cells = {key: texts[i] if i < len(texts) else "" for i, key in keys.items()}
            if not any(v for k, v in cells.items() if k != "note"):
                continue  # only a note, or only columns that are not the template's
            if cells.get("note", "").lower().startswith(EXAMPLE_MARKS):
                continue
            if len(rows) >= limit:
                raise ValidationFailed(
                    _l("The file has too many rows."),
                    {
                        "file": _l(
                            "At most %(n)d vehicles per file; split it into several files.", n=limit
                        )
                    },
                )
            row = Row(number=number, cells=_normalise(cells))
            for i, key in keys.items():
                if key.endswith("_id_number") and i < len(values) and _lost_digits(values[i]):
                    row.spoiled.append(key)
                    row.problems[key] = str(NUMBER_ID_MESSAGE)
            rows.append(row)
    if keys is None:
        raise ValidationFailed(_l("The file is empty."), {"file": _l("The file has no rows.")})
    if not rows:
        raise ValidationFailed(
            _l("The file has no vehicles."),
            {"file": _l("Fill one row per vehicle below the column names.")},
        )
    return rows


# --- checking the rows -----------------------------------------------------------------------


def application_data(row: Row) -> dict[str, Any]:
    """The row as the single form and the API give it to the services."""
    cells = row.cells
    data: dict[str, Any] = {key: cells.get(key, "") for key, _ in VEHICLE_COLUMNS if key != "note"}
    data["drivers"] = [
        {part: cells.get(f"driver{i}_{part}", "") for part, _, _ in DRIVER_PARTS}
        for i in range(1, max_drivers() + 1)
    ]
    return data


def _column_of(problem_key: str) -> str:
    """A service's field name ("drivers.0.phone") → the template column ("driver1_phone")."""
    parts = problem_key.split(".")
    if parts[0] == "drivers" and len(parts) == 3 and parts[1].isdigit():
        return f"driver{int(parts[1]) + 1}_{parts[2]}"
    if parts[0] == "drivers" and len(parts) == 2 and parts[1].isdigit():
        return f"driver{int(parts[1]) + 1}_name"
    if parts[0] == "drivers":
        return "driver1_name"
    return parts[0]


def check_rows(actor: User, rows: list[Row], *, now: datetime) -> None:
    """Fills each row's problems by column: the single form's checks, then the file's own
    (one plate or one driver twice in the file with overlapping dates)."""
    data = [application_data(row) for row in rows]
    # The single form's conflict check costs queries per row; first find, in a few queries,
    # the file's plates and drivers that anything stored holds at all, then check exactly
    # (as the form does) only the rows that have one of them.
    taken = seen_anywhere(data, now=now, enterprise_id=actor.enterprise_id)
    for row, fields in zip(rows, data, strict=True):
        row.application, problems = applications.prepare_new(
            actor, Kind.VEHICLE_PASS, fields, now=now, check_conflicts=False
        )
        if _mentions(row.application, taken):
            problems = {**applications.prepared_taken(row.application, now=now), **problems}
        for name, message in problems.items():
            row.problems.setdefault(_column_of(name), message)
    _check_repeats(rows, data)


def _mentions(prepared: applications.Prepared, taken: set[str]) -> bool:
    if not taken:
        return False
    return prepared.plate in taken or any(d["id_number"] in taken for d in prepared.drivers)


def _dates_of(row: Row) -> tuple[date, date] | None:
    try:
        return date.fromisoformat(row.cells["valid_from"]), date.fromisoformat(
            row.cells["valid_until"]
        )
    except (KeyError, ValueError):
        return None


def _check_repeats(rows: list[Row], data: list[dict[str, Any]]) -> None:
    """One plate, or one driver on two vehicles, twice in the file for overlapping dates: the
    later row names the earlier one (the same check as a batch sent through the API)."""
    found = batch_conflicts(data, lambda index: str(_l("row %(n)d", n=rows[index].number)))
    for row, problems in zip(rows, found, strict=True):
        for name, message in problems.items():
            row.problems.setdefault(_column_of(name), message)


# --- the corrected file ----------------------------------------------------------------------


def _error_text(row: Row, headers: dict[str, str]) -> str:
    return "; ".join(f"{headers.get(k, k)}: {m}" for k, m in row.problems.items())


def _corrected_row(row: Row, cols: list[tuple[str, str]], headers: dict[str, str]) -> list[str]:
    """The row given back as text a spreadsheet shows, never a formula it runs."""
    cells = [_error_text(row, headers), *(row.cells.get(key, "") for key, _ in cols)]
    return [spreadsheets.neutralised(cell) for cell in cells]


def corrected_xlsx(rows: list[Row]) -> bytes:
    """The file's rows (fixed up as read), an error column first, bad cells marked in red."""
    cols = columns(max_drivers())
    headers = dict(cols)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "车辆 vehicles"
    sheet.append([ERROR_HEADER, *(h for _, h in cols)])
    red = PatternFill("solid", fgColor="FFC7CE")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index in range(1, len(cols) + 2):
        sheet.column_dimensions[get_column_letter(index)].number_format = "@"
    for row in rows:
        sheet.append(_corrected_row(row, cols, headers))
        for index, (key, _) in enumerate(cols, start=2):
            cell = sheet.cell(row=sheet.max_row, column=index)
            cell.number_format = "@"
            if key in row.problems:
                cell.fill = red
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def corrected_csv(rows: list[Row]) -> bytes:
    cols = columns(max_drivers())
    headers = dict(cols)
    return _csv_bytes(
        [
            [ERROR_HEADER, *(h for _, h in cols)],
            *(_corrected_row(row, cols, headers) for row in rows),
        ]
    )


# --- keeping the file between the preview and the submit -------------------------------------


def _folder() -> Path:
    return attachments.upload_dir() / "bulk"


#: The kept rows' format. Bump it whenever `read_rows` changes what it makes of a file: rows
#: kept in another format are read again from the file.
ROWS_FORMAT = 2


def _paths(key: str) -> tuple[Path, Path, Path]:
    """The file, its metadata (uploader, name) and the rows read from it."""
    if not re.fullmatch(r"[0-9a-f]{32}", key):
        raise NotFound(_l("This upload is no longer available; upload the file again."))
    return _folder() / key, _folder() / f"{key}.json", _folder() / f"{key}.rows.json"


def keep_upload(
    actor: User,
    filename: str,
    content: bytes,
    *,
    now: datetime,
    rows: list[Row] | None = None,
) -> str:
    """Stores the file for its uploader, with its rows as `read_rows` made them (read here when
    not given), so that the preview and the submit need not parse the spreadsheet again;
    returns the random key that names it."""
    if rows is None:
        rows = read_rows(content)
    _forget_old(now)
    key = secrets.token_hex(16)
    data_path, meta_path, rows_path = _paths(key)
    stem = re.sub(r"[^\w\-. ()]+", "_", Path(filename or "vehicles").name)[:200] or "vehicles"
    kept = {
        "format": ROWS_FORMAT,
        "sha256": hashlib.sha256(content).hexdigest(),
        "max_drivers": max_drivers(),
        "rows": [[row.number, row.cells, row.spoiled] for row in rows],
    }
    try:
        _folder().mkdir(parents=True, exist_ok=True, mode=0o700)
        data_path.write_bytes(content)
        rows_path.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
        meta_path.write_text(
            json.dumps({"user_id": actor.id, "filename": stem, "at": now.isoformat()})
        )
    except OSError as exc:
        log.error("an uploaded spreadsheet could not be stored: %s", type(exc).__name__)
        raise StorageFailed(
            _l("The file could not be stored; it has been logged. Please try again later.")
        ) from exc
    return key


def load_upload(actor: User, key: str) -> tuple[str, bytes]:
    """(filename, content) of an upload the actor made; NotFound for anyone else's or none."""
    data_path, meta_path, _rows_path = _paths(key)
    try:
        meta = json.loads(meta_path.read_text())
        content = data_path.read_bytes()
    except (OSError, ValueError):
        raise NotFound(_l("This upload is no longer available; upload the file again.")) from None
    if meta.get("user_id") != actor.id:
        raise NotFound(_l("This upload is no longer available; upload the file again."))
    return str(meta.get("filename", "")), content


def load_rows(actor: User, key: str) -> tuple[str, list[Row]]:
    """(filename, rows) of an upload the actor made: the rows kept with the file, or read from
    the file again when they are missing, unreadable, of another format or of another file.

    Only what `read_rows` made of the file is kept, never what was found wrong in it: the
    caller checks every row again, so kept rows that were altered are checked as a file with
    those values would be, and pass no check they would fail.
    """
    filename, content = load_upload(actor, key)
    kept = _kept_rows(_paths(key)[2], content)
    return filename, kept if kept is not None else read_rows(content)


def _kept_rows(path: Path, content: bytes) -> list[Row] | None:
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(kept, dict)
        or kept.get("format") != ROWS_FORMAT
        or kept.get("max_drivers") != max_drivers()
        or kept.get("sha256") != hashlib.sha256(content).hexdigest()
    ):
        return None
    items = kept.get("rows")
    if not isinstance(items, list) or not 0 < len(items) <= int(
        current_app.config["BULK_MAX_ROWS"]
    ):
        return None  # read again: the file's own message (empty, too long) is given then
    known = {key for key, _ in columns(max_drivers())}
    id_columns = {key for key in known if key.endswith("_id_number")}
    rows: list[Row] = []
    for item in items:
        if not isinstance(item, list) or len(item) != 3:
            return None
        number, cells, spoiled = item
        if (
            type(number) is not int
            or not isinstance(cells, dict)
            or not isinstance(spoiled, list)
            or not all(k in known and isinstance(v, str) for k, v in cells.items())
            or not all(isinstance(k, str) and k in id_columns for k in spoiled)
        ):
            return None
        problems = {k: str(NUMBER_ID_MESSAGE) for k in spoiled}
        rows.append(Row(number=number, cells=cells, problems=problems, spoiled=spoiled))
    return rows


def forget_upload(key: str) -> None:
    for path in _paths(key):
        path.unlink(missing_ok=True)


def _forget_old(now: datetime) -> None:
    folder = _folder()
    if not folder.is_dir():
        return
    cutoff = time.time() - KEEP_FOR.total_seconds()
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue


# --- the preview and the submit --------------------------------------------------------------


@dataclass
class Preview:
    filename: str
    rows: list[Row]

    @property
    def bad(self) -> list[Row]:
        return [row for row in self.rows if row.problems]

    @property
    def good(self) -> list[Row]:
        return [row for row in self.rows if not row.problems]


def preview(actor: User, key: str, *, now: datetime) -> Preview:
    """The stored file's rows checked again, row by row."""
    _require_enterprise(actor)
    filename, rows = load_rows(actor, key)
    check_rows(actor, rows, now=now)
    return Preview(filename=filename, rows=rows)


def submit_good_rows(actor: User, key: str, *, now: datetime) -> tuple[ApplicationBatch, int]:
    """One submitted application per good row, grouped in one batch (returned with how many);
    the bad rows are left out.

    The upload is claimed first: of several submits of one upload at once, exactly one makes
    its batch, and the others are told it was submitted already (Conflict). The file is then
    checked again, its plates and drivers held until the commit (`conflicts.hold`): what was
    good at the preview may not be any more, and nothing can take it between check and write.
    """
    _require_enterprise(actor)
    batch = _claim(actor, key, now=now)
    filename, rows = load_rows(actor, key)
    batch.filename = filename
    hold(application_data(row) for row in rows)
    check_rows(actor, rows, now=now)
    checked = Preview(filename=filename, rows=rows)
    good = checked.good
    if not good:
        raise ValidationFailed(
            _l("No row can be submitted."), {"file": _l("Fix the rows and upload the file again.")}
        )
    prepared = [row.application for row in good if row.application is not None]
    signers = _store_submitted(actor, batch, prepared, now=now)
    audit.record(
        "batch.submit",
        actor=actor,
        obj=batch,
        details={"source": "upload", "applications": len(good), "left_out": len(checked.bad)},
        now=now,
    )
    notifications.notify_users(
        [actor], "batch_submitted", filename=batch.filename, batch=batch.id, count=len(prepared)
    )
    for signer, count in signers.items():
        notifications.notify_users(
            notifications.approvers_of(signer.department_code, signer.scope),
            "batch_waiting",
            enterprise=actor.enterprise.name if actor.enterprise else "",
            batch=batch.id,
            count=count,
        )
    forget_upload(key)
    return batch, len(prepared)


def _claim(actor: User, key: str, *, now: datetime) -> ApplicationBatch:
    """The batch of this upload, stored before anything else: the unique upload key lets one
    transaction have it (another one waits for that one's end, then finds it taken)."""
    _paths(key)  # a key of the right shape, or NotFound
    assert actor.enterprise_id is not None
    session = db.session()
    postgresql = session.get_bind().dialect.name == "postgresql"
    batch = session.scalar(
        _CLAIM_POSTGRESQL if postgresql else _CLAIM_SQLITE,
        {
            "enterprise_id": actor.enterprise_id,
            "created_by_id": actor.id,
            "source": "upload",
            "filename": "",
            "upload_key": key,
            "created_at": now,
        },
    )
    if batch is not None:
        return batch
    earlier = session.scalar(select(ApplicationBatch).where(ApplicationBatch.upload_key == key))
    if earlier is None or earlier.created_by_id != actor.id:
        raise NotFound(_l("This upload is no longer available; upload the file again."))
    raise Conflict(
        _l(
            "This file was submitted already, as batch #%(batch)d: its applications are in "
            "your list.",
            batch=earlier.id,
        )
    )


# Built once: INSERT … ON CONFLICT (upload_key) DO NOTHING RETURNING the batch.
_CLAIM_POSTGRESQL, _CLAIM_SQLITE = (
    dialect_insert(ApplicationBatch)
    .on_conflict_do_nothing(index_elements=["upload_key"])
    .returning(ApplicationBatch)
    for dialect_insert in (postgresql_insert, sqlite_insert)
)


def _store_submitted(
    actor: User, batch: ApplicationBatch, prepared: list[applications.Prepared], *, now: datetime
) -> dict[workflows.Signer, int]:
    """Stores checked applications as submitted (what `applications.submit` does for one), in
    three bulk INSERTs (applications, drivers, submission entries); returns how many wait at
    each first-step signer.

    One at a time, 10,000 rows took over two minutes (see docs/performance.md); as ORM objects,
    about 4 s. The batch is audited once, and each signer's approvers are told once, not once
    per vehicle.
    """
    flow = workflows.current_workflow(Kind.VEHICLE_PASS)
    first = workflows.step_at(flow, 1)
    waiting: dict[workflows.Signer, int] = {}
    rows: list[dict[str, Any]] = []
    for application in prepared:
        row = dict(application.values)
        signer = workflows.signer_of(
            first, cargo_category=row["cargo_category"], district=row["district"]
        )
        waiting[signer] = waiting.get(signer, 0) + 1
        move_new(
            row,
            Action.SUBMIT,
            now=now,
            values={
                "workflow_id": flow.id,
                "round": 1,
                "submitted_at": now,
                "batch_id": batch.id,
                **workflows.enter_step(first, signer, now=now),
            },
        )
        rows.append(row)
    ids = _insert_in_order(batch, rows)
    db.session.execute(
        insert(Driver),
        [
            {"application_id": application_id, "position": position, **driver}
            for application_id, application in zip(ids, prepared, strict=True)
            for position, driver in enumerate(application.drivers, start=1)
        ],
    )
    db.session.execute(
        insert(Decision),
        [
            {
                "application_id": application_id,
                "round": 1,
                "step": None,
                "action": Action.SUBMIT,
                "actor_id": actor.id,
                "comment": "",
                "created_at": now,
            }
            for application_id in ids
        ],
    )
    return waiting


def _insert_in_order(batch: ApplicationBatch, rows: list[dict[str, Any]]) -> list[int]:
    """Inserts the batch's applications; returns their ids in the order of `rows`.

    An executemany runs one INSERT per row, in order, in this transaction, so the ids (from a
    sequence, or SQLite's next rowid) grow in that order: reading them back by id is cheaper
    than RETURNING, which made PostgreSQL plan 25 parameters times 1,000 rows per statement
    (3.4-5.2 s for 10,000 rows instead of 0.9 s). The rows read back are compared with those
    sent, so an order that ever differed would fail loudly rather than mix up drivers.
    """
    db.session.execute(insert(Application), rows)
    stored = db.session.execute(
        select(Application.id, Application.plate, Application.valid_from, Application.valid_until)
        .where(Application.batch_id == batch.id)
        .order_by(Application.id)
    ).all()
    sent = [(row["plate"], row["valid_from"], row["valid_until"]) for row in rows]
    if [(s.plate, s.valid_from, s.valid_until) for s in stored] != sent:
        raise RuntimeError("the batch's applications were not stored in the order sent")
    return [s.id for s in stored]


def _require_enterprise(actor: User) -> None:
    if actor.role is not Role.ENTERPRISE or actor.enterprise is None:
        raise NotAllowed(_l("Only enterprise accounts apply."))
