"""10,000 vehicles from one spreadsheet, read, checked and stored as one batch, timed by stage.

    .venv/bin/python bench/bench_bulk.py      # 10,000 rows, XLSX, SQLite in a temp folder
    .venv/bin/python bench/bench_bulk.py --rows 2000 --format csv
    .venv/bin/python bench/bench_bulk.py --database postgresql+psycopg://postgres@127.0.0.1:5432/postgres

The goal (issue #9): 10,000 rows validated and stored in under 10 s. Prints a markdown table of
the wall and CPU seconds of each stage.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def id_number(n: int) -> str:
    """A distinct valid ID number per n (a driver on two trucks would be flagged)."""
    from permits.validators import id_number_check_character

    born = date(1960, 1, 1) + timedelta(days=n // 1000)
    body = f"310115{born:%Y%m%d}{n % 1000:03d}"
    return body + id_number_check_character(body)


def spreadsheet(rows: int, fmt: str, max_drivers: int) -> bytes:
    """A filled template: distinct plates and drivers, every row valid."""
    from openpyxl import Workbook

    from permits.services.bulk_sheets import columns

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    cols = columns(max_drivers)
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    table: list[list[object]] = [[h for _, h in cols]]
    for n in range(rows):
        cells = {
            "plate": f"沪{letters[n // 100000 % 24]}{n % 100000:05d}",
            "vehicle_type": "heavy_truck",
            "cargo_category": "daily_necessities",
            "origin": "310115",
            "destination": "320583",
            "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=13)).isoformat(),
            "driver1_name": f"司机{n}",
            "driver1_id_number": id_number(n),
            "driver1_phone": f"139{n:08d}",
        }
        table.append([cells.get(key, "") for key, _ in cols])
    if fmt == "csv":
        text = io.StringIO()
        csv.writer(text).writerows(table)
        return ("\ufeff" + text.getvalue()).encode()
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in table:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    parser.add_argument("--database", default="")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from permits import create_app
    from permits.extensions import db
    from permits.models import Application, Role, utcnow
    from permits.services import accounts, bulk, bulk_sheets, bulk_uploads, organisations
    from permits.validators import uscc_check_character

    folder = Path(tempfile.mkdtemp(prefix="permits-bench-bulk-"))
    url = args.database or f"sqlite:///{folder / 'bench.sqlite3'}"
    admin_engine = None
    if args.database:
        name = f"permits_bench_bulk_{int(time.time())}"
        admin_engine = sa.create_engine(args.database, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(args.database).set(database=name).render_as_string(hide_password=False)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-" + "x" * 40,
            "DATABASE_URL": url,
            "UPLOAD_DIR": str(folder / "uploads"),
            "KEYS_DIR": str(folder / "keys"),
            "PASSWORD_HASH_FAST": True,
            "BULK_MAX_ROWS": args.rows,
        }
    )
    try:
        with app.app_context():
            upgrade()
            body = "91310115" + "ABCDEFGHJ"
            enterprise = organisations.create_enterprise(
                organisations.EnterpriseDetails(
                    uscc=body + uscc_check_character(body),
                    name="上海测试物流有限公司",
                    district="310115",
                    address="测试路1号",
                    contact_name="测试",
                    contact_phone="13800138000",
                    email="logistics@example.com",
                )
            )
            user = accounts.create_user(
                "fleet@example.com", Role.ENTERPRISE, "bench-password-0123", enterprise=enterprise
            )
            db.session.commit()
            content = spreadsheet(args.rows, args.format, int(app.config["MAX_DRIVERS"]))
            # (stage, wall seconds, CPU seconds of this process: the figure that moves least
            # with other work on the machine; PostgreSQL's own work is not in it)
            figures: list[tuple[str, float, float]] = []
            with app.test_request_context():
                start, start_cpu = time.perf_counter(), time.process_time()
                rows = bulk_sheets.read_rows(content)
                figures.append(
                    ("read the file", time.perf_counter() - start, time.process_time() - start_cpu)
                )
                mark, mark_cpu = time.perf_counter(), time.process_time()
                bulk.check_rows(user, rows, now=utcnow())
                figures.append(
                    ("check every row", time.perf_counter() - mark, time.process_time() - mark_cpu)
                )
                bad = [row for row in rows if row.problems]
                assert not bad, (bad[0].number, bad[0].problems)
                key = bulk_uploads.keep_upload(
                    user, f"fleet.{args.format}", content, now=utcnow(), rows=rows
                )
                mark, mark_cpu = time.perf_counter(), time.process_time()
                batch, _ = bulk.submit_good_rows(user, key, now=utcnow())
                db.session.commit()
                figures.append(
                    (
                        "submit: check again, store",
                        time.perf_counter() - mark,
                        time.process_time() - mark_cpu,
                    )
                )
                figures.append(
                    (
                        "upload and submit, in all",
                        time.perf_counter() - start,
                        time.process_time() - start_cpu,
                    )
                )
                stored = db.session.scalar(
                    sa.select(sa.func.count()).where(Application.batch_id == batch.id)
                )
                assert stored == args.rows, stored
            db.session.remove()
            db.engine.dispose()
    finally:
        if admin_engine is not None:
            with admin_engine.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    backend = "PostgreSQL" if args.database else "SQLite"
    print(f"{args.rows} rows, {args.format.upper()}, {backend}\n")
    print("| stage | seconds | CPU seconds |\n|---|---|---|")
    for label, seconds, cpu in figures:
        print(f"| {label} | {seconds:.2f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
