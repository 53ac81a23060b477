"""Fill a PostgreSQL database with a city's worth of data, fast: the demo city (migrations, its
departments, approvers, checkpoints and keys), then by COPY 50,000 enterprises with a user each,
1,000,000 applications in every state, kind and district (with their workflow, step columns,
decisions and drivers), 300,000 passes (real numbers, control codes and signed tokens) and
5,000,000 scan events; then VACUUM and ANALYZE.

    .venv/bin/python bench/seed.py [--database postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                   [--scale 1.0] [--keep] [--work DIR]

The database (permits_seed_…) is created on that server and dropped at the end unless --keep is
given; then its URL and the folder of its keys are printed, for bench_scale.py --seeded.
Every seeded enterprise user and approver has the password SEED_PASSWORD.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_start
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SEED_PASSWORD = "seed-city-2022"
SEED_DOMAIN = "seed.permits.example"

#: Full size (scale 1.0).
SIZES = {
    "enterprises": 50_000,
    "applications": 1_000_000,
    "passes": 300_000,
    "scan_events": 5_000_000,
}
#: Extra approvers per department (the demo made one), extra checkpoints (the demo made four).
APPROVERS_PER_DEPARTMENT = 4
CHECKPOINTS = 96
#: Enterprises with big fleets: they send this share of all applications.
BIG_FLEETS, BIG_FLEET_SHARE = 50, 0.05
#: How the applications that are not approved (one pass each) divide among the other states.
OTHER_STATES = {
    "in_review": 0.35,
    "draft": 0.20,
    "returned": 0.10,
    "rejected": 0.25,
    "withdrawn": 0.10,
}
BATCH = 50_000
ZONE = ZoneInfo("Asia/Shanghai")

CARGO_DEPARTMENT = {
    "medical": "health",
    "daily_necessities": "commerce",
    "foreign_trade": "commerce",
    "postal": "postal",
    "agriculture": "agriculture",
    "energy": "development_reform",
    "reserves": "development_reform",
    "raw_materials": "economy",
    "industrial": "economy",
}
VEHICLE_TYPES = ("heavy_truck", "light_truck", "van", "refrigerated_truck", "tanker", "car", "bus")
REASONS = ("not_key_supply", "incomplete_documents", "vehicle_or_driver_ineligible", "duplicate")
DESTINATIONS = ("320583", "330106", "340104", "320205", "330205", "320506", "330402")
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
GIVEN = ("建国", "丽华", "强", "伟", "敏", "军", "洁", "海", "明", "立", "刚", "静", "磊", "芳")
TRADES = ("冷链物流", "医疗器械", "农产品配送", "汽车零部件", "食品", "快递", "能源", "电子")


def conninfo(url: str) -> str:
    """A libpq URL for psycopg from a SQLAlchemy one."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


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


def app_env(database: str, work: Path) -> dict[str, str]:
    """The environment every process of a benchmark on this database runs with."""
    return {
        **os.environ,
        "PERMITS_SECRET_KEY": "seed-" + "k" * 48,
        "PERMITS_DATABASE_URL": database,
        "PERMITS_KEYS_DIR": str(work / "keys"),
        "PERMITS_UPLOAD_DIR": str(work / "uploads"),
        "PERMITS_RATELIMIT_ENABLED": "false",
    }


@dataclass
class City:
    """A seeded database: where it is, how to run the app on it, and what went in."""

    server: str
    name: str
    database: str
    work: Path
    env: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def drop(self) -> None:
        engine = sa.create_engine(self.server, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        engine.dispose()
        shutil.rmtree(self.work, ignore_errors=True)


def create_city(server: str, work: Path | None = None) -> City:
    """A new empty database on the server, migrated and holding the demo city."""
    name = f"permits_seed_{secrets.token_hex(3)}"
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    database = make_url(server).set(database=name).render_as_string(hide_password=False)
    work = work or Path(tempfile.mkdtemp(prefix="permits-seed-"))
    work.mkdir(parents=True, exist_ok=True)
    city = City(server, name, database, work, app_env(database, work))
    flask(city.env, "db", "upgrade")
    flask(city.env, "demo")
    return city


# --- what the demo city holds ----------------------------------------------------------


@dataclass
class Reference:
    departments: dict[tuple[str, str], int]
    workflows: dict[str, tuple[int, list[int]]]  # kind → (id, sla hours per step)
    districts: list[str]
    counters: dict[str, int]
    next_ids: dict[str, int]


def read_reference(conn: psycopg.Connection[Any]) -> Reference:
    departments = {
        (code, scope): ident
        for ident, code, scope in conn.execute("SELECT id, code, scope FROM departments")
    }
    workflows: dict[str, tuple[int, list[int]]] = {}
    for kind, ident in conn.execute("SELECT kind, id FROM workflows WHERE is_current"):
        slas = [
            row[0]
            for row in conn.execute(
                "SELECT sla_hours FROM workflow_steps WHERE workflow_id = %s ORDER BY position",
                (ident,),
            )
        ]
        workflows[kind] = (ident, slas)
    districts = sorted({scope for _code, scope in departments if scope != "city"})
    counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
    next_ids = {}
    for table in (
        "enterprises",
        "users",
        "checkpoints",
        "applications",
        "decisions",
        "drivers",
        "passes",
        "scan_events",
    ):
        next_ids[table] = int(
            conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]
        )  # type: ignore[index]
    return Reference(departments, workflows, districts, counters, next_ids)


# --- bulk loading ------------------------------------------------------------------------


def copy(
    conn: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    n = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out:
        for row in rows:
            out.write_row(row)
            n += 1
    return n


BIG_TABLES = (
    "applications",
    "decisions",
    "drivers",
    "passes",
    "scan_events",
    "users",
    "enterprises",
)


def drop_plain_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Drops the indexes that back no constraint on the big tables (rebuilt after the load:
    one sort per index is much faster than a million insertions); returns their definitions."""
    rows = conn.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        (list(BIG_TABLES),),
    ).fetchall()
    for name, _definition in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in rows]


# --- the rows ----------------------------------------------------------------------------


def uscc(district: str, serial: int) -> str:
    from permits.validators import uscc_check_character

    first17 = f"91{district}MA{serial:07d}"
    return first17 + uscc_check_character(first17)


def id_number(rng: random.Random, district: str) -> str:
    from permits.validators import id_number_check_character

    born = date(1960, 1, 1) + timedelta(days=rng.randrange(14_000))
    first17 = f"{district}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + id_number_check_character(first17)


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def mobile(rng: random.Random) -> str:
    return f"13{rng.randrange(10**9):09d}"


def window(valid_from: date, valid_until: date) -> tuple[datetime, datetime]:
    """As permits.services.issuance.window: midnight to midnight in the service's zone."""
    start = datetime.combine(valid_from, day_start.min, tzinfo=ZONE)
    end = datetime.combine(valid_until + timedelta(days=1), day_start.min, tzinfo=ZONE)
    return start, end


_SIGNER: Any = None


def _sign(claims: Any) -> str:
    from permits.passes import token

    return token.sign(claims, _SIGNER.private_key, _SIGNER.kid)


@dataclass
class Enterprise:
    id: int
    district: str
    name: str
    uscc: str
    user_id: int


@dataclass
class IssuedPass:
    id: int
    not_before: float
    expires: float
    revoked_at: float | None


class Seeder:
    def __init__(self, city: City, scale: float, seed: int) -> None:
        self.city = city
        self.scale = scale
        self.rng = random.Random(seed)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.sizes = {k: max(1, round(v * scale)) for k, v in SIZES.items()}
        self.sizes["passes"] = min(self.sizes["passes"], self.sizes["applications"])
        self.counts: dict[str, int] = {}
        self.issued: list[IssuedPass] = []

    def run(self) -> dict[str, int]:
        os.environ.update(self.city.env)
        from permits import create_app
        from permits.services import issuance, passwords

        app = create_app()
        with app.app_context():
            global _SIGNER
            self.password_hash = passwords.hash_password(SEED_PASSWORD)
            self.issuer = issuance.issuer()
            _SIGNER = issuance.key_store().signer_for(self.now + timedelta(days=60), self.now)
        self.kid = _SIGNER.kid_hex
        with (
            multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as self.pool,
            psycopg.connect(conninfo(self.city.database)) as conn,
        ):
            self.ref = read_reference(conn)
            try:  # foreign keys are not checked row by row (the rows are made consistent)
                conn.execute("SET session_replication_role = replica")
            except psycopg.Error:
                conn.rollback()
            indexes = drop_plain_indexes(conn)
            self._organisation(conn)
            self._applications(conn)
            self._scans(conn)
            self._counters(conn)
            for definition in indexes:
                conn.execute(definition)
            conn.commit()
        with psycopg.connect(conninfo(self.city.database), autocommit=True) as conn:
            # VACUUM too: it sets the visibility map, so counts can be index-only scans, as in a
            # database that autovacuum has visited (a freshly copied table has no map yet).
            conn.execute("VACUUM (ANALYZE)")
        return self.counts

    # organisation: enterprises with one user each, more approvers and checkpoints
    def _organisation(self, conn: psycopg.Connection[Any]) -> None:
        rng, ref, now = self.rng, self.ref, self.now
        first_e, first_u = ref.next_ids["enterprises"], ref.next_ids["users"]
        self.enterprises = [
            Enterprise(
                id=first_e + i,
                district=(district := rng.choice(ref.districts)),
                name=f"上海{rng.choice(TRADES)}{i:05d}号有限公司",
                uscc=uscc(district, i),
                user_id=first_u + i,
            )
            for i in range(self.sizes["enterprises"])
        ]
        self.counts["enterprises"] = copy(
            conn,
            "enterprises",
            (
                "id",
                "uscc",
                "name",
                "district",
                "address",
                "contact_name",
                "contact_phone",
                "email",
                "created_at",
            ),
            (
                (
                    e.id,
                    e.uscc,
                    e.name,
                    e.district,
                    f"{e.district}区某路{e.id % 3000}号",
                    person(rng),
                    mobile(rng),
                    f"staff{e.id}@{SEED_DOMAIN}",
                    now - timedelta(days=90),
                )
                for e in self.enterprises
            ),
        )
        user_columns = (
            "id", "email", "name", "password_hash", "role", "enterprise_id", "department_id",
            "checkpoint_id", "is_active", "session_nonce", "must_change_password", "created_at",
        )  # fmt: skip

        def user(
            ident: int,
            email: str,
            role: str,
            enterprise: int | None = None,
            department: int | None = None,
            checkpoint: int | None = None,
        ) -> tuple[Any, ...]:
            return (
                ident,
                email,
                person(rng),
                self.password_hash,
                role,
                enterprise,
                department,
                checkpoint,
                True,
                secrets.token_hex(16),
                False,
                now - timedelta(days=90),
            )

        users = [
            user(e.user_id, f"staff{e.id}@{SEED_DOMAIN}", "enterprise", enterprise=e.id)
            for e in self.enterprises
        ]
        next_user = first_u + len(users)
        self.approvers: dict[tuple[str, str], list[int]] = {}
        for (code, scope), department in sorted(ref.departments.items()):
            for k in range(APPROVERS_PER_DEPARTMENT):
                users.append(
                    user(
                        next_user,
                        f"{code}.{scope}.{k}@{SEED_DOMAIN}",
                        "approver",
                        department=department,
                    )
                )
                self.approvers.setdefault((code, scope), []).append(next_user)
                next_user += 1
        first_c = ref.next_ids["checkpoints"]
        checkpoints = [
            (
                first_c + i,
                f"SEED-CP-{i:03d}",
                f"检查站 {i:03d}",
                ref.districts[i % len(ref.districts)],
                True,
                now,
            )
            for i in range(CHECKPOINTS)
        ]
        copy(
            conn,
            "checkpoints",
            ("id", "code", "name", "district", "is_active", "created_at"),
            checkpoints,
        )
        self.checkpoint_users: list[tuple[int, int]] = []
        for ident, code, *_rest in checkpoints:
            users.append(
                user(next_user, f"{code.lower()}@{SEED_DOMAIN}", "checkpoint", checkpoint=ident)
            )
            self.checkpoint_users.append((ident, next_user))
            next_user += 1
        self.counts["users"] = copy(conn, "users", user_columns, users)

    def _statuses(self) -> list[tuple[int, str]]:
        """Each application's age in seconds and state, oldest first: ids grow with time, as
        they do in a live database (in review: the last 4 days; approved: the last 40)."""
        n, approved = self.sizes["applications"], self.sizes["passes"]
        statuses = ["approved"] * approved
        rest = n - approved
        for status, share in OTHER_STATES.items():
            statuses += [status] * round(rest * share)
        statuses = (statuses + ["in_review"] * n)[:n]
        days = {"approved": 40, "in_review": 4}
        aged = [(self.rng.randrange(days.get(s, 60) * 86400), s) for s in statuses]
        aged.sort(reverse=True)
        return aged

    def _applications(self, conn: psycopg.Connection[Any]) -> None:
        statuses = self._statuses()
        self.next = {
            t: self.ref.next_ids[t] for t in ("applications", "decisions", "drivers", "passes")
        }
        self.serials = {d: self.ref.counters.get(f"pass:{d}", 0) for d in self.ref.districts}
        self.revocations = self.ref.counters.get("revocations", 0)
        self.control_codes = {row[0] for row in conn.execute("SELECT control_code FROM passes")}
        for key in ("applications", "decisions", "drivers", "passes"):
            self.counts[key] = 0
        for start in range(0, len(statuses), BATCH):
            self._batch(conn, statuses[start : start + BATCH])

    def _approver(self, code: str, scope: str) -> tuple[int, int]:
        return self.rng.choice(self.approvers[(code, scope)]), self.ref.departments[(code, scope)]

    def _batch(self, conn: psycopg.Connection[Any], statuses: list[tuple[int, str]]) -> None:
        from permits.passes import codes, token

        rng, now, ref = self.rng, self.now, self.ref
        apps: list[tuple[Any, ...]] = []
        decisions: list[tuple[Any, ...]] = []
        drivers: list[tuple[Any, ...]] = []
        passes: list[list[Any]] = []
        claims: list[token.PassClaims] = []
        big = self.enterprises[:BIG_FLEETS]
        for age, status in statuses:
            ident = self.next["applications"]
            self.next["applications"] += 1
            e = rng.choice(big) if rng.random() < BIG_FLEET_SHARE else rng.choice(self.enterprises)
            is_vehicle = rng.random() < 0.7
            kind = "vehicle_pass" if is_vehicle else "work_resumption"
            workflow_id, slas = ref.workflows[kind]
            created = now - timedelta(seconds=age)
            submitted = created + timedelta(minutes=rng.randrange(1, 120))
            district = e.district
            cargo = rng.choice(tuple(CARGO_DEPARTMENT)) if is_vehicle else None
            signers = [
                (CARGO_DEPARTMENT[cargo] if cargo else "economy", district),
                ("transport" if is_vehicle else "economy", "city"),
            ]
            valid_from = (submitted + timedelta(days=1)).astimezone(ZONE).date()
            valid_until = valid_from + timedelta(days=rng.randrange(6, 30))
            plate = (
                f"沪{rng.choice(PLATE_LETTERS)}{rng.randrange(100000):05d}" if is_vehicle else None
            )
            app_drivers = []
            if is_vehicle:
                for position in range(1, rng.choice((2, 2, 3))):
                    app_drivers.append(
                        (
                            self.next["drivers"],
                            ident,
                            position,
                            person(rng),
                            id_number(rng, district),
                            mobile(rng),
                        )
                    )
                    self.next["drivers"] += 1
                drivers += app_drivers
            round_ = 0 if status == "draft" or (status == "withdrawn" and rng.random() < 0.5) else 1
            step = None
            current: tuple[str, str] | None = None
            entered = due = closed = None
            moment = submitted

            def decision(  # called only within this application's iteration
                action: str,
                at_step: int | None,
                actor: int,
                department: int | None,
                reason: str | None = None,
                comment: str = "",
            ) -> None:
                at = min(moment, now)  # noqa: B023
                decisions.append(
                    (
                        self.next["decisions"],
                        ident,  # noqa: B023
                        round_,  # noqa: B023
                        at_step,
                        action,
                        actor,
                        department,
                        reason,
                        comment,
                        at,
                    )
                )
                self.next["decisions"] += 1

            if round_:
                decision("submit", None, e.user_id, None)
            steps_done = 0
            if status == "in_review":
                step = rng.choice((1, 2))
                steps_done = step - 1
            elif status == "approved":
                steps_done = 2
            elif status in ("returned", "rejected") or (status == "withdrawn" and round_):
                steps_done = rng.choice((0, 1))
            for s in range(steps_done):
                moment = moment + timedelta(hours=rng.uniform(0.2, slas[s] * 1.2))
                decision("approve", s + 1, *self._approver(*signers[s]))
            if status == "in_review":
                assert step is not None
                current = signers[step - 1]
                entered = moment if step == 2 else submitted
                entered = min(entered, now - timedelta(minutes=1))
                due = entered + timedelta(hours=slas[step - 1])
            elif status in ("returned", "rejected"):
                moment += timedelta(hours=rng.uniform(0.2, 20))
                actor, department = self._approver(*signers[steps_done])
                if status == "returned":
                    decision("return", steps_done + 1, actor, department, comment="请补充材料。")
                else:
                    decision(
                        "reject",
                        steps_done + 1,
                        actor,
                        department,
                        rng.choice(REASONS),
                        "不符合条件。",
                    )
                    closed = moment
            elif status == "withdrawn":
                moment += timedelta(hours=rng.uniform(0.1, 5))
                decision("withdraw", None, e.user_id, None)
                closed = moment
            elif status == "approved":
                closed = min(moment, now)
            apps.append((
                ident, kind, e.id, e.user_id, status, workflow_id if round_ else None, round_,
                step, current[0] if current else None, current[1] if current else None,
                entered, due, 0, district, person(rng), mobile(rng), valid_from, valid_until,
                None if is_vehicle else f"{district}区某路{ident % 5000}号",
                None if is_vehicle else rng.randrange(5, 300),
                None if is_vehicle else rng.random() < 0.8,
                plate, rng.choice(VEHICLE_TYPES) if is_vehicle else None,
                district if is_vehicle else None, rng.choice(DESTINATIONS) if is_vehicle else None,
                cargo, created, closed or moment if round_ else created,
                submitted if round_ else None, closed,
            ))  # fmt: skip
            if status != "approved":
                continue
            assert closed is not None
            self.serials[district] += 1
            serial = self.serials[district]
            number = f"{district}{serial:06d}"
            while (code := codes.new_control_code()) in self.control_codes:
                pass
            self.control_codes.add(code)
            not_before, expires = window(valid_from, valid_until)
            revoked = rng.random() < 0.03
            revoked_at = closed + timedelta(days=rng.uniform(0.1, 5)) if revoked else None
            if revoked_at is not None and revoked_at > now:
                revoked_at = now - timedelta(minutes=5)
            seq = None
            if revoked:
                self.revocations += 1
                seq = self.revocations
            pass_id = self.next["passes"]
            self.next["passes"] += 1
            passes.append([
                pass_id, ident, number, district, serial, code, kind, e.id, plate, valid_from,
                valid_until, not_before, expires, "revoked" if revoked else "active", self.kid,
                None, closed, revoked_at, None, "违规使用" if revoked else None, seq,
            ])  # fmt: skip
            self.issued.append(
                IssuedPass(
                    pass_id,
                    not_before.timestamp(),
                    expires.timestamp(),
                    revoked_at.timestamp() if revoked_at else None,
                )
            )
            common = {
                "issuer": self.issuer,
                "issued_at": int(closed.timestamp()),
                "not_before": int(not_before.timestamp()),
                "expires": int(expires.timestamp()),
                "number": number,
                "control_code": code,
                "enterprise": e.name,
                "uscc": e.uscc,
            }
            if is_vehicle:
                claims.append(token.PassClaims(
                    kind="VP", plate=plate, origin=district, destination=apps[-1][24], cargo=cargo,
                    drivers=tuple((d[3], d[4][-4:]) for d in app_drivers), **common,  # type: ignore[arg-type]
                ))  # fmt: skip
            else:
                claims.append(token.PassClaims(
                    kind="WR", site=apps[-1][18], district=district, staff=apps[-1][19], **common,  # type: ignore[arg-type]
                ))  # fmt: skip
        for row, signed in zip(passes, self.pool.map(_sign, claims, chunksize=500), strict=True):
            row[15] = signed
        self.counts["applications"] += copy(conn, "applications", APPLICATION_COLUMNS, apps)
        self.counts["decisions"] += copy(conn, "decisions", DECISION_COLUMNS, decisions)
        self.counts["drivers"] += copy(conn, "drivers", DRIVER_COLUMNS, drivers)
        self.counts["passes"] += copy(conn, "passes", PASS_COLUMNS, passes)

    def _scans(self, conn: psycopg.Connection[Any]) -> None:
        self.counts["scan_events"] = copy(conn, "scan_events", SCAN_COLUMNS, self._scan_rows())

    def _scan_rows(self) -> Iterator[tuple[Any, ...]]:
        """Scans over the last 30 days in time order, as an append-only log is stored (so the
        recent ones sit together at the end of the table): hour by hour, mostly of passes
        valid that day, some of passes outside their validity, a few unreadable codes."""
        rng, now = self.rng, self.now.timestamp()
        issued, checkpoints = self.issued, self.checkpoint_users
        days, total = 30, self.sizes["scan_events"]
        ident = self.ref.next_ids["scan_events"]
        methods = ("qr",) * 18 + ("code", "plate")
        made = 0
        for day in range(days):
            day_start = now - (days - day) * 86400
            valid = [
                p for p in issued if p.not_before < day_start + 86400 and p.expires > day_start
            ]
            for hour in range(24):
                hour_start = day_start + hour * 3600
                target = total * (day * 24 + hour + 1) // (days * 24)
                rows = []
                for _ in range(target - made):
                    checkpoint, user = rng.choice(checkpoints)
                    at = hour_start + rng.random() * 3600
                    if not issued or rng.random() < 0.005:
                        rows.append((at, None, checkpoint, user, "bad_signature", "qr", None))
                        continue
                    p = rng.choice(valid) if valid and rng.random() < 0.95 else rng.choice(issued)
                    if at >= p.expires:
                        result = "expired"
                    elif at < p.not_before:
                        result = "not_yet_valid"
                    elif p.revoked_at is not None and at >= p.revoked_at:
                        result = "revoked"
                    else:
                        result = "valid"
                    anomaly = "frequency" if rng.random() < 0.001 else None
                    rows.append((at, p.id, checkpoint, user, result, rng.choice(methods), anomaly))
                made = target
                rows.sort(key=lambda row: row[0])
                for at, pass_id, checkpoint, user, result, method, anomaly in rows:
                    offline = rng.random() < 0.02
                    moment = datetime.fromtimestamp(at, UTC)
                    yield (
                        ident,
                        pass_id,
                        checkpoint,
                        user,
                        moment,
                        result,
                        method,
                        offline,
                        anomaly,
                    )
                    ident += 1

    def _counters(self, conn: psycopg.Connection[Any]) -> None:
        values = {f"pass:{d}": v for d, v in self.serials.items() if v}
        values["revocations"] = self.revocations
        for name, value in values.items():
            conn.execute(
                "INSERT INTO counters (name, value) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
        for table in (*BIG_TABLES, "checkpoints"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )


APPLICATION_COLUMNS = (
    "id", "kind", "enterprise_id", "created_by_id", "status", "workflow_id", "round",
    "current_step", "current_department_code", "current_scope", "step_entered_at", "step_due_at",
    "escalation_level", "district", "contact_name", "contact_phone", "valid_from", "valid_until",
    "site_address", "staff_on_site", "closed_loop", "plate", "vehicle_type", "origin",
    "destination", "cargo_category", "created_at", "updated_at", "submitted_at", "closed_at",
)  # fmt: skip
DECISION_COLUMNS = (
    "id", "application_id", "round", "step", "action", "actor_id", "department_id",
    "reason_code", "comment", "created_at",
)  # fmt: skip
DRIVER_COLUMNS = ("id", "application_id", "position", "name", "id_number", "phone")
PASS_COLUMNS = (
    "id", "application_id", "number", "district", "serial", "control_code", "kind",
    "enterprise_id", "plate", "valid_from", "valid_until", "not_before", "expires_at", "status",
    "kid", "token", "issued_at", "revoked_at", "revoked_by_id", "revoke_reason", "revocation_seq",
)  # fmt: skip
SCAN_COLUMNS = (
    "id", "pass_id", "checkpoint_id", "user_id", "scanned_at", "result", "method", "is_offline",
    "anomaly",
)  # fmt: skip


def seed(server: str, scale: float, *, seed_value: int = 2022, work: Path | None = None) -> City:
    """A new database on the server holding the demo city and `scale` times the full data."""
    started = time.perf_counter()
    city = create_city(server, work)
    try:
        city.counts = Seeder(city, scale, seed_value).run()
    except BaseException:
        city.drop()
        raise
    city.seconds = time.perf_counter() - started
    return city


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=DEFAULT_SERVER, help="a PostgreSQL server URL")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 is the full city")
    parser.add_argument("--keep", action="store_true", help="keep the database (and its keys)")
    parser.add_argument("--work", type=Path, help="folder for keys and uploads (default: temp)")
    args = parser.parse_args()
    city = seed(args.database, args.scale, work=args.work)
    counts = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in city.counts.items())
    print(f"seeded {counts} at scale {args.scale} in {city.seconds:.1f} s")
    if args.keep:
        print(f"kept: --seeded {city.database} --work {city.work}")
    else:
        city.drop()


if __name__ == "__main__":
    main()
