"""Goals at a city's scale, on PostgreSQL filled by seed.py: the approver queue, the enterprise's
list and the searches (p95 < 50 ms server time), a decision with pass issuance (median < 30 ms,
>= 100 per second from concurrent approvers against gunicorn, none lost or doubled), the
dashboard's statistics (< 500 ms, page and API, served from the snapshot a timer refreshes; the
refresh itself is timed too) and one gunicorn worker's memory after the load (< 150 MB).

    .venv/bin/python bench/bench_scale.py [--database postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                          [--scale 1.0] [--seeded URL --work DIR]

Pages are timed in process (Flask test client, a logged-in session, `--repeat` requests each):
the server's own time, without HTTP. Prints markdown.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import seed
from processes import (
    children,
    database_backends,
    free_port,
    process_cpu_seconds,
    wait_for,
    worker_rss_mb,
)

ROOT, BIN = seed.ROOT, seed.BIN
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
#: One application in this many is decided by two approvers at once (one must get a 409).
RACED = 10
GOAL_PAGE_MS, GOAL_DECISION_MS, GOAL_RATE, GOAL_DASHBOARD_MS, GOAL_RSS_MB = 50, 30, 100, 500, 150


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(work: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of each call, after a few unmeasured ones."""
    for _ in range(min(5, repeat)):
        work()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return times


def logged_in(app: Any, email: str, password: str) -> Any:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_META.search(page)
    assert token is not None
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302, f"login of {email} failed ({response.status_code})"
    return client


def cursor(due: Any, ident: int) -> str:
    """The queue's keyset cursor, as permits.services.review_queue.encode_cursor makes it."""
    raw = f"{due.isoformat()}|{ident}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


class Bench:
    def __init__(self, city: seed.City, repeat: int) -> None:
        self.city = city
        self.repeat = repeat
        self.engine = sa.create_engine(city.database)
        self.rows: list[tuple[str, str, float, float, str]] = []
        self._app: Any = None
        #: Where gunicorn imports the app from (its wsgi.py and permits/).
        self.app_dir = ROOT

    def sql(self, statement: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(statement), params))

    def page(self, label: str, client: Any, path: str, goal: float = GOAL_PAGE_MS) -> None:
        repeat = self.repeat if goal <= GOAL_PAGE_MS else max(10, self.repeat // 10)

        def get() -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        times = timed(get, repeat)
        p95 = percentile(times, 0.95)
        verdict = "met" if p95 < goal else "**missed**"
        self.rows.append(
            (label, path, statistics.median(times), p95, f"p95 < {goal} ms: {verdict}")
        )

    @property
    def app(self) -> Any:
        """The app on the seeded database, made once, in this process."""
        if self._app is None:
            os.environ.update(self.city.env)
            from permits import create_app

            self._app = create_app()
        return self._app

    def pages(self) -> None:
        app = self.app
        # The busiest queue (every vehicle pass's last step) and a district's first step.
        transport = logged_in(app, f"transport.city.0@{seed.SEED_DOMAIN}", seed.SEED_PASSWORD)
        self.page("approver queue, first page (city transport)", transport, "/review/")
        self.page(
            "approver queue, filtered (medical cargo, overdue)",
            transport,
            "/review/?cargo_category=medical&overdue=1",
        )
        waiting = self.sql(
            "SELECT step_due_at, id FROM applications WHERE status = 'in_review'"
            " AND current_department_code = 'transport' AND current_scope = 'city'"
            " ORDER BY step_due_at, id"
        )
        deep = waiting[len(waiting) * 3 // 4]
        self.page(
            f"approver queue, deep page (after {len(waiting) * 3 // 4:,} of {len(waiting):,})",
            transport,
            f"/review/?after={cursor(deep[0], deep[1])}",
        )
        district = self.sql(
            "SELECT current_scope, count(*) FROM applications WHERE status = 'in_review'"
            " AND current_department_code = 'commerce' AND current_scope <> 'city'"
            " GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        )[0][0]
        commerce = logged_in(app, f"commerce.{district}.0@{seed.SEED_DOMAIN}", seed.SEED_PASSWORD)
        self.page(f"approver queue, first page (commerce {district})", commerce, "/review/")
        plate, uscc = self.sql(
            "SELECT a.plate, e.uscc FROM applications a"
            " JOIN enterprises e ON e.id = a.enterprise_id"
            " WHERE a.status = 'in_review' AND a.current_department_code = 'transport'"
            " AND a.current_scope = 'city' ORDER BY a.id DESC LIMIT 1"
        )[0]
        self.page("search by plate (city transport queue)", transport, f"/review/?q={plate}")
        self.page("search by USCC (city transport queue)", transport, f"/review/?q={uscc}")
        fleet, user_email, count = self.sql(
            "SELECT e.id, u.email, count(*) FROM applications a"
            " JOIN enterprises e ON e.id = a.enterprise_id JOIN users u ON u.enterprise_id = e.id"
            " WHERE u.email LIKE 'staff%' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1"
        )[0]
        staff = logged_in(app, user_email, seed.SEED_PASSWORD)
        self.page(
            f"enterprise's list, first page ({count:,} applications)", staff, "/applications/"
        )
        middle = self.sql(
            "SELECT id FROM applications WHERE enterprise_id = :e"
            " ORDER BY id DESC OFFSET :n LIMIT 1",
            e=fleet,
            n=count // 2,
        )[0][0]
        self.page("enterprise's list, deep page", staff, f"/applications/?before={middle}")
        from permits.services.demo import DEMO_DOMAIN, DEMO_PASSWORD

        supervisor = logged_in(app, f"supervisor@{DEMO_DOMAIN}", DEMO_PASSWORD)
        # What a supervisor gets: the figures from the snapshot the timer refreshes every minute
        # (`flask supervision refresh`; here just before); the refresh is timed on its own.
        self.refresh_snapshot()
        self.page(
            "supervision dashboard (whole page, fresh snapshot)",
            supervisor,
            "/admin/dashboard",
            GOAL_DASHBOARD_MS,
        )
        self.refresh_snapshot()
        self.page(
            "`GET /api/v1/stats` (fresh snapshot)", supervisor, "/api/v1/stats", GOAL_DASHBOARD_MS
        )

    def refresh_snapshot(self) -> None:
        from zoneinfo import ZoneInfo

        from permits.models import utcnow
        from permits.services.supervision import snapshot

        with self.app.app_context():
            snapshot.refresh(utcnow(), zone=ZoneInfo(self.app.config["TIMEZONE"]))

    def decisions_in_process(self, count: int) -> tuple[float, float]:
        """Median and p95 ms of an approval that issues a pass, one after another."""
        client = logged_in(self.app, f"economy.city.0@{seed.SEED_DOMAIN}", seed.SEED_PASSWORD)
        page = client.get("/review/").get_data(as_text=True)
        token = CSRF_META.search(page)
        assert token is not None
        ids = [
            row[0]
            for row in self.sql(
                "SELECT id FROM applications WHERE status = 'in_review' AND current_step = 2"
                " AND current_department_code = 'economy' AND current_scope = 'city'"
                " ORDER BY id LIMIT :n",
                n=count,
            )
        ]
        times = []
        for ident in ids:
            start = time.perf_counter()
            response = client.post(
                f"/review/{ident}/decision",
                data={"decision": "approve", "comment": "", "csrf_token": token.group(1)},
            )
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 302, response.status_code
        issued = self.sql("SELECT count(*) FROM passes WHERE application_id = ANY(:ids)", ids=ids)[
            0
        ][0]
        assert issued == len(ids), f"{issued} passes for {len(ids)} approvals"
        return statistics.median(times), percentile(times, 0.95)

    def decisions_under_load(
        self, approvers: int, count: int, workers: int, threads: int
    ) -> dict[str, Any]:
        """Concurrent approvers against gunicorn, each working through the queue; one application
        in RACED is sent to two of them at once, as when colleagues open the same one."""
        emails = [
            f"transport.city.{k % seed.APPROVERS_PER_DEPARTMENT}@{seed.SEED_DOMAIN}"
            for k in range(approvers)
        ]  # more sessions than approvers: colleagues with two windows open
        tokens = [
            seed.flask(self.city.env, "users", "token", email).strip().splitlines()[-1]
            for email in emails
        ]
        ids = [
            row[0]
            for row in self.sql(
                "SELECT id FROM applications WHERE status = 'in_review' AND current_step = 2"
                " AND current_department_code = 'transport' AND current_scope = 'city'"
                " ORDER BY random() LIMIT :n",
                n=count,
            )
        ]
        rng = random.Random(8)
        work: list[list[int]] = [[] for _ in tokens]
        for ident in ids:
            for k in rng.sample(range(len(tokens)), 2 if rng.random() < 1 / RACED else 1):
                work[k].append(ident)
        for queue in work:
            rng.shuffle(queue)
        port = free_port()
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--bind",
                f"127.0.0.1:{port}",
                "--preload",  # the app is imported once, before the workers start
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=self.app_dir,
            env=self.city.env,
        )
        outcomes: Counter[int] = Counter()
        refusals: Counter[str] = Counter()
        answers: dict[int, list[tuple[int, str]]] = {}
        latencies: list[float] = []
        lock = threading.Lock()

        def approve(bearer: str, queue: list[int]) -> None:
            # http.client, one connection object per approver: far less client CPU per request
            # than urllib.request (the generator shares the server's two cores). gunicorn's sync
            # workers close each connection after the response; it reopens on the next request.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
            body = b'{"decision": "approve"}'
            for ident in queue:
                start = time.perf_counter()
                connection.request("POST", f"/api/v1/applications/{ident}/decisions", body, headers)
                response = connection.getresponse()
                answer = response.read()
                elapsed = (time.perf_counter() - start) * 1000
                status = response.status
                code = "" if status == 201 else json.loads(answer).get("error", "?")
                with lock:
                    outcomes[status] += 1
                    answers.setdefault(ident, []).append((status, code))
                    if status == 201:
                        latencies.append(elapsed)
                    else:
                        refusals[code] += 1
            connection.close()

        try:
            wait_for(port)
            # warm up every worker (keys, connections) with reads
            for _ in range(workers * threads * 2):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=10).read()
            runners = [
                threading.Thread(target=approve, args=(bearer, queue))
                for bearer, queue in zip(tokens, work, strict=True)
            ]
            workers_cpu, database_cpu = self.cpu_seconds(children(server.pid))
            start, cpu = time.perf_counter(), time.process_time()
            for runner in runners:
                runner.start()
            for runner in runners:
                runner.join()
            elapsed = time.perf_counter() - start
            generator_cpu = time.process_time() - cpu
            after = self.cpu_seconds(children(server.pid))
            workers_cpu, database_cpu = after[0] - workers_cpu, after[1] - database_cpu
            rss = [worker_rss_mb(pid) for pid in children(server.pid)]
        finally:
            server.terminate()
            server.wait(timeout=20)
        raced = [sorted(pair) for pair in answers.values() if len(pair) == 2]
        # A race ends in one 201 and one "already decided" 409, or in two 409s when the plate or
        # a driver already holds a pass for those days (seeded data); never in two 201s.
        races_ok = all(
            pair == [(201, ""), (409, "already_decided")] or [s for s, _ in pair] == [409, 409]
            for pair in raced
        )
        decided = self.sql(
            "SELECT count(*), count(DISTINCT application_id) FROM decisions"
            " WHERE application_id = ANY(:ids) AND step = 2",
            ids=ids,
        )[0]
        approved = self.sql(
            "SELECT count(*) FROM applications WHERE id = ANY(:ids) AND status = 'approved'",
            ids=ids,
        )[0][0]
        issued = self.sql("SELECT count(*) FROM passes WHERE application_id = ANY(:ids)", ids=ids)[
            0
        ][0]
        return {
            "applications": len(ids),
            "requests": sum(outcomes.values()),
            "outcomes": dict(outcomes),
            "seconds": elapsed,
            "rate": outcomes[201] / elapsed,
            "median_ms": statistics.median(latencies) if latencies else float("nan"),
            "p95_ms": percentile(latencies, 0.95) if latencies else float("nan"),
            "decisions": decided[0],
            "decided_applications": decided[1],
            "approved": approved,
            "passes": issued,
            "rss_mb": rss,
            "refusals": dict(refusals),
            "races": len(raced),
            "races_won": sum(pair[0][0] == 201 for pair in raced),
            "races_ok": races_ok,
            "generator_cpu_s": generator_cpu,
            "workers_cpu_s": workers_cpu,
            "database_cpu_s": database_cpu,
            "approvers": approvers,
            "workers": workers,
            "threads": threads,
        }

    def cpu_seconds(self, workers: list[int]) -> tuple[float, float]:
        """CPU time so far of the gunicorn workers and of the database server's backends for this
        database (the same machine): what a decision costs whatever else runs on the cores."""
        backends = database_backends(self.engine)
        return sum(map(process_cpu_seconds, workers)), sum(map(process_cpu_seconds, backends))

    def statistics_service(self) -> tuple[float, float]:
        """Median and p95 ms of a full refresh of the dashboard's figures (snapshot.refresh:
        every figure recomputed from the tables and stored as the snapshot), what the timer
        runs every minute and what the first request after the snapshot's max age waits for."""
        from zoneinfo import ZoneInfo

        from permits.models import utcnow
        from permits.services.supervision import snapshot

        def refresh() -> None:
            assert snapshot.refresh(utcnow(), zone=zone) is not None

        with self.app.app_context():
            zone = ZoneInfo(self.app.config["TIMEZONE"])
            times = timed(refresh, max(5, self.repeat // 10))
        return statistics.median(times), percentile(times, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=seed.DEFAULT_SERVER, help="a PostgreSQL server URL")
    parser.add_argument("--scale", type=float, default=1.0, help="of the seeded city (1.0: full)")
    parser.add_argument("--seeded", help="use this seeded database (seed.py --keep) as it is")
    parser.add_argument("--work", type=Path, help="the seeded database's folder (with --seeded)")
    parser.add_argument("--repeat", type=int, default=200, help="requests per page")
    parser.add_argument("--decisions", type=int, default=1000, help="applications under load")
    # Each approver waits for its answer before the next decision: 4 of them kept the cores about
    # three quarters busy (their rate was bounded by 4 / latency), so the load is 8 (see notes).
    parser.add_argument("--approvers", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--app-dir",
        type=Path,
        default=ROOT,
        help="serve the app from this tree (e.g. an older version from git archive) under load",
    )
    parser.add_argument(
        "--decisions-only",
        action="store_true",
        help="time only the decisions (in process and under load), not the pages",
    )
    args = parser.parse_args()

    if args.seeded:
        if args.work is None:
            parser.error("--seeded needs --work (the folder with its keys)")
        city = seed.City(
            args.database, "", args.seeded, args.work, seed.app_env(args.seeded, args.work)
        )
        seed.flask(city.env, "db", "upgrade")  # seeded by an older version, maybe
        seeded_note = "a database seeded before"
    else:
        city = seed.seed(args.database, args.scale)
        seeded_note = f"seeded in {city.seconds:.0f} s by seed.py"
    try:
        counts = {
            table: seed_count(city, table)
            for table in ("enterprises", "applications", "decisions", "passes", "scan_events")
        }
        bench = Bench(city, args.repeat)
        bench.app_dir = args.app_dir
        stats = (float("nan"), float("nan"))
        if not args.decisions_only:
            bench.pages()
            stats = bench.statistics_service()
        single = bench.decisions_in_process(min(200, args.decisions // 5))
        load = bench.decisions_under_load(
            args.approvers, args.decisions, args.workers, args.threads
        )
    finally:
        if not args.seeded:
            city.drop()
    report(args, counts, seeded_note, bench, stats, single, load)


def seed_count(city: seed.City, table: str) -> int:
    engine = sa.create_engine(city.database)
    with engine.connect() as conn:
        value = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(value)


def met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(
    args: argparse.Namespace,
    counts: dict[str, int],
    seeded_note: str,
    bench: Bench,
    stats: tuple[float, float],
    single: tuple[float, float],
    load: dict[str, Any],
) -> None:
    scale = "given database" if args.seeded else f"scale {args.scale}"
    print(
        f"PostgreSQL, {scale}: "
        + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items())
        + f" ({seeded_note}). Pages in process, {args.repeat} requests each, logged in.\n"
    )
    print("| what | median ms | p95 ms | goal |")
    print("|---|---:|---:|---|")
    for label, _path, median, p95, goal in bench.rows:
        print(f"| {label} | {median:.1f} | {p95:.1f} | {goal} |")
    if not args.decisions_only:
        print(
            f"| dashboard statistics, full refresh (`flask supervision refresh`, every minute in"
            f" the background) | {stats[0]:.1f} | {stats[1]:.1f} | no page waits for it (timer) |"
        )
    print(
        f"| approve the last step, pass issued (in process, one approver) | {single[0]:.1f} |"
        f" {single[1]:.1f} | median < {GOAL_DECISION_MS} ms: {met(single[0] < GOAL_DECISION_MS)} |"
    )
    outcomes = ", ".join(f"{n} × {code}" for code, n in sorted(load["outcomes"].items()))
    lost_or_doubled = (
        load["decisions"] != load["outcomes"].get(201, 0)
        or load["decisions"] != load["decided_applications"]
        or load["approved"] != load["decisions"]
        or load["passes"] != load["decisions"]
    )
    refusals = ", ".join(f"{n} × {code}" for code, n in sorted(load["refusals"].items()))
    print(
        f"\nUnder load: gunicorn {load['workers']} workers × {load['threads']} threads,"
        f" {load['approvers']} approvers of the city's transport department in threads over HTTP"
        f" (API tokens), {load['applications']:,} applications, one in {RACED} sent to two"
        f" approvers at once ({load['requests']:,} requests: {outcomes}; refusals: {refusals})."
        f" The load generator used {load['generator_cpu_s']:.1f} s of CPU.\n"
    )
    print("| what | figure | goal |")
    print("|---|---:|---|")
    print(
        f"| decisions per second, sustained | {load['rate']:.0f} ({load['seconds']:.1f} s) |"
        f" ≥ {GOAL_RATE}: {met(load['rate'] >= GOAL_RATE)} |"
    )
    decided = max(1, load["outcomes"].get(201, 0))
    print(
        f"| CPU per decision: gunicorn workers + PostgreSQL backends, ms |"
        f" {load['workers_cpu_s'] / decided * 1000:.1f} +"
        f" {load['database_cpu_s'] / decided * 1000:.1f} | |"
    )
    busy = (load["workers_cpu_s"] + load["database_cpu_s"] + load["generator_cpu_s"]) / load[
        "seconds"
    ]
    print(
        f"| cores busy during the load (workers, PostgreSQL, load generator), of"
        f" {os.cpu_count()} | {busy:.2f} | |"
    )
    print(
        f"| decision latency over HTTP, median / p95 ms | {load['median_ms']:.1f} /"
        f" {load['p95_ms']:.1f} | |"
    )
    print(
        f"| decisions stored / applications approved / passes issued | {load['decisions']:,} /"
        f" {load['approved']:,} / {load['passes']:,} | none lost or doubled:"
        f" {met(not lost_or_doubled)} |"
    )
    print(
        f"| races: won (one 201, one 409) / both refused / all races | {load['races_won']} /"
        f" {load['races'] - load['races_won']} / {load['races']} | never two 201s:"
        f" {met(load['races_ok'])} |"
    )
    rss = max(load["rss_mb"]) if load["rss_mb"] else float("nan")
    print(
        f"| gunicorn worker RSS after the load (VmRSS, largest of {len(load['rss_mb'])}) |"
        f" {rss:.0f} MB | < {GOAL_RSS_MB} MB: {met(rss < GOAL_RSS_MB)} |"
    )


if __name__ == "__main__":
    main()
