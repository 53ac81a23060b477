"""CPU time per final approval over the API, in process, on PostgreSQL: the app's own CPU, its
database backend's CPU and the statements per decision, for one or more code trees in turn.

    .venv/bin/python bench/seed.py --scale 0.02 --keep --work /tmp/city     # once
    .venv/bin/python bench/decision_cpu.py --seeded URL --work /tmp/city \\
        [--app-dir OLD_TREE --app-dir .] [--rounds 3] [--count 500] [--profile out.prof]

Each measurement runs in a process of its own, on a fresh copy of the seeded database (CREATE
DATABASE … TEMPLATE), and approves `--count` applications waiting at the city transport
department's step (the last one: a pass is issued) with POST /api/v1/applications/{id}/decisions,
four approvers' bearer tokens in turn, after 20 unmeasured ones. Code trees are measured in
turn, round after round, so that the other work on the machine weighs on each alike: the CPU
times are what to compare (rates and wall times on shared cores are not). An older tree comes
from `git archive`, with its translations compiled (`make translations` there, or copy
permits/translations/*/LC_MESSAGES/messages.mo).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from processes import database_backends, process_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 20
WAITING = (
    "SELECT id FROM applications WHERE status = 'in_review' AND current_step = 2"
    " AND current_department_code = 'transport' AND current_scope = 'city'"
    " ORDER BY id LIMIT :n"
)


def backends_cpu(engine: sa.Engine) -> float:
    """CPU seconds so far of this database's other backends (the app's connections)."""
    return sum(map(process_cpu_seconds, database_backends(engine)))


def measure(app_dir: Path, url: str, work: Path, count: int, profile: str | None) -> dict[str, Any]:
    """One tree on one fresh database: runs in its own process (the tree's `permits` imported)."""
    os.environ.update(
        {
            "PERMITS_SECRET_KEY": "seed-" + "k" * 48,
            "PERMITS_DATABASE_URL": url,
            "PERMITS_KEYS_DIR": str(work / "keys"),
            "PERMITS_UPLOAD_DIR": str(work / "uploads"),
            "PERMITS_RATELIMIT_ENABLED": "false",
        }
    )
    sys.path.insert(0, str(app_dir))
    os.chdir(app_dir)
    from permits import create_app
    from permits.extensions import db
    from permits.models import User, utcnow
    from permits.services import api_tokens

    app = create_app()
    watcher = sa.create_engine(url)
    statements = [0]
    with app.app_context():
        tokens = []
        for k in range(4):
            email = f"transport.city.{k}@seed.permits.example"
            user = db.session.scalar(sa.select(User).where(User.email == email))
            tokens.append(api_tokens.issue_api_token(user, "bench", now=utcnow())[1])
        db.session.commit()
        ids = list(db.session.scalars(sa.text(WAITING), {"n": count + WARM_UP}))

        @sa.event.listens_for(db.engine, "before_cursor_execute")
        def _count(*_args: object) -> None:
            statements[0] += 1

    client = app.test_client()

    def approve(k: int, ident: int) -> int:
        response = client.post(
            f"/api/v1/applications/{ident}/decisions",
            json={"decision": "approve"},
            headers={"Authorization": f"Bearer {tokens[k % len(tokens)]}"},
        )
        return response.status_code

    for k, ident in enumerate(ids[:WARM_UP]):
        approve(k, ident)
    ids = ids[WARM_UP:]
    statements[0] = 0
    walls, statuses = [], []
    profiler = cProfile.Profile() if profile else None
    database_before, cpu_before = backends_cpu(watcher), time.process_time()
    if profiler:
        profiler.enable()
    for k, ident in enumerate(ids):
        start = time.perf_counter()
        statuses.append(approve(k, ident))
        walls.append((time.perf_counter() - start) * 1000)
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    cpu = time.process_time() - cpu_before
    database = backends_cpu(watcher) - database_before
    watcher.dispose()
    return {
        "decisions": len(ids),
        "created": statuses.count(201),
        "app_cpu_ms": cpu * 1000 / len(ids),
        "database_cpu_ms": database * 1000 / len(ids),
        "statements": statements[0] / len(ids),
        "median_ms": statistics.median(walls),
    }


def fresh_copy(seeded: str) -> tuple[str, sa.Engine, str]:
    """A new database copied from the seeded one: (its URL, a server engine, its name)."""
    url = make_url(seeded)
    name = f"permits_cpu_{secrets.token_hex(3)}"
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
    return url.set(database=name).render_as_string(hide_password=False), server, name


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeded", required=True, help="a database seeded by seed.py --keep")
    parser.add_argument("--work", type=Path, required=True, help="its folder (keys)")
    parser.add_argument("--app-dir", type=Path, action="append", help="a code tree (default: .)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=500, help="approvals measured per run")
    parser.add_argument("--profile", help="write cProfile stats of the (last) run here")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # a child's own tree
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:  # the child: one tree, one copy, one JSON line
        print(json.dumps(measure(args.one, args.url, args.work, args.count, args.profile)))
        return
    trees = [path.resolve() for path in (args.app_dir or [ROOT])]
    results: dict[Path, list[dict[str, Any]]] = {tree: [] for tree in trees}
    print("| round | tree | app CPU ms | PostgreSQL CPU ms | statements | median ms |")
    print("|---:|---|---:|---:|---:|---:|")
    for round_ in range(1, args.rounds + 1):
        for tree in trees:
            url, server, name = fresh_copy(args.seeded)
            try:
                child = [
                    sys.executable,
                    __file__,
                    "--seeded",
                    args.seeded,
                    "--work",
                    str(args.work),
                ]
                child += ["--one", str(tree), "--url", url, "--count", str(args.count)]
                if args.profile:
                    child += ["--profile", args.profile]
                output = subprocess.run(child, check=True, capture_output=True, text=True).stdout
            finally:
                with server.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                server.dispose()
            result = json.loads(output.strip().splitlines()[-1])
            assert result["created"] >= result["decisions"] * 0.95, result
            results[tree].append(result)
            print(
                f"| {round_} | {tree} | {result['app_cpu_ms']:.2f} | "
                f"{result['database_cpu_ms']:.2f} | {result['statements']:.2f} | "
                f"{result['median_ms']:.1f} |",
                flush=True,
            )
    for tree, runs in results.items():
        app_cpu = statistics.median(r["app_cpu_ms"] for r in runs)
        database = statistics.median(r["database_cpu_ms"] for r in runs)
        print(f"\n{tree}: median app CPU {app_cpu:.2f} ms + PostgreSQL {database:.2f} ms")


if __name__ == "__main__":
    main()
