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
    if not pending:
        return
    try:
        deliver(pending)
    except Exception as exc:  # the change is committed: a mail failure must not undo the answer
        log.error("could not send %d notification email(s): %s", len(pending), type(exc).__name__)


@event.listens_for(Session, "after_transaction_end")
def _drop_unsent(session: Session, transaction: SessionTransaction) -> None:
    # after_commit has taken what was committed; what is left belongs to a rolled-back transaction.
    if transaction.parent is None:
        session.info.pop(OUTBOX_KEY, None)


def deliver(mails: list[Mail]) -> None:
    """Sends now. A message that cannot be built or sent is logged (its kind of failure only:
    no address, subject or text) and skipped; it never fails the request that caused it."""
    app = current_app
    if app.testing:
        outbox(app).extend(mails)
        return
    server = app.config.get("MAIL_SERVER")
    if not server:
        return
    failed = 0
    try:
        with smtplib.SMTP(server, int(app.config["MAIL_PORT"]), timeout=10) as smtp:
            if app.config["MAIL_USE_TLS"]:
                smtp.starttls()
            if app.config.get("MAIL_USERNAME"):
                smtp.login(app.config["MAIL_USERNAME"], app.config["MAIL_PASSWORD"])
            for mail in mails:
                try:
                    smtp.send_message(_message(mail, app.config["MAIL_SENDER"]))
                except (ValueError, TypeError, smtplib.SMTPException) as exc:
                    failed += 1
                    log.error("could not send a notification email: %s", type(exc).__name__)
    except (OSError, smtplib.SMTPException) as exc:
        log.error(
            "could not send %d notification email(s): %s", len(mails) - failed, type(exc).__name__
        )


def _message(mail: Mail, sender: str) -> EmailMessage:
    """The email; a header is one line whatever the text it was made from (an enterprise name
    stored with a line break before names were checked)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = _one_line(mail.to)
    message["Subject"] = _one_line(mail.subject)
    message.set_content(mail.body)
    return message


def _one_line(text: str) -> str:
    return " ".join(text.split())
