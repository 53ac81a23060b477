"""Load /api/v1/verify with valid tokens from a second process (wrk), beside the trivial /livez
route of the same server: gunicorn, 2 sync workers, 32 connections.

    .venv/bin/python bench/bench_verify.py                      # SQLite in a temp folder
    .venv/bin/python bench/bench_verify.py --database postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Needs `wrk` (Debian package). Prints a markdown table; the goal is verify at >= 50 % of the
trivial route's requests per second, with p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from statistics import median

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from processes import children, database_backends, free_port, process_cpu_seconds, wait_for
from seed import BIN, ROOT, flask


def wrk(url: str, seconds: int, connections: int, script: Path | None) -> tuple[float, float, int]:
    """Requests per second, p99 latency in ms, and the number of requests."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99_text = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    assert p99_text is not None, output
    value, unit = float(p99_text.group(1)), p99_text.group(2)
    p99 = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    if re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise SystemExit(f"errors during the run:\n{output}")
    count = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    return rate, p99, count


class Round:
    """One wrk run, with the CPU it cost the gunicorn workers and the database server: CPU per
    request does not depend on what else the machine is doing, requests per second does."""

    def __init__(
        self,
        url: str,
        seconds: int,
        connections: int,
        script: Path | None,
        workers: list[int],
        database: sa.Engine | None,
    ) -> None:
        # Taken at the start of each round: the workers' connections are open by then.
        backends = database_backends(database) if database is not None else []

        def cpu_seconds(pids: list[int]) -> float:
            return sum(map(process_cpu_seconds, pids))

        before = (cpu_seconds(workers), cpu_seconds(backends))
        self.rate, self.p99, requests = wrk(url, seconds, connections, script)
        self.worker_us = (cpu_seconds(workers) - before[0]) / requests * 1e6
        self.database_us = (cpu_seconds(backends) - before[1]) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database", help="a PostgreSQL server URL (a database is made for the run)"
    )
    parser.add_argument("--seconds", type=int, default=6, help="per route and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    work = Path(tempfile.mkdtemp(prefix="permits-bench-"))
    admin_engine = None
    if args.database:
        name = f"permits_bench_{secrets.token_hex(3)}"
        admin_engine = sa.create_engine(args.database, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        database = make_url(args.database).set(database=name).render_as_string(hide_password=False)
        engine_name = "PostgreSQL"
    else:
        database = f"sqlite:///{work / 'bench.sqlite3'}"
        engine_name = "SQLite"
    env = {
        **os.environ,
        "PERMITS_SECRET_KEY": secrets.token_urlsafe(48),
        "PERMITS_DATABASE_URL": database,
        "PERMITS_KEYS_DIR": str(work / "keys"),
        "PERMITS_UPLOAD_DIR": str(work / "uploads"),
        "PERMITS_RATELIMIT_ENABLED": "false",
    }
    server = None
    try:
        flask(env, "db", "upgrade")
        flask(env, "demo")
        bearer = (
            flask(env, "users", "token", "checkpoint.jd-g2-anting@demo.permits.example")
            .strip()
            .splitlines()[-1]
        )
        engine = sa.create_engine(database)
        with engine.connect() as conn:
            qr = conn.execute(sa.text("SELECT token FROM passes LIMIT 1")).scalar_one()
        engine.dispose()

        port = free_port()
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--preload",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        wait_for(port)
        script = work / "verify.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(json.dumps({'qr': qr}))}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {bearer}"\n'
        )
        wrk(f"{base}/livez", 2, args.connections, None)  # warm up
        wrk(f"{base}/api/v1/verify", 2, args.connections, script)
        workers = children(server.pid)
        postgres = args.database is not None
        watcher = sa.create_engine(database) if postgres else None
        # Alternating rounds, so that whatever else the machine does weighs on both routes;
        # the share is taken within each round and its median reported.
        rounds = []
        for _ in range(args.rounds):
            trivial_round = Round(
                f"{base}/livez", args.seconds, args.connections, None, workers, watcher
            )
            verify_round = Round(
                f"{base}/api/v1/verify",
                args.seconds,
                args.connections,
                script,
                workers,
                watcher,
            )
            rounds.append((trivial_round, verify_round))
        if watcher is not None:
            watcher.dispose()
        with sa.create_engine(database).connect() as conn:
            scans = conn.execute(sa.text("SELECT count(*) FROM scan_events")).scalar_one()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if admin_engine is not None:
            with admin_engine.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)

    def med(values: Iterable[float]) -> float:
        return float(median(values))

    trivial = (med(t.rate for t, _ in rounds), med(t.p99 for t, _ in rounds))
    verify = (med(v.rate for _, v in rounds), med(v.p99 for _, v in rounds))
    shares = sorted(100 * v.rate / t.rate for t, v in rounds)
    cpu = {
        "trivial": (med(t.worker_us for t, _ in rounds), med(t.database_us for t, _ in rounds)),
        "verify": (med(v.worker_us for _, v in rounds), med(v.database_us for _, v in rounds)),
    }
    print(
        f"{engine_name}, gunicorn 2 sync workers, wrk {args.connections} connections, "
        f"{args.rounds} alternating rounds of {args.seconds} s per route; medians; "
        f"{scans} scan events written\n"
    )
    database_column = " | database server CPU µs per request" if postgres else ""
    header = "| route | requests/s | p99 ms | share of trivial | worker CPU µs per request"
    print(f"{header}{database_column} |")
    print("|---|---:|---:|---:|---:|" + ("---:|" if postgres else ""))
    for label, (rate, p99), share, (worker_us, database_us) in (
        ("GET /livez (trivial JSON)", trivial, "100 %", cpu["trivial"]),
        (
            "POST /api/v1/verify (valid QR)",
            verify,
            f"{median(shares):.0f} % (rounds: {', '.join(f'{x:.0f}' for x in shares)})",
            cpu["verify"],
        ),
    ):
        database_cell = f" {database_us:,.0f} |" if postgres else ""
        print(f"| {label} | {rate:,.0f} | {p99:.1f} | {share} | {worker_us:,.0f} |{database_cell}")
    worker_share = 100 * cpu["trivial"][0] / cpu["verify"][0]
    print(
        f"\nCPU per request, which other work on the machine does not change: a verification costs "
        f"the gunicorn worker {cpu['verify'][0] / cpu['trivial'][0]:.2f} times what /livez costs "
        f"it ({worker_share:.0f} %)"
        + (f", and the database server {cpu['verify'][1]:,.0f} µs more." if postgres else ".")
    )


if __name__ == "__main__":
    main()
