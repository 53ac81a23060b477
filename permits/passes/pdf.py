"""The printable pass: one A5 page, Chinese with English, its PP1 QR code drawn from the modules.

Pure rendering: no Flask, no database. The caller passes a PassDocument with every text already
chosen (bilingual labels, masked IDs); the same document always gives the same bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab import rl_config
from reportlab.lib.colors import Color, white
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from permits.passes.typeset import cjk_font, lines_for, wrap

# Binary (not ASCII85) page streams: the same PDF for every viewer, smaller, and ~1 ms faster
# per page, since reportlab's ASCII85 encoder is pure Python. reportlab is used only here.
rl_config.useA85 = 0

#: Fixed QR mask: qrcode's search over all eight masks is most of the cost of a QR code
#: (8 trial encodings); any of the eight is valid and decodes.
QR_MASK = 2
#: Modules of white around the symbol, as ISO/IEC 18004 asks.
QR_QUIET_ZONE = 4
#: Width of the QR symbol itself, without its quiet zone (at least 35 mm for phone cameras).
QR_WIDTH = 44 * mm

MONO_FONT = "Courier-Bold"

KIND_TITLES = {
    "VP": ("车辆通行证", "Vehicle Pass"),
    "WR": ("复工复产证明", "Work-Resumption Permit"),
}
CHECKPOINT_HINT = (
    "卡口人员：请扫描二维码，或在核验页面输入校验码。",
    "Checkpoint staff: scan the QR code, or enter the control code on the verification page.",
)
REVOKED_MARK = "已撤销 REVOKED"

PAGE_WIDTH, PAGE_HEIGHT = A5
MARGIN = 12 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN

RED = Color(0.69, 0.11, 0.11)
INK = Color(0.1, 0.1, 0.12)
GREY = Color(0.4, 0.4, 0.42)
RULE = Color(0.78, 0.78, 0.8)
TINT = Color(0.99, 0.95, 0.93)


@dataclass(frozen=True)
class PassDocument:
    kind: str  # "VP" vehicle pass or "WR" work resumption
    number: str  # 12 digits
    control_code: str  # 8 characters
    valid_from: str  # "2026-12-01"
    valid_until: str  # "2026-12-14"
    enterprise: str
    uscc: str
    issuer: str  # e.g. "上海市交通委员会 Shanghai Transport Commission"
    issued_at: str  # "2026-11-28 09:30"
    qr_text: str  # "PP1:..."
    plate: str | None = None
    vehicle_type: str | None = None  # bilingual label
    route: str | None = None
    cargo: str | None = None  # bilingual label
    drivers: tuple[tuple[str, str], ...] = ()  # (name, masked ID number)
    site: str | None = None
    district: str | None = None  # bilingual district name
    staff: int | None = None
    revoked: bool = False


# -- QR ------------------------------------------------------------------------------------------


def qr_modules(text: str) -> list[list[bool]]:
    """The QR modules of text (True is dark), without quiet zone: error correction M, mask 2."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, mask_pattern=QR_MASK, box_size=1, border=0)
    qr.add_data(text)
    qr.make(fit=True)
    # With border=0 get_matrix() is qrcode's own module list: copy it, and make every cell a bool.
    return [[bool(cell) for cell in row] for row in qr.get_matrix()]


def _draw_qr(c: Canvas, modules: list[list[bool]], x: float, top: float) -> float:
    """Draws the symbol with its quiet zone, top-left at (x, top); returns the total side."""
    size = len(modules)
    module = QR_WIDTH / size
    side = QR_WIDTH + 2 * QR_QUIET_ZONE * module
    c.setFillColor(white)
    c.rect(x, top - side, side, side, stroke=0, fill=1)
    # One path of horizontal runs, filled once: fewer operators than one square per module, and
    # no hairline seams between neighbouring squares in anti-aliasing viewers. Written in module
    # units (integers) under a scaling matrix: formatting hundreds of floats is a cost here.
    runs: list[str] = []
    for r, row in enumerate(modules):
        y = size - 1 - r
        start = -1
        for col in range(size + 1):
            dark = col < size and row[col]
            if dark and start < 0:
                start = col
            elif not dark and start >= 0:
                runs.append(f"{start} {y} {col - start} 1 re")
                start = -1
    c.saveState()
    c.translate(x + QR_QUIET_ZONE * module, top - QR_QUIET_ZONE * module - QR_WIDTH)
    c.scale(module, module)
    c.setFillColor(INK)
    c.addLiteral("\n".join(runs) + "\nf")
    c.restoreState()
    return side


# -- text helpers --------------------------------------------------------------------------------


def masked_id(id_number: str) -> str:
    """Only the last 4 characters of an ID number, whatever the caller passed in."""
    return "*" * max(len(id_number) - 4, 0) + id_number[-4:]


def grouped_code(code: str) -> str:
    """ "ABCD2345" → "ABCD-2345", easier to read out and type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _bold(c: Canvas, color: Color, size: float) -> None:
    """Fill and stroke the glyphs (text render mode 2): the CJK font has one weight only."""
    c.setFillColor(color)
    c.setStrokeColor(color)
    c.setLineWidth(size / 40)


# -- the page ------------------------------------------------------------------------------------


def _fields(doc: PassDocument) -> list[tuple[str, list[str]]]:
    """(bilingual label, value lines) shown in the left column under the validity."""
    if doc.kind == "VP":
        rows = [
            ("企业名称 Enterprise", [doc.enterprise]),
            ("统一社会信用代码 USCC", [doc.uscc]),
            ("车辆类型 Vehicle type", [doc.vehicle_type or "—"]),
            ("通行路线 Route", [doc.route or "—"]),
            ("货物类别 Cargo", [doc.cargo or "—"]),
            (
                "驾驶员 Drivers",
                [f"{name}  {masked_id(id_number)}" for name, id_number in doc.drivers] or ["—"],
            ),
        ]
    else:
        staff = "—" if doc.staff is None else f"{doc.staff} 人 persons"
        rows = [
            ("统一社会信用代码 USCC", [doc.uscc]),
            ("复工地点 Site", [doc.site or "—"]),
            ("所在区 District", [doc.district or "—"]),
            ("在岗人数 Staff on site", [staff]),
        ]
    return rows


def _fit_enterprise(name: str, font: str, width: float) -> tuple[float, list[str]]:
    """One line if it fits at 13 pt or more; else two lines of about equal length."""
    for size in (17.0, 16.0, 15.0, 14.0, 13.0):
        if pdfmetrics.stringWidth(name, font, size) <= width:
            return size, [name]
    size = 15.0
    while True:
        half = pdfmetrics.stringWidth(name, font, size) / 2 + size * 1.5
        lines = wrap(name, font, size, min(width, half))
        if len(lines) <= 2 or size <= 9:
            return size, lines
        size -= 1


def _draw_fields(
    c: Canvas,
    font: str,
    rows: list[tuple[str, list[str]]],
    x: float,
    top: float,
    width: float,
    bottom: float,
) -> None:
    """Label over value, shrinking the values until everything fits between top and bottom."""
    label_size = 7.0
    for value_size in (10.0, 9.5, 9.0, 8.5, 8.0, 7.5, 7.0):
        laid = [
            (label, [line for v in values for line in lines_for(v, font, value_size, width)])
            for label, values in rows
        ]
        leading = value_size * 1.3
        height = sum(label_size * 1.25 + len(lines) * leading + 2.2 * mm for _, lines in laid)
        if top - height >= bottom:
            break
    y = top
    for i, (label, lines) in enumerate(laid):
        if i:
            c.setStrokeColor(RULE)
            c.setLineWidth(0.4)
            c.line(x, y + 1.1 * mm, x + width, y + 1.1 * mm)
        y -= label_size * 1.1
        if y < bottom:
            return
        c.setFillColor(GREY)
        c.setFont(font, label_size)
        c.drawString(x, y, label)
        y -= 1.2 * mm
        c.setFillColor(INK)
        c.setFont(font, value_size)
        for line in lines:
            y -= value_size * 1.05
            if y < bottom:  # only an absurdly long document gets here: cut, never overlap
                return
            c.drawString(x, y, line)
            y -= value_size * 0.25
        y -= 2.2 * mm


def render_pass(doc: PassDocument, *, font_path: str | None = None) -> bytes:
    """The pass as a one-page A5 PDF; identical bytes for an identical document."""
    if doc.kind not in KIND_TITLES:
        raise ValueError(f"unknown pass kind {doc.kind!r}")
    font = cjk_font(font_path)
    modules = qr_modules(doc.qr_text)
    title_zh, title_en = KIND_TITLES[doc.kind]

    buffer = io.BytesIO()
    # initialFontName: no unused Helvetica in the file. (types-reportlab types it as a float.)
    c = Canvas(
        buffer,
        pagesize=A5,
        invariant=1,
        pageCompression=1,
        initialFontName=font,  # type: ignore[arg-type]
    )
    c.setTitle(f"{title_zh} {title_en} {doc.number}")
    c.setAuthor(doc.issuer)
    c.setSubject(f"{doc.valid_from} – {doc.valid_until}")
    c.setCreator("permits")

    y = _draw_header(c, font, doc, PAGE_HEIGHT - 16 * mm)
    y = _draw_number_line(c, font, doc, y - 7 * mm)
    y = _draw_hero(c, font, doc, y - 4 * mm)
    y = _draw_validity(c, font, doc, y)
    _draw_lower(c, font, doc, modules, y)
    if doc.revoked:
        _draw_revoked(c, font)

    c.showPage()
    c.save()
    return buffer.getvalue()


def _draw_header(c: Canvas, font: str, doc: PassDocument, y: float) -> float:
    """The frame, then the authority, the title, the English title and a double rule; returns
    the height below them."""
    # Frame: a heavy and a thin line, in the issuing authority's red.
    c.setStrokeColor(RED)
    c.setLineWidth(1.6)
    c.rect(6 * mm, 6 * mm, PAGE_WIDTH - 12 * mm, PAGE_HEIGHT - 12 * mm)
    c.setLineWidth(0.5)
    c.rect(7.6 * mm, 7.6 * mm, PAGE_WIDTH - 15.2 * mm, PAGE_HEIGHT - 15.2 * mm)

    title_zh, title_en = KIND_TITLES[doc.kind]
    centre = PAGE_WIDTH / 2
    c.setFillColor(RED)
    c.setFont(font, 10.5)
    for i, line in enumerate(lines_for(doc.issuer, font, 10.5, CONTENT_WIDTH)[:2]):
        if i:
            y -= 10.5 * 1.25
        c.drawCentredString(centre, y, line)
    y -= 10.5 * mm
    _bold(c, INK, 24)
    c.setFont(font, 24)
    c.drawCentredString(centre, y, title_zh, mode=2)
    y -= 6.5 * mm
    c.setFillColor(GREY)
    c.setFont(font, 11)
    c.drawCentredString(centre, y, title_en)
    y -= 4 * mm
    c.setStrokeColor(RED)
    c.setLineWidth(1.6)
    c.line(MARGIN, y, PAGE_WIDTH - MARGIN, y)
    c.setLineWidth(0.5)
    c.line(MARGIN, y - 1.2 * mm, PAGE_WIDTH - MARGIN, y - 1.2 * mm)
    return y


def _draw_number_line(c: Canvas, font: str, doc: PassDocument, y: float) -> float:
    """Pass number (left) and issue time (right), on the baseline y."""
    c.setFillColor(GREY)
    c.setFont(font, 7.5)
    c.drawString(MARGIN, y, "编号 No.")
    c.drawRightString(
        PAGE_WIDTH - MARGIN - pdfmetrics.stringWidth(doc.issued_at, font, 10) - 4,
        y,
        "签发时间 Issued",
    )
    c.setFillColor(INK)
    c.setFont(font, 11)
    c.drawString(MARGIN + pdfmetrics.stringWidth("编号 No.", font, 7.5) + 4, y, doc.number)
    c.setFont(font, 10)
    c.drawRightString(PAGE_WIDTH - MARGIN, y, doc.issued_at)
    return y


def _draw_hero(c: Canvas, font: str, doc: PassDocument, y: float) -> float:
    """The hero, read first: the plate for a vehicle, the enterprise for a site."""
    centre = PAGE_WIDTH / 2
    hero_height = 25 * mm
    c.setStrokeColor(INK)
    c.setLineWidth(1.2)
    c.roundRect(MARGIN, y - hero_height, CONTENT_WIDTH, hero_height, 2.5 * mm)
    c.setFillColor(GREY)
    c.setFont(font, 7.5)
    hero_label = "车牌号码 Plate" if doc.kind == "VP" else "企业名称 Enterprise"
    c.drawString(MARGIN + 2.5 * mm, y - 4.5 * mm, hero_label)
    if doc.kind == "VP":
        plate = doc.plate or "—"
        size = 44.0
        while size > 20 and pdfmetrics.stringWidth(plate, font, size) > CONTENT_WIDTH - 10 * mm:
            size -= 2
        _bold(c, INK, size)
        c.setFont(font, size)
        c.drawCentredString(centre, y - hero_height + 5.5 * mm, plate, mode=2)
    else:
        size, lines = _fit_enterprise(doc.enterprise, font, CONTENT_WIDTH - 8 * mm)
        _bold(c, INK, size)
        c.setFont(font, size)
        line_y = y - 7 * mm - size * (1.0 if len(lines) > 1 else 1.6)
        for line in lines[:2]:
            c.drawCentredString(centre, line_y, line, mode=2)
            line_y -= size * 1.2
    return y - hero_height - 3.5 * mm


def _draw_validity(c: Canvas, font: str, doc: PassDocument, y: float) -> float:
    """Validity, the second thing a checkpoint reads."""
    band = 17 * mm
    c.setFillColor(TINT)
    c.rect(MARGIN, y - band, CONTENT_WIDTH, band, stroke=0, fill=1)
    c.setFillColor(RED)
    c.rect(MARGIN, y - band, 1.2 * mm, band, stroke=0, fill=1)
    c.setFillColor(GREY)
    c.setFont(font, 7.5)
    c.drawString(MARGIN + 4 * mm, y - 4.5 * mm, "有效期（含首尾两日） Valid, both days included")
    validity = f"{doc.valid_from}  至  {doc.valid_until}"
    _bold(c, INK, 19)
    c.setFont(font, 19)
    c.drawString(MARGIN + 4 * mm, y - band + 4 * mm, validity, mode=2)
    return y - band - 5 * mm


def _draw_lower(
    c: Canvas, font: str, doc: PassDocument, modules: list[list[bool]], y: float
) -> None:
    """The details on the left, the QR code and control code on the right, and how to verify
    across the bottom."""
    hint_top = 7.6 * mm + 13 * mm
    # The symbol's right edge lines up with the rules; its quiet zone reaches into the margin.
    quiet = QR_QUIET_ZONE * QR_WIDTH / len(modules)
    qr_x = PAGE_WIDTH - MARGIN - QR_WIDTH - quiet
    qr_side = _draw_qr(c, modules, qr_x, y + 1 * mm)
    code_y = y + 1 * mm - qr_side - 5.5 * mm
    code_centre = qr_x + qr_side / 2
    c.setFillColor(INK)
    c.setFont(MONO_FONT, 17)
    c.drawCentredString(code_centre, code_y, grouped_code(doc.control_code))
    c.setFillColor(GREY)
    c.setFont(font, 7)
    c.drawCentredString(code_centre, code_y - 4.2 * mm, "校验码 Control code")

    fields_width = qr_x - MARGIN - 4 * mm
    _draw_fields(c, font, _fields(doc), MARGIN, y, fields_width, hint_top + 2 * mm)

    c.setStrokeColor(RULE)
    c.setLineWidth(0.5)
    c.line(MARGIN, hint_top, PAGE_WIDTH - MARGIN, hint_top)
    c.setFillColor(INK)
    hint_y = hint_top - 4.5 * mm
    for text, size in ((CHECKPOINT_HINT[0], 8.5), (CHECKPOINT_HINT[1], 7.5)):
        c.setFont(font, size)
        for line in lines_for(text, font, size, CONTENT_WIDTH):
            c.drawString(MARGIN, hint_y, line)
            hint_y -= size * 1.3


def _draw_revoked(c: Canvas, font: str) -> None:
    """A large red stamp over the plate and validity, clear of the QR code (it must still scan)."""
    c.saveState()
    c.translate(PAGE_WIDTH / 2, PAGE_HEIGHT - 82 * mm)
    c.rotate(14)
    size = 34.0
    width = pdfmetrics.stringWidth(REVOKED_MARK, font, size)
    c.setFillAlpha(0.62)
    c.setStrokeAlpha(0.62)
    c.setStrokeColor(RED)
    c.setLineWidth(2.4)
    c.roundRect(-width / 2 - 4 * mm, -size * 0.45, width + 8 * mm, size * 1.35, 2 * mm)
    _bold(c, RED, size)
    c.setFont(font, size)
    c.drawCentredString(0, -size * 0.12, REVOKED_MARK, mode=2)
    c.restoreState()
