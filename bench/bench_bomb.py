"""A spreadsheet bomb read the way the upload read it before the safe reader, and through it now:
wall time and peak RSS of each, each in a fresh process.

    .venv/bin/python bench/bench_bomb.py                  # the 40-million-row bomb, and 5,000 rows
    .venv/bin/python bench/bench_bomb.py --rows 4000000   # a smaller bomb
    .venv/bin/python bench/bench_bomb.py --skip-before    # only the safe reader

The bomb is a workbook whose sheet holds the template's column names and then millions of empty
`<row/>` elements and no `<dimension>`: a few hundred KB packed. "before" is openpyxl as
permits/services/bulk.py called it until the safe reader (read-only, first sheet, values);
"after" is `spreadsheets.read_table` with the upload's limits. Both feed the same loop, which
stops after 1,000 blank rows in a row as the upload does. A filled template of 5,000 valid
vehicles is read both ways too: what the checks cost a file within the limits. Prints a
markdown table: wall and CPU time, and how far the process grew above its size before the read.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def bomb(rows: int) -> bytes:
    """A workbook: the template's column names, then `rows` empty rows, packed as tight as zlib
    packs them."""
    from permits.services.bulk_sheets import columns

    header = "".join(f'<c t="inlineStr"><is><t>{name}</t></is></c>' for _, name in columns(3))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            f'relationships+xml"/><Override PartName="/xl/workbook.xml" ContentType="'
            f'{SHEET_TYPE}.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{SHEET_TYPE}.worksheet+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC_RELS}/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets><sheet name="s" '
            'sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC_RELS}/'
            'worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<worksheet xmlns="{MAIN}"><sheetData><row>{header}</row>'.encode())
            chunk = b"<row/>" * 100_000
            for _ in range(rows // 100_000):
                sheet.write(chunk)
            sheet.write(b"<row/>" * (rows % 100_000))
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def rows_before(content: bytes) -> Iterator[tuple[Any, ...]]:
    """The upload's reading until the safe reader: openpyxl read-only, first sheet, values."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        yield from book.worksheets[0].iter_rows(values_only=True)
    finally:
        book.close()


def consume(rows: Iterable[Sequence[Any]]) -> str:
    """What bulk_sheets.read_rows does with the rows, less the checks: stop after 1,000 blank
    rows."""
    blank_run = kept = 0
    for values in rows:
        if not any(v not in (None, "") for v in values[:60]):
            blank_run += 1
            if blank_run >= 1000:
                break
            continue
        blank_run = 0
        kept += 1
    return f"{kept} rows kept"


def child(mode: str, path: str) -> None:
    """One read in this fresh process: the app is made before the clock starts."""
    from flask_babel import force_locale

    from permits import create_app
    from permits.services import bulk_sheets
    from permits.services.errors import ValidationFailed
    from permits.spreadsheets import read_table

    content = Path(path).read_bytes()
    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "DATABASE_URL": "sqlite://"})
    with app.app_context(), force_locale("en"):
        limits = bulk_sheets.read_limits()
        rss_before = rss_mib()
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            if mode == "before":
                outcome = consume(rows_before(content))
            else:
                outcome = consume(values for _, values in read_table(content, limits))
        except ValidationFailed as exc:
            outcome = "refused: " + "; ".join(str(m) for m in exc.fields.values())
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"seconds": seconds, "cpu": cpu, "grew_mib": peak - rss_before, "outcome": outcome}
        )
    )


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(mode: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {
            "seconds": float("nan"),
            "cpu": float("nan"),
            "grew_mib": float("nan"),
            "outcome": done.stderr[-300:],
        }
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40_000_000, help="empty rows in the bomb")
    parser.add_argument("--skip-before", action="store_true", help="only the safe reader")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from bench.bench_bulk import spreadsheet

    with tempfile.TemporaryDirectory() as folder:
        files = {
            f"bomb: {args.rows:,} empty rows": Path(folder, "bomb.xlsx"),
            "5,000 valid vehicles": Path(folder, "fleet.xlsx"),
        }
        paths = list(files.values())
        paths[0].write_bytes(bomb(args.rows))
        paths[1].write_bytes(spreadsheet(5000, "xlsx", 3))
        print("| file | packed | read | wall s | CPU s | peak RSS growth MiB | outcome |")
        print("|---|---|---|---|---|---|---|")
        for name, path in files.items():
            for mode in ("before", "after"):
                if mode == "before" and args.skip_before:
                    continue
                got = measure(mode, path)
                print(
                    f"| {name} | {path.stat().st_size / 1024:,.0f} KB | {mode} | "
                    f"{got['seconds']:.3f} | {got['cpu']:.3f} | {got['grew_mib']:,.0f} | "
                    f"{got['outcome']} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
