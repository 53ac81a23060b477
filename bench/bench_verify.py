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
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def flask(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def wrk(url: str, seconds: int, connections: int, script: Path | None) -> tuple[float, float]:
    """Requests per second and p99 latency in ms."""
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
    return rate, p99


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
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        script = work / "verify.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(json.dumps({'qr': qr}))}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {bearer}"\n'
        )
        wrk(f"{base}/livez", 2, args.connections, None)  # warm up
        wrk(f"{base}/api/v1/verify", 2, args.connections, script)
        # Alternating rounds, so that whatever else the machine does weighs on both routes;
        # the share is taken within each round and its median reported.
        rounds = []
        for _ in range(args.rounds):
            trivial_round = wrk(f"{base}/livez", args.seconds, args.connections, None)
            verify_round = wrk(f"{base}/api/v1/verify", args.seconds, args.connections, script)
            rounds.append((trivial_round, verify_round))
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

    trivial = (median(t[0] for t, _ in rounds), median(t[1] for t, _ in rounds))
    verify = (median(v[0] for _, v in rounds), median(v[1] for _, v in rounds))
    shares = sorted(100 * v[0] / t[0] for t, v in rounds)
    print(
        f"{engine_name}, gunicorn 2 sync workers, wrk {args.connections} connections, "
        f"{args.rounds} alternating rounds of {args.seconds} s per route; medians; "
        f"{scans} scan events written\n"
    )
    print("| route | requests/s | p99 ms | share of trivial |")
    print("|---|---:|---:|---:|")
    print(f"| GET /livez (trivial JSON) | {trivial[0]:,.0f} | {trivial[1]:.1f} | 100 % |")
    print(
        f"| POST /api/v1/verify (valid QR) | {verify[0]:,.0f} | {verify[1]:.1f} | "
        f"{median(shares):.0f} % (rounds: {', '.join(f'{x:.0f}' for x in shares)}) |"
    )


if __name__ == "__main__":
    main()
