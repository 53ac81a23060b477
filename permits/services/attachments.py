"""Files attached to an application: judged by their content, stored whole or not at all under
a name the server makes up, never served from a path the user typed."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from permits import audit
from permits.extensions import db
from permits.models import Application, Attachment, User
from permits.services.errors import Conflict, StorageFailed, ValidationFailed, os_error_name
from permits.workflow import EDITABLE

log = logging.getLogger(__name__)

ATTACHMENT_PURPOSES = ("prevention_plan", "vehicle_licence", "driving_licence", "other")

FILE_SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)
INVALID = _l("Some fields need your attention.")


def _sniff(head: bytes) -> tuple[str, str] | None:
    for signature, content_type, extension in FILE_SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    return None


def upload_dir() -> Path:
    configured = current_app.config.get("UPLOAD_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "uploads"


def add_attachment(
    actor: User,
    application: Application,
    *,
    purpose: str,
    filename: str,
    content: bytes,
    now: datetime,
) -> Attachment:
    """Stores a PDF, JPEG or PNG (judged by its content) under a name the server makes up."""
    problems: dict[str, str] = {}
    if purpose not in ATTACHMENT_PURPOSES:
        problems["purpose"] = str(
            _l("The purpose is one of: %(purposes)s.", purposes=", ".join(ATTACHMENT_PURPOSES))
        )
    sniffed = _sniff(content[:16])
    if not content:
        problems["file"] = str(_l("Choose a file to upload."))
    elif sniffed is None:
        problems["file"] = str(_l("Only PDF, JPEG and PNG files are accepted."))
    if problems:
        raise ValidationFailed(INVALID, problems)
    assert sniffed is not None
    if application.status not in EDITABLE:
        raise Conflict(_l("Files can be added only while the application can be changed."))
    content_type, extension = sniffed
    key = secrets.token_hex(16)
    _store_file(upload_dir(), key, content)
    stem = (
        re.sub(r"[^\w\-. ]+", "_", Path(filename or "file").stem, flags=re.UNICODE)[:150] or "file"
    )
    attachment = Attachment(
        application_id=application.id,
        purpose=purpose,
        filename=stem + extension,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        storage_key=key,
        uploaded_by_id=actor.id,
        created_at=now,
    )
    application.attachments.append(attachment)
    db.session.flush()
    audit.record(
        "attachment.add",
        actor=actor,
        obj=application,
        details={"attachment": attachment.id, "purpose": purpose, "size": len(content)},
        now=now,
    )
    return attachment


def _store_file(folder: Path, key: str, content: bytes) -> None:
    """Writes the file whole or not at all; a full disk or unwritable folder is a StorageFailed."""
    temporary = folder / f".{key}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(content)
        os.replace(temporary, folder / key)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        log.error("an attachment could not be stored in the upload folder: %s", os_error_name(exc))
        raise StorageFailed(
            _l(
                "The file could not be stored: the server's storage is full or not writable. "
                "It has been logged; please try again later."
            )
        ) from exc


def attachment_path(attachment: Attachment) -> Path:
    return upload_dir() / attachment.storage_key
