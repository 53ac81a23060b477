"""The bulk vehicle upload's spreadsheets: the template (and its codes), the rows read from a
filled file, and the corrected file given back with an error column.

Reading goes through `permits.spreadsheets.read_table`, which bounds what a file may cost (a
spreadsheet bomb); here the cells become text as the single form takes it. Nothing here touches
the database: checking the rows and storing them is `services.bulk`, keeping the file between
the preview and the submit is `services.bulk_uploads`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from flask import current_app
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from permits import regions, spreadsheets
from permits.labels import CARGO_NAMES, VEHICLE_TYPE_NAMES
from permits.services.errors import ValidationFailed

if TYPE_CHECKING:
    from permits.services.applications import Prepared

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
    application: Prepared | None = None


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


def read_limits() -> spreadsheets.Limits:
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
    with closing(spreadsheets.read_table(content, read_limits())) as table:
        for number, values in table:
            texts = [_cell_text(v) for v in values]
            if not any(texts):
                blank_run += 1
                if blank_run >= BLANK_RUN_LIMIT:
                    break
                continue
            blank_run = 0
            if keys is None:
                keys = _template_keys(texts, cols)
                continue
            cells = {key: texts[i] if i < len(texts) else "" for i, key in keys.items()}
            if not any(v for k, v in cells.items() if k != "note"):
                continue  # only a note, or only columns that are not the template's
            if cells.get("note", "").lower().startswith(EXAMPLE_MARKS):
                continue
            if len(rows) >= limit:
                _too_many_vehicles(limit)
            rows.append(_vehicle_row(number, cells, values, keys))
    if keys is None:
        raise ValidationFailed(_l("The file is empty."), {"file": _l("The file has no rows.")})
    if not rows:
        raise ValidationFailed(
            _l("The file has no vehicles."),
            {"file": _l("Fill one row per vehicle below the column names.")},
        )
    return rows


def _template_keys(headers: list[str], cols: list[tuple[str, str]]) -> dict[int, str]:
    """`_header_keys` of the file's first row, which must name the plate column at least."""
    keys = _header_keys(headers, cols)
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
    return keys


def _too_many_vehicles(limit: int) -> NoReturn:
    raise ValidationFailed(
        _l("The file has too many rows."),
        {"file": _l("At most %(n)d vehicles per file; split it into several files.", n=limit)},
    )


def _vehicle_row(
    number: int, cells: dict[str, str], values: list[Any], keys: dict[int, str]
) -> Row:
    """One vehicle's row, its cells normalised; an ID number the spreadsheet stored as a number
    (`values` are the cells as read) is marked spoiled, since its last digits are lost."""
    row = Row(number=number, cells=_normalise(cells))
    for i, key in keys.items():
        if key.endswith("_id_number") and i < len(values) and _lost_digits(values[i]):
            row.spoiled.append(key)
            row.problems[key] = str(NUMBER_ID_MESSAGE)
    return row


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
