"""`flask` commands of DESIGN.md. Each commits once on success; bad input exits 1 with one line."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask_babel import force_locale
from sqlalchemy import func, select

from permits import audit
from permits.extensions import db
from permits.models import AuditEvent, Role, utcnow
from permits.services import (
    accounts,
    api_tokens,
    demand_escalation,
    demand_handling,
    demo,
    escalation,
    issuance,
    organisations,
    signing_keys,
)
from permits.services.errors import DomainError
from permits.services.supervision import snapshot

F = TypeVar("F", bound=Callable[..., Any])


def describe(error: DomainError) -> str:
    """A domain refusal as one line, e.g. "Some fields need your attention: uscc: ..."."""
    details = "; ".join(f"{name}: {message}" for name, message in error.fields.items())
    return f"{error.message}: {details}" if details else str(error.message)


@contextmanager
def unit_of_work() -> Iterator[None]:
    """One transaction; a refusal rolls everything back and exits non-zero with its reason."""
    token = audit.system_actor.set("cli")
    try:
        yield
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(describe(exc)) from None
    except Exception:
        db.session.rollback()
        raise
    finally:
        audit.system_actor.reset(token)


def english(command: F) -> F:
    """CLI output is in English, whatever the default locale of the web pages."""

    @wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with force_locale("en"):
            return command(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


enterprises_cli = click.Group("enterprises", help="Manage enterprises.")
checkpoints_cli = click.Group("checkpoints", help="Manage checkpoints.")
users_cli = click.Group("users", help="Manage user accounts and API tokens.")


@enterprises_cli.command("create")
@click.argument("uscc")
@click.option("--name", required=True, help="Registered name.")
@click.option("--district", required=True, help="6-digit district code, e.g. 310115.")
@english
def create_enterprise(uscc: str, name: str, district: str) -> None:
    """Register an enterprise by its unified social credit code."""
    with unit_of_work():
        enterprise = organisations.create_enterprise(
            organisations.EnterpriseDetails(uscc=uscc, name=name, district=district)
        )
    click.echo(f"Created enterprise {enterprise.uscc} ({enterprise.name}).")


@checkpoints_cli.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--district", required=True, help="6-digit district code.")
@click.option("--lat", "latitude", type=float, default=None, help="Latitude (WGS-84).")
@click.option("--lon", "longitude", type=float, default=None, help="Longitude (WGS-84).")
@english
def create_checkpoint(
    code: str, name: str, district: str, latitude: float | None, longitude: float | None
) -> None:
    """Create a checkpoint."""
    with unit_of_work():
        checkpoint = organisations.create_checkpoint(
            code, name, district, latitude=latitude, longitude=longitude
        )
    click.echo(f"Created checkpoint {checkpoint.code} ({checkpoint.name}).")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", required=True, help="At least 10 characters, not a common one.")
@click.option("--name", default="", help="The person's name.")
@click.option("--enterprise", "uscc", help="USCC of the enterprise (role enterprise).")
@click.option("--department", help="Department code (role approver).")
@click.option("--scope", help="District code or 'city' (role approver).")
@click.option("--checkpoint", "checkpoint_code", help="Checkpoint code (role checkpoint).")
@english
def create_user(
    email: str,
    role: str,
    password: str,
    name: str,
    uscc: str | None,
    department: str | None,
    scope: str | None,
    checkpoint_code: str | None,
) -> None:
    """Create an account; the enterprise and checkpoint must exist, the department is made."""
    the_role = Role(role)
    org: dict[str, Any] = {}
    with unit_of_work():
        if the_role is Role.ENTERPRISE:
            if not uscc:
                raise click.UsageError("--enterprise USCC is required for role enterprise")
            org["enterprise"] = organisations.enterprise_by_uscc(uscc)
            if org["enterprise"] is None:
                raise click.ClickException(f"No enterprise with USCC {uscc}; create it first.")
        elif the_role in (Role.APPROVER, Role.HANDLER):
            if not department or not scope:
                raise click.UsageError(
                    f"--department and --scope are required for role {the_role.value}"
                )
            org["department"] = organisations.get_or_create_department(department, scope)
        elif the_role is Role.CHECKPOINT:
            if not checkpoint_code:
                raise click.UsageError("--checkpoint CODE is required for role checkpoint")
            org["checkpoint"] = organisations.checkpoint_by_code(checkpoint_code)
            if org["checkpoint"] is None:
                raise click.ClickException(
                    f"No checkpoint with code {checkpoint_code}; create it first."
                )
        user = accounts.create_user(email, the_role, password, name=name, **org)
    click.echo(f"Created {user.role.value} {user.email}.")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli", help="A name to tell the token apart later.")
@english
def create_token(email: str, name: str) -> None:
    """Print a new API token for the user (as the last line)."""
    with unit_of_work():
        user = accounts.user_by_email(email)
        if user is None:
            raise click.ClickException(f"No user with email {email}.")
        _token, plain = api_tokens.issue_api_token(user, name, now=utcnow())
    click.echo(f"New API token for {user.email} (shown once; store it safely):")
    click.echo(plain)


@click.command("demo")
@click.option(
    "--url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Where the service will answer, for the message (make run passes its PORT).",
)
@english
def load_demo(url: str) -> None:
    """Load the demo city (idempotent) and print its logins."""
    with unit_of_work():
        logins = demo.load_demo_city()
    click.echo(f"Demo city ready. Log in at {url} with:")
    click.echo(f"  {'role':<11} {'email':<42} note")
    for login in logins:
        click.echo(f"  {login.role:<11} {login.email:<42} {login.note}")
    click.echo(f"Password for every demo account: {demo.DEMO_PASSWORD}")
    click.echo(
        "Every department has an approver: <department>.<district code or city>@"
        f"{demo.DEMO_DOMAIN}, e.g. health.310104@{demo.DEMO_DOMAIN}."
    )


keys_cli = click.Group("keys", help="The keys that sign passes.")


@keys_cli.command("rotate")
@english
def rotate_keys() -> None:
    """Make a new current signing key; old keys stay published while their passes may be valid."""
    with unit_of_work():
        key = signing_keys.rotate(None, now=utcnow())
    click.echo(f"New signing key {key.kid_hex}, signing until {key.expires_at:%Y-%m-%d}.")


@keys_cli.command("list")
@english
def list_keys() -> None:
    """The signing keys, their periods and whether they still sign."""
    now = utcnow()
    for key in issuance.key_store().all():
        state = "retired" if key.retired_at else "current"
        published = "published" if key.expires_at > now else "expired"
        click.echo(
            f"{key.kid_hex}  {key.not_before:%Y-%m-%d} → {key.expires_at:%Y-%m-%d}  "
            f"{state}, {published}"
        )


audit_cli = click.Group("audit", help="The audit log.")


@audit_cli.command("verify")
@english
def verify_audit() -> None:
    """Check the hash chain; exit 1 naming the first event that was changed or deleted."""
    broken = audit.verify_chain()
    if broken is not None:
        where = f"event {broken.seq}" + (f" (row id {broken.event_id})" if broken.event_id else "")
        raise click.ClickException(f"audit chain broken at {where}: {broken.reason}")
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    click.echo(f"audit chain intact: {total} events")


@click.command("escalate")
@english
def escalate() -> None:
    """Tell approvers about overdue steps and supervisors about steps past twice their limit.

    Run it every few minutes (cron or a systemd timer); each step is escalated once per level.
    """
    now = utcnow()
    with unit_of_work():
        done = escalation.escalate_overdue(now)
        tickets = demand_escalation.escalate_overdue_demands(now)
    click.echo(
        f"Escalated {done.to_approvers} overdue application(s) to their approvers, "
        f"{done.to_supervisors} to the supervisors."
    )
    click.echo(
        f"Escalated {tickets.to_departments} overdue demand ticket(s) to their departments, "
        f"{tickets.to_supervisors} to the supervisors."
    )


demands_cli = click.Group("demands", help="Demand tickets.")


@demands_cli.command("close-unconfirmed")
@english
def close_unconfirmed() -> None:
    """Close answered tickets their enterprise left unconfirmed past DEMAND_CONFIRM_DAYS.

    Run it every hour or so (cron or a systemd timer), beside `flask escalate`.
    """
    with unit_of_work():
        closed = demand_handling.close_unconfirmed(now=utcnow())
    click.echo(f"Closed {closed} answered ticket(s) without confirmation.")


supervision_cli = click.Group("supervision", help="The supervision dashboard's figures.")


@supervision_cli.command("refresh")
@english
def refresh_supervision() -> None:
    """Recompute the dashboard's figures now and store them for the page and GET /api/v1/stats.

    Run it every minute (cron or a systemd timer), so that no page waits for the computation.
    """
    started = time.perf_counter()
    refreshed = snapshot.refresh(utcnow(), zone=ZoneInfo(current_app.config["TIMEZONE"]))
    if refreshed is None:
        click.echo("Another refresh is running; its figures will be served when it ends.")
        return
    click.echo(
        f"Supervision figures refreshed: exact at {refreshed.generated_at:%Y-%m-%d %H:%M:%S} UTC,"
        f" computed in {time.perf_counter() - started:.2f} s."
    )


def register_commands(app: Flask) -> None:
    for command in (
        enterprises_cli,
        checkpoints_cli,
        users_cli,
        keys_cli,
        audit_cli,
        load_demo,
        escalate,
        supervision_cli,
        demands_cli,
    ):
        app.cli.add_command(command)


__all__ = ["register_commands"]
