"""A spreadsheet kept on the server between the bulk upload's preview and its submit.

The file is stored under UPLOAD_DIR/bulk, named by a random key and bound to its uploader, with
the rows `bulk_sheets.read_rows` made of it, so that the preview and the submit need not parse
it again; no personal data travels in a URL. The rows kept are checked again on every use (see
`load_rows`), and files not submitted are deleted after KEEP_FOR.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from permits.models import User
from permits.services import attachments
from permits.services.bulk_sheets import NUMBER_ID_MESSAGE, Row, columns, max_drivers, read_rows
from permits.services.errors import NotFound, StorageFailed

log = logging.getLogger(__name__)

#: Uploaded files not submitted are deleted after this long.
KEEP_FOR = timedelta(days=1)


def _folder() -> Path:
    return attachments.upload_dir() / "bulk"


#: The kept rows' format. Bump it whenever `read_rows` changes what it makes of a file: rows
#: kept in another format are read again from the file.
ROWS_FORMAT = 2


def paths(key: str) -> tuple[Path, Path, Path]:
    """The file, its metadata (uploader, name) and the rows read from it."""
    if not re.fullmatch(r"[0-9a-f]{32}", key):
        raise NotFound(_l("This upload is no longer available; upload the file again."))
    return _folder() / key, _folder() / f"{key}.json", _folder() / f"{key}.rows.json"


def keep_upload(
    actor: User,
    filename: str,
    content: bytes,
    *,
    now: datetime,
    rows: list[Row] | None = None,
) -> str:
    """Stores the file for its uploader, with its rows as `read_rows` made them (read here when
    not given), so that the preview and the submit need not parse the spreadsheet again;
    returns the random key that names it."""
    if rows is None:
        rows = read_rows(content)
    _forget_old(now)
    key = secrets.token_hex(16)
    data_path, meta_path, rows_path = paths(key)
    stem = re.sub(r"[^\w\-. ()]+", "_", Path(filename or "vehicles").name)[:200] or "vehicles"
    kept = {
        "format": ROWS_FORMAT,
        "sha256": hashlib.sha256(content).hexdigest(),
        "max_drivers": max_drivers(),
        "rows": [[row.number, row.cells, row.spoiled] for row in rows],
    }
    try:
        _folder().mkdir(parents=True, exist_ok=True, mode=0o700)
        data_path.write_bytes(content)
        rows_path.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
        meta_path.write_text(
            json.dumps({"user_id": actor.id, "filename": stem, "at": now.isoformat()})
        )
    except OSError as exc:
        log.error("an uploaded spreadsheet could not be stored: %s", type(exc).__name__)
        raise StorageFailed(
            _l("The file could not be stored; it has been logged. Please try again later.")
        ) from exc
    return key


def load_upload(actor: User, key: str) -> tuple[str, bytes]:
    """(filename, content) of an upload the actor made; NotFound for anyone else's or none."""
    data_path, meta_path, _rows_path = paths(key)
    try:
        meta = json.loads(meta_path.read_text())
        content = data_path.read_bytes()
    except (OSError, ValueError):
        raise NotFound(_l("This upload is no longer available; upload the file again.")) from None
    if meta.get("user_id") != actor.id:
        raise NotFound(_l("This upload is no longer available; upload the file again."))
    return str(meta.get("filename", "")), content


def load_rows(actor: User, key: str) -> tuple[str, list[Row]]:
    """(filename, rows) of an upload the actor made: the rows kept with the file, or read from
    the file again when they are missing, unreadable, of another format or of another file.

    Only what `read_rows` made of the file is kept, never what was found wrong in it: the
    caller checks every row again, so kept rows that were altered are checked as a file with
    those values would be, and pass no check they would fail.
    """
    filename, content = load_upload(actor, key)
    kept = _kept_rows(paths(key)[2], content)
    return filename, kept if kept is not None else read_rows(content)


def _kept_rows(path: Path, content: bytes) -> list[Row] | None:
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(kept, dict)
        or kept.get("format") != ROWS_FORMAT
        or kept.get("max_drivers") != max_drivers()
        or kept.get("sha256") != hashlib.sha256(content).hexdigest()
    ):
        return None
    items = kept.get("rows")
    if not isinstance(items, list) or not 0 < len(items) <= int(
        current_app.config["BULK_MAX_ROWS"]
    ):
        return None  # read again: the file's own message (empty, too long) is given then
    known = {key for key, _ in columns(max_drivers())}
    id_columns = {key for key in known if key.endswith("_id_number")}
    rows: list[Row] = []
    for item in items:
        if not isinstance(item, list) or len(item) != 3:
            return None
        number, cells, spoiled = item
        if (
            type(number) is not int
            or not isinstance(cells, dict)
            or not isinstance(spoiled, list)
            or not all(k in known and isinstance(v, str) for k, v in cells.items())
            or not all(isinstance(k, str) and k in id_columns for k in spoiled)
        ):
            return None
        problems = {k: str(NUMBER_ID_MESSAGE) for k in spoiled}
        rows.append(Row(number=number, cells=cells, problems=problems, spoiled=spoiled))
    return rows


def forget_upload(key: str) -> None:
    for path in paths(key):
        path.unlink(missing_ok=True)


def _forget_old(now: datetime) -> None:
    folder = _folder()
    if not folder.is_dir():
        return
    cutoff = time.time() - KEEP_FOR.total_seconds()
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue
