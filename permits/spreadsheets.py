"""Uploaded tables read safely, and cells written so that a spreadsheet never runs them.

An XLSX is a zip of XML: 355 KB can unpack to 40 million empty rows, which openpyxl walks (even in
read-only mode, and already while it opens the workbook) whatever the caller keeps of them. So the
work is bounded by what is read, not by what is kept: before openpyxl opens a file, its zip
directory (parts, their unpacked sizes, the packing ratio) and every XML part (no DTD, well-formed;
rows, cells and shared strings counted) are checked by a streaming parser that stops at the first
limit passed; then every row openpyxl yields, blank or filled in for a row number the sheet skips,
is counted again, and the whole read has a time budget. Each refusal is a `ValidationFailed` on
the field "file" whose message says the limit. The bulk vehicle upload reads through here, and so
should every other upload of a table (staff lists, test results).
"""

from __future__ import annotations

import csv
import io
import logging
import time
import zipfile
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, NoReturn
from xml.parsers import expat

from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook

from permits.services.errors import ValidationFailed

log = logging.getLogger(__name__)

#: (row number, cells) of a table; a generator, so that a caller who stops early closes it.
Rows = Generator[tuple[int, list[Any]], None, None]

MiB = 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
#: An OLE2 compound file: an Excel 97-2003 .xls, or an XLSX encrypted with a password.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: A cell starting with one of these is a formula to a spreadsheet: it is prefixed with '.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

UNREADABLE = _l("The file could not be read.")
TOO_LARGE = _l("The file is too large to read.")
NOT_XLSX = _l("This is not an XLSX workbook Excel can open; save it again.")


@dataclass(frozen=True)
class Limits:
    """What one uploaded table may hold. `rows` is per sheet and counts every row, blank or not
    (and rows of a CSV file); `columns` cells of each row are read, the rest ignored."""

    rows: int
    columns: int = 60
    #: Cell elements in one row of a sheet (Excel writes formatted empty cells too).
    cells_per_row: int = 1024
    parts: int = 256
    part_bytes: int = 32 * MiB
    total_bytes: int = 64 * MiB
    #: Unpacked size over packed size, for parts larger than `ratio_from` bytes: XML packs
    #: 5 to 20 times; 40 million empty rows pack 700 times.
    ratio: int = 100
    ratio_from: int = 1 * MiB
    shared_strings: int = 200_000
    shared_string_chars: int = 8_000_000
    seconds: float = 15.0

    @property
    def cells(self) -> int:
        """Cells in the whole file, every sheet together."""
        return self.rows * self.columns

    @property
    def elements(self) -> int:
        """XML elements in the whole file: a cell is a few (c, v, f, is, t), plus the rest."""
        return 4 * self.cells + 100_000


def _refuse(detail: Any, headline: Any = UNREADABLE) -> NoReturn:
    raise ValidationFailed(headline, {"file": detail})


def _too_many_rows(limits: Limits) -> NoReturn:
    _refuse(
        _l(
            "A sheet has more than %(n)d rows, blank rows included. Delete the empty rows "
            "below the data, or split the file.",
            n=limits.rows,
        ),
        TOO_LARGE,
    )


class _Budget:
    """The time the whole read may take."""

    def __init__(self, limits: Limits) -> None:
        self.seconds = limits.seconds
        self.deadline = time.monotonic() + limits.seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            _refuse(
                _l(
                    "Reading the file took longer than %(n)d seconds; split it into smaller files.",
                    n=round(self.seconds),
                ),
                TOO_LARGE,
            )


def read_table(content: bytes, limits: Limits) -> Rows:
    """(row number, at most `limits.columns` cells) of an XLSX workbook's first sheet, or of a
    CSV file (UTF-8, or GB 18030 as Excel saves it in China); refuses what passes a limit."""
    budget = _Budget(limits)
    if content.startswith(OLE_MAGIC):
        _refuse(
            _l(
                "This is an Excel 97-2003 workbook (.xls) or a workbook protected by a "
                "password: save it as an XLSX workbook without a password."
            )
        )
    if content.startswith((XLSX_MAGIC, EMPTY_ZIP_MAGIC)):
        return _xlsx_rows(content, limits, budget)
    return _csv_rows(content, limits, budget)


# --- XLSX ------------------------------------------------------------------------------------


def _xlsx_rows(content: bytes, limits: Limits, budget: _Budget) -> Rows:
    _check_parts(content, limits, budget)  # before the generator: a refusal comes at once
    return _sheet_rows(content, limits, budget)


def _sheet_rows(content: bytes, limits: Limits, budget: _Budget) -> Rows:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds on bad input: every one is the file's
        log.info("an uploaded workbook could not be opened: %s", type(exc).__name__)
        _refuse(NOT_XLSX)
    try:
        if not book.worksheets:
            _refuse(_l("The workbook has no sheet."))
        sheet = book.worksheets[0]
        # The declared size may be wrong (other programs write "A1"); the counts below bound.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(max_col=limits.columns, values_only=True)
        number = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # as above: malformed cells or rows
                log.info("an uploaded sheet could not be read: %s", type(exc).__name__)
                _refuse(NOT_XLSX)
            number += 1
            if number > limits.rows:  # rows the sheet skips are yielded (blank) and count
                _too_many_rows(limits)
            if number % 256 == 0:
                budget.check()
            yield number, list(values)
    finally:
        book.close()


def _check_parts(content: bytes, limits: Limits, budget: _Budget) -> None:
    """The zip directory against the limits, then every XML part through `_PartScan`.

    The sizes read from the directory bound what zipfile unpacks: it stops at a part's
    declared size and refuses a part whose data does not match it (CRC).
    """
    if _declared_parts(content) > limits.parts:  # before zipfile reads the whole directory
        _too_many_parts(limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError):
        _refuse(NOT_XLSX)
    with archive:
        parts = archive.infolist()
        if len(parts) > limits.parts:
            _too_many_parts(limits)
        total = 0
        for part in parts:
            total += part.file_size
            for size, bound in ((part.file_size, limits.part_bytes), (total, limits.total_bytes)):
                if size > bound:
                    _refuse(
                        _l(
                            "The file unpacks to more than %(n)d MB; split it into smaller files.",
                            n=bound // MiB,
                        ),
                        TOO_LARGE,
                    )
            if part.file_size > limits.ratio_from and part.file_size > limits.ratio * max(
                part.compress_size, 1
            ):
                _refuse(
                    _l(
                        "A part of the file unpacks to more than %(n)d times its packed size, "
                        "as a file made to exhaust the server does; a workbook saved by a "
                        "spreadsheet program never does.",
                        n=limits.ratio,
                    ),
                    TOO_LARGE,
                )
            if part.flag_bits & 0x1:
                _refuse(_l("The file is protected by a password; save it without one."))
        counts = _Counts()
        for part in parts:
            if part.is_dir() or not part.file_size:
                continue
            _PartScan(part.filename, counts, limits, budget).run(archive, part)


def _declared_parts(content: bytes) -> int:
    """The number of parts the zip's end record declares (0 where none is found): 10 MB of
    empty parts would cost zipfile a second and 60 MB just to list them."""
    end = content.rfind(b"PK\x05\x06", max(0, len(content) - 65_557))
    if end < 0 or end + 12 > len(content):
        return 0
    return int.from_bytes(content[end + 10 : end + 12], "little")


def _too_many_parts(limits: Limits) -> NoReturn:
    _refuse(_l("The file holds more than %(n)d parts; it is not a workbook.", n=limits.parts))


@dataclass
class _Counts:
    """What the whole file holds so far."""

    elements: int = 0
    cells: int = 0
    shared_strings: int = 0
    shared_string_chars: int = 0


#: Root elements of the parts whose rows and cells are counted.
_SHEET_ROOTS = ("worksheet", "dialogsheet", "macrosheet")
#: Bytes that never start an XML part: a part starting with one is binary (an image, a
#: printer setting) and only its size is checked.
_BINARY = frozenset(range(0x20)) - {0x09, 0x0A, 0x0D}
_UTF16_STARTS = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")


class _PartScan:
    """One part of the zip read by expat once, chunk by chunk: a DTD (entity expansion, external
    entities) is refused, as is XML that is not well-formed, and the counts are checked as the
    elements come, so that a bomb stops at its first excess, not at its end."""

    def __init__(self, name: str, counts: _Counts, limits: Limits, budget: _Budget) -> None:
        self.name = name
        self.counts = counts
        self.limits = limits
        self.budget = budget
        self.root = ""
        self.rows = 0
        self.row_cells = 0
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.EntityDeclHandler = self._doctype
        self.parser.StartElementHandler = self._start

    def run(self, archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
        try:
            with archive.open(part) as stream:
                chunk = stream.read(64 * 1024)
                if _is_binary(chunk):
                    while stream.read(1024 * 1024):  # unpacked (CRC checked), not parsed
                        self.budget.check()
                    return
                while chunk:
                    self.parser.Parse(chunk, False)
                    self.budget.check()
                    chunk = stream.read(64 * 1024)
                self.parser.Parse(b"", True)
        except expat.ExpatError:
            log.info("an uploaded workbook has a malformed part: %s", self.name)
            _refuse(NOT_XLSX)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError):
            _refuse(NOT_XLSX)  # damaged data, an unknown packing method, or encrypted

    def _doctype(self, *_args: Any) -> None:
        _refuse(
            _l(
                "The file declares an XML document type, which a workbook saved by a "
                "spreadsheet program never does; save it again as XLSX."
            )
        )

    def _start(self, tag: str, _attributes: Any) -> None:
        counts, limits = self.counts, self.limits
        counts.elements += 1
        if counts.elements > limits.elements:
            _refuse(
                _l(
                    "The file holds more than %(n)d cells and other elements; delete what is "
                    "not your data (other sheets, formatting), or split the file.",
                    n=limits.elements,
                ),
                TOO_LARGE,
            )
        if counts.elements % 4096 == 0:
            self.budget.check()
        local = tag.rpartition(" ")[2]
        if not self.root:
            self._enter_root(local)
        if self.root in _SHEET_ROOTS:
            if local == "row":
                self.rows += 1
                self.row_cells = 0
                if self.rows > limits.rows:
                    _too_many_rows(limits)
            elif local == "c":
                self.row_cells += 1
                counts.cells += 1
                if self.row_cells > limits.cells_per_row:
                    _refuse(
                        _l(
                            "A row has more than %(n)d cells; delete the columns that are not "
                            "your data.",
                            n=limits.cells_per_row,
                        ),
                        TOO_LARGE,
                    )
                if counts.cells > limits.cells:
                    _refuse(
                        _l(
                            "The file has more than %(n)d cells; delete what is not your data, "
                            "or split the file.",
                            n=limits.cells,
                        ),
                        TOO_LARGE,
                    )
        elif self.root == "sst" and local == "si":
            counts.shared_strings += 1
            if counts.shared_strings > limits.shared_strings:
                self._too_much_text()

    def _enter_root(self, local: str) -> None:
        """The part's first element says what it is: a sheet's rows and cells are counted, a
        shared-strings table's text too."""
        self.root = local
        if local == "sst":
            self.parser.CharacterDataHandler = self._text

    def _text(self, data: str) -> None:
        self.counts.shared_string_chars += len(data)
        if self.counts.shared_string_chars > self.limits.shared_string_chars:
            self._too_much_text()

    def _too_much_text(self) -> NoReturn:
        _refuse(
            _l(
                "The file holds more than %(n)d different texts or %(chars)d characters of "
                "text; split it into smaller files.",
                n=self.limits.shared_strings,
                chars=self.limits.shared_string_chars,
            ),
            TOO_LARGE,
        )


def _is_binary(start: bytes) -> bool:
    if start.startswith(_UTF16_STARTS):
        return False
    return any(byte in _BINARY for byte in start[:512])


# --- CSV -------------------------------------------------------------------------------------


def _csv_rows(content: bytes, limits: Limits, budget: _Budget) -> Rows:
    if b"\x00" in content[:8192]:  # a picture, a PDF, a UTF-16 text: no CSV a reader can use
        _refuse(_l("This is neither an XLSX workbook nor a CSV file."))
    return _csv_records(decode_text(content), limits, budget)


def _csv_records(text: str, limits: Limits, budget: _Budget) -> Rows:
    try:
        for number, record in enumerate(csv.reader(io.StringIO(text)), start=1):
            if number > limits.rows:
                _too_many_rows(limits)
            if number % 256 == 0:
                budget.check()
            yield number, record[: limits.columns]
    except csv.Error:
        _refuse(_l("This is neither an XLSX workbook nor a CSV file."))


def decode_text(content: bytes) -> str:
    """UTF-8 (with or without a BOM), else GB 18030 (GBK's superset, what Excel saves in China)."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("gb18030")
        except UnicodeDecodeError:
            _refuse(_l("Save the file as XLSX, or as CSV in UTF-8 or GBK, and upload it again."))


# --- writing ---------------------------------------------------------------------------------


def neutralised(value: Any) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (CSV or formula injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unneutralised(text: str) -> str:
    """What `neutralised` made of a text, given back as it was (a file downloaded from here and
    uploaded again: "'+8613900001111" is the phone "+8613900001111")."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text
