"""Run every benchmark in bench/ and rewrite docs/performance.md from their output: the machine,
the versions, the exact commands, each benchmark's figures (its own markdown, measured in this
run) and the hand-written notes kept in bench/notes/<script>.md.

    .venv/bin/python bench/report.py [--database postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                     [--scale 1.0] [--only bench_scale ...]

Each run's output is also kept in bench/results/<name>.md; with --only, the other sections are
taken from there, so one benchmark can be rerun without the others.
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import sqlalchemy as sa

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NOTES, RESULTS = BENCH / "notes", BENCH / "results"
DOCUMENT = ROOT / "docs" / "performance.md"
PYTHON = ".venv/bin/python"
LIBRARIES = (
    "Flask",
    "SQLAlchemy",
    "psycopg",
    "gunicorn",
    "cryptography",
    "cbor2",
    "qrcode",
    "reportlab",
)


@dataclass(frozen=True)
class Run:
    """One benchmark run: its section name, title and arguments."""

    name: str
    script: str
    title: str
    args: tuple[str, ...] = ()
    needs_postgres: bool = False

    def command(self) -> list[str]:
        return [PYTHON, f"bench/{self.script}.py", *self.args]


def runs(database: str, scale: float) -> list[Run]:
    """The known benchmarks in order, then any other bench_*.py with its docstring as title."""
    pg = ("--database", database)
    known = [
        Run("bench_tokens", "bench_tokens", "Pass tokens (PP1), one core"),
        Run("bench_pdf", "bench_pdf", "Pass PDF, not cached"),
        Run("bench_verify-sqlite", "bench_verify", "Verification under load, SQLite"),
        Run(
            "bench_verify-postgresql",
            "bench_verify",
            "Verification under load, PostgreSQL",
            pg,
            needs_postgres=True,
        ),
        Run(
            "bench_scale",
            "bench_scale",
            "A city's worth of data (PostgreSQL)",
            (*pg, "--scale", f"{scale:g}"),
            needs_postgres=True,
        ),
    ]
    scripts = {run.script for run in known}
    for path in sorted(BENCH.glob("bench_*.py")):
        if path.stem not in scripts:
            known.append(Run(path.stem, path.stem, first_line(path)))
    return known


def first_line(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or path.stem
    return doc.strip().splitlines()[0].rstrip(".:")


def postgres_version(database: str) -> str | None:
    try:
        engine = sa.create_engine(database, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            version = str(conn.exec_driver_sql("SHOW server_version").scalar_one())
        engine.dispose()
    except sa.exc.OperationalError:
        return None
    return version.split()[0]


def machine() -> str:
    memory = "?"
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = ", " + line.split(":", 1)[1].strip()
                break
    try:
        load = ", load average before the run " + " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = ""
    system = platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    return f"{os.cpu_count()} cores{model}, {memory} memory, {system}{load}"


def versions(pg: str | None) -> str:
    parts = [
        f"Python {platform.python_version()}",
        f"PostgreSQL {pg}" if pg else "PostgreSQL not reachable",
        f"SQLite {sqlite3.sqlite_version}",
    ]
    for name in LIBRARIES:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(parts)


def execute(run: Run) -> str:
    """The benchmark's markdown output and how long it took."""
    print(f"== {' '.join(run.command())}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *run.command()[1:]], cwd=ROOT, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        return f"**The run failed** (exit {result.returncode}):\n\n```\n{tail}\n```\n"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{result.stdout.strip()}\n\n_Measured {stamp}, {seconds:.0f} s._\n"


def section(run: Run, output: str) -> str:
    notes = NOTES / f"{run.name}.md"
    if not notes.exists():
        notes = NOTES / f"{run.script}.md"
    text = f"## {run.title} — `{' '.join(run.command())}`\n\n{output.strip()}\n"
    if notes.exists() and (run.name == run.script or not run.name.endswith("-sqlite")):
        text += "\n" + notes.read_text(encoding="utf-8").strip() + "\n"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server URL (each benchmark makes and drops its own database)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="bench_scale's city size")
    parser.add_argument("--only", nargs="*", help="section names to rerun (others: last results)")
    args = parser.parse_args()

    pg = postgres_version(args.database)
    RESULTS.mkdir(exist_ok=True)
    sections = []
    for run in runs(args.database, args.scale):
        kept = RESULTS / f"{run.name}.md"
        if args.only is not None and run.name not in args.only and run.script not in args.only:
            output = kept.read_text(encoding="utf-8") if kept.exists() else "_Not run yet._\n"
        elif run.needs_postgres and pg is None:
            output = f"_Not run: PostgreSQL is not reachable at {args.database}._\n"
        else:
            output = execute(run)
            kept.write_text(output, encoding="utf-8")
        sections.append(section(run, output))

    header = (NOTES / "intro.md").read_text(encoding="utf-8").strip()
    DOCUMENT.write_text(
        f"# Performance\n\n_Written by `make bench` (bench/report.py); edit bench/notes/, not this "
        f"file._\n\n{header}\n\n"
        f"- Machine: {machine()}.\n"
        f"- Versions: {versions(pg)}.\n"
        f"- Command: `make bench` (BENCH_SCALE={args.scale:g}), i.e. "
        f"`{PYTHON} bench/report.py --database {args.database} --scale {args.scale:g}`; "
        f"each section names its own script.\n\n" + "\n".join(sections),
        encoding="utf-8",
    )
    print(f"wrote {DOCUMENT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
