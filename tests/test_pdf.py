"""The printable pass: its QR code reads back exactly, Chinese is embedded and extractable, no full
ID number is ever printed, and the same document always gives the same bytes.

The poppler-based tests are skipped when poppler-utils is missing, unless
PERMITS_TEST_REQUIRE_TOOLS=1, which makes a missing tool an error.
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from reportlab.pdfbase.ttfonts import TTFont

from permits.passes import pdf, typeset
from permits.passes.pdf import PassDocument, qr_modules, render_pass
from permits.passes.typeset import FontError

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
#: A full, valid ID number (GB 11643 check digit): only its last 4 characters may be printed.
FULL_ID = "440304198506127317"
ENTERPRISE = "上海浦东冷链物流有限公司"
PLATE = "沪A·D12345"
#: The format information of a QR code with error correction M and mask 2 (ISO/IEC 18004 table C.1).
FORMAT_M_MASK_2 = 0b101111001111100


def pp1_text(seed: int, length: int = 350) -> str:
    """Looks like a signed PP1 token: "PP1:" and Base45 characters (space, $, %, : included)."""
    rng = random.Random(seed)
    return "PP1:" + "".join(rng.choice(BASE45) for _ in range(length))


def make_vehicle_pass(**overrides: object) -> PassDocument:
    values: dict[str, object] = {
        "kind": "VP",
        "number": "310115000123",
        "control_code": "7KQ2M9XD",
        "valid_from": "2026-12-01",
        "valid_until": "2026-12-14",
        "enterprise": ENTERPRISE,
        "uscc": "91310115MA1H7GXX3Q",
        "issuer": "上海市交通委员会 Shanghai Transport Commission",
        "issued_at": "2026-11-28 09:30",
        "qr_text": pp1_text(1),
        "plate": PLATE,
        "vehicle_type": "冷藏车 Refrigerated truck",
        "route": "浦东新区 Pudong → 昆山市 Kunshan",
        "cargo": "生活必需品 Daily necessities",
        "drivers": (("张伟", "*" * 14 + FULL_ID[-4:]), ("李娜", "**************1235")),
    }
    values.update(overrides)
    return PassDocument(**values)  # type: ignore[arg-type]


def make_work_resumption(**overrides: object) -> PassDocument:
    values: dict[str, object] = {
        "kind": "WR",
        "number": "310115000124",
        "control_code": "AB12CD3E",
        "valid_from": "2026-12-01",
        "valid_until": "2027-02-28",
        "enterprise": "上海张江精密仪器制造股份有限公司",
        "uscc": "91310115MA1H7GXX3Q",
        "issuer": "上海市浦东新区经济和信息化委员会 Pudong Economy and Informatization Commission",
        "issued_at": "2026-11-28 09:30",
        "qr_text": pp1_text(2),
        "site": "上海市浦东新区张江路 1234 弄 5 号楼 Building 5, Lane 1234, Zhangjiang Road",
        "district": "浦东新区 Pudong New Area",
        "staff": 120,
    }
    values.update(overrides)
    return PassDocument(**values)  # type: ignore[arg-type]


@pytest.fixture
def poppler() -> None:
    missing = [
        tool for tool in ("pdftoppm", "pdftotext", "pdffonts", "pdfinfo") if not shutil.which(tool)
    ]
    if missing:
        message = f"poppler-utils is not installed (no {', '.join(missing)})"
        if os.environ.get("PERMITS_TEST_REQUIRE_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)


def write(tmp_path: Path, document: PassDocument, name: str = "pass") -> Path:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(render_pass(document))
    return path


def pdftotext(path: Path, *options: str) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *options, str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def scan(path: Path, dpi: int = 150) -> list[zxingcpp.Barcode]:
    """Rasterises the page as a checkpoint's printout would be, and decodes every barcode on it."""
    prefix = path.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(path), str(prefix)], check=True)
    (image_path,) = path.parent.glob(f"{prefix.name}-*.png")
    with Image.open(image_path) as image:
        return list(zxingcpp.read_barcodes(image))


# -- the QR code ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        make_vehicle_pass(),
        make_work_resumption(),
        make_vehicle_pass(revoked=True),
        make_vehicle_pass(qr_text=pp1_text(3, length=600)),
    ],
    ids=["vehicle pass", "work resumption", "revoked pass", "long token"],
)
def test_the_printed_qr_code_scans_back_to_exactly_the_signed_text(
    poppler: None, tmp_path: Path, document: PassDocument
) -> None:
    (barcode,) = scan(write(tmp_path, document))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.text == document.qr_text
    assert barcode.ec_level == "M"


def test_the_qr_code_is_at_least_35_mm_wide_on_paper(poppler: None, tmp_path: Path) -> None:
    dpi = 150
    (barcode,) = scan(write(tmp_path, make_vehicle_pass()), dpi)
    width_px = barcode.position.top_right.x - barcode.position.top_left.x
    assert width_px / dpi * 25.4 >= 35


def test_qr_modules_are_a_square_matrix_without_quiet_zone_with_ec_m_and_mask_2() -> None:
    modules = qr_modules(pp1_text(4))
    size = len(modules)
    assert (size - 17) % 4 == 0
    assert all(len(row) == size and all(isinstance(cell, bool) for cell in row) for row in modules)
    # The top-left finder pattern starts in the first module: no border was added.
    assert modules[0][:7] == [True] * 7
    assert modules[1][:7] == [True, False, False, False, False, False, True]
    format_bits = [modules[8][size - 1 - i] for i in range(8)]
    format_bits += [modules[size - 15 + i][8] for i in range(8, 15)]
    assert sum(1 << i for i, bit in enumerate(format_bits) if bit) == FORMAT_M_MASK_2


def test_qr_modules_are_a_fresh_copy_each_time() -> None:
    first = qr_modules("PP1:ABC")
    first[0][0] = False
    assert qr_modules("PP1:ABC")[0][0] is True


# -- fonts and text ------------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists(WQY), reason="fonts-wqy-microhei is not installed")
def test_the_chinese_font_is_embedded_as_a_subset(poppler: None, tmp_path: Path) -> None:
    report = subprocess.run(
        ["pdffonts", str(write(tmp_path, make_vehicle_pass()))],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fonts = {}
    for line in report.splitlines()[2:]:
        columns = line.split()
        fonts[columns[0]] = {"emb": columns[-5], "sub": columns[-4]}
    (chinese,) = [name for name in fonts if "WenQuanYi" in name]
    assert fonts[chinese] == {"emb": "yes", "sub": "yes"}
    # Everything else is a standard PDF font, which every viewer has.
    assert set(fonts) - {chinese} <= {"Courier-Bold"}


def test_the_text_layer_gives_back_chinese_names_and_the_plate_but_no_full_id_number(
    poppler: None, tmp_path: Path
) -> None:
    text = pdftotext(write(tmp_path, make_vehicle_pass()))
    for expected in (
        ENTERPRISE,
        PLATE,
        "车辆通行证",
        "Vehicle Pass",
        "310115000123",
        "2026-12-01",
        "2026-12-14",
        "上海市交通委员会",
        "2026-11-28 09:30",
        "冷藏车 Refrigerated truck",
        "昆山市 Kunshan",
        "7KQ2-M9XD",
        "卡口人员：请扫描二维码，或在核验页面输入校验码。",
    ):
        assert expected in text
    assert "**************" + FULL_ID[-4:] in text
    assert FULL_ID[:-4] not in text


def test_a_full_id_number_passed_by_mistake_is_still_printed_masked(
    poppler: None, tmp_path: Path
) -> None:
    text = pdftotext(write(tmp_path, make_vehicle_pass(drivers=(("张伟", FULL_ID),))))
    assert FULL_ID not in text
    assert FULL_ID[:-4] not in text
    assert "*" * 14 + FULL_ID[-4:] in text


def test_a_work_resumption_permit_shows_site_district_and_staff(
    poppler: None, tmp_path: Path
) -> None:
    text = pdftotext(write(tmp_path, make_work_resumption()))
    for expected in (
        "复工复产证明",
        "Work-Resumption Permit",
        "上海张江精密仪器制造股份有限公司",
        "张江路 1234 弄 5 号楼",
        "浦东新区 Pudong New Area",
        "120",
        "AB12-CD3E",
    ):
        assert expected in text
    assert "车牌号码" not in text
    assert "已撤销" not in text


def test_a_revoked_pass_carries_the_revoked_mark(poppler: None, tmp_path: Path) -> None:
    # The stamp is rotated: -raw reads it in drawing order rather than by position.
    assert "已撤销 REVOKED" in pdftotext(write(tmp_path, make_vehicle_pass(revoked=True)), "-raw")


def test_very_long_details_still_fit_on_one_page_with_a_readable_qr_code(
    poppler: None, tmp_path: Path
) -> None:
    document = make_vehicle_pass(
        enterprise="上海浦东新区国际冷链物流与供应链管理服务有限责任公司第二分公司" * 2,
        route="浦东新区 Pudong → 嘉定区 Jiading → 太仓市 Taicang → 昆山市 Kunshan → 苏州市 Suzhou",
        drivers=tuple((f"司机{i}", "*" * 14 + f"{i:04d}") for i in range(8)),
    )
    path = write(tmp_path, document)
    pages = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    assert re.search(r"^Pages:\s+1$", pages.stdout, re.MULTILINE)
    (barcode,) = scan(path)
    assert barcode.text == document.qr_text


# -- determinism, fonts that fail ----------------------------------------------------------------


def test_the_same_document_renders_to_identical_bytes() -> None:
    document = make_vehicle_pass()
    first = render_pass(document)
    assert first.startswith(b"%PDF-")
    assert render_pass(document) == first
    assert render_pass(dataclasses.replace(document, valid_until="2026-12-15")) != first


def test_another_process_renders_the_same_bytes(tmp_path: Path) -> None:
    """Workers of one deployment must agree, or the ETag of a cached PDF would change."""
    document = make_work_resumption()
    script = (
        "import sys\n"
        "from permits.passes.pdf import PassDocument, render_pass\n"
        f"sys.stdout.buffer.write(render_pass(PassDocument(**{dataclasses.asdict(document)!r})))\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    assert other == render_pass(document)


@pytest.mark.parametrize(
    "font_file",
    ["missing.ttf", "not-a-font.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"],
    ids=["missing file", "not a font", "font without Chinese glyphs"],
)
def test_a_font_path_that_cannot_be_used_raises_instead_of_falling_back(
    tmp_path: Path, font_file: str
) -> None:
    (tmp_path / "not-a-font.ttf").write_bytes(b"this is not a TrueType font")
    path = font_file if os.path.isabs(font_file) else str(tmp_path / font_file)
    if not os.path.exists(path) and font_file != "missing.ttf":
        pytest.skip(f"{path} is not installed")
    with pytest.raises(FontError):
        render_pass(make_vehicle_pass(), font_path=path)


@pytest.mark.skipif(not os.path.exists(WQY), reason="fonts-wqy-microhei is not installed")
def test_the_font_is_registered_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[str] = []

    def counting_ttfont(name: str, path: str, subfontIndex: int = 0) -> TTFont:
        loaded.append(path)
        return TTFont(name, path, subfontIndex=subfontIndex)

    monkeypatch.setattr(typeset, "_fonts", {})
    monkeypatch.setattr(typeset, "TTFont", counting_ttfont)
    assert pdf.cjk_font(WQY) == pdf.cjk_font(WQY) == pdf.cjk_font() == pdf.cjk_font()
    assert len(loaded) <= 1  # none when an earlier test of this process registered it already


def test_without_any_chinese_font_file_the_built_in_cid_font_is_the_last_resort(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(typeset, "_fonts", {})
    monkeypatch.setattr(typeset, "CJK_FONT_CANDIDATES", (("/nonexistent/font.ttc", 0),))
    assert pdf.cjk_font() == "STSong-Light"
    assert render_pass(make_work_resumption()).startswith(b"%PDF-")


def test_control_codes_are_grouped_and_id_numbers_masked() -> None:
    assert pdf.grouped_code("7KQ2M9XD") == "7KQ2-M9XD"
    assert pdf.masked_id(FULL_ID) == "*" * 14 + "7317"
    assert pdf.masked_id("**************7317") == "*" * 14 + "7317"


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        render_pass(make_vehicle_pass(kind="XX"))
