"""Email that leaves only after the transaction that caused it has committed.

Messages are queued on the database session; SQLAlchemy's after_commit sends them, and a
rollback drops them. With TESTING they go to an in-memory outbox; without PERMITS_MAIL_SERVER
they are not sent at all (the in-app notifications remain).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)
OUTBOX_KEY = "mail_outbox"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def queue(session: Session, mail: Mail) -> None:
    session.info.setdefault(OUTBOX_KEY, []).append(mail)


def is_enabled() -> bool:
    """Whether queued mail goes anywhere (a test outbox or an SMTP server): without it, there is
    no point rendering messages in each recipient's language."""
    return bool(current_app.testing or current_app.config.get("MAIL_SERVER"))


def outbox(app: Flask) -> list[Mail]:
    """What a test app has sent."""
    sent: list[Mail] = app.extensions.setdefault(OUTBOX_KEY, [])
    return sent


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    pending: list[Mail] = session.info.pop(OUTBOX_KEY, [])
    if pending:
        deliver(pending)


@event.listens_for(Session, "after_transaction_end")
def _drop_unsent(session: Session, transaction: SessionTransaction) -> None:
    # after_commit has taken what was committed; what is left belongs to a rolled-back transaction.
    if transaction.parent is None:
        session.info.pop(OUTBOX_KEY, None)


def deliver(mails: list[Mail]) -> None:
    """Sends now; a mail failure is logged, never turned into a failed request."""
    app = current_app
    if app.testing:
        outbox(app).extend(mails)
        return
    server = app.config.get("MAIL_SERVER")
    if not server:
        return
    try:
        with smtplib.SMTP(server, int(app.config["MAIL_PORT"]), timeout=10) as smtp:
            if app.config["MAIL_USE_TLS"]:
                smtp.starttls()
            if app.config.get("MAIL_USERNAME"):
                smtp.login(app.config["MAIL_USERNAME"], app.config["MAIL_PASSWORD"])
            for mail in mails:
                message = EmailMessage()
                message["From"] = app.config["MAIL_SENDER"]
                message["To"] = mail.to
                message["Subject"] = mail.subject
                message.set_content(mail.body)
                smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        log.exception("could not send %d notification email(s)", len(mails))
