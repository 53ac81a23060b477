"""Compiling the message catalogues (.po → .mo): used by the package build (setup.py) and at start.

Only the standard library and Babel here: setup.py loads this file by path, before Flask exists.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

#: Where the catalogues live: translations/<locale>/LC_MESSAGES/<domain>.po
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

#: A .mo this much older than its .po is stale (a wheel's files are unpacked in any order).
STALE_AFTER_SECONDS = 2.0


def catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """Every .po catalogue under directory."""
    return sorted(directory.glob("*/LC_MESSAGES/*.po"))


def needs_compiling(po: Path) -> bool:
    """The .mo is missing or older than its .po (a checkout updated without a rebuild)."""
    mo = po.with_suffix(".mo")
    if not mo.exists():
        return True
    return po.stat().st_mtime - mo.stat().st_mtime > STALE_AFTER_SECONDS


def compile_catalogue(po: Path) -> Path:
    """Write po's .mo beside it, atomically (two workers starting at once may both compile)."""
    locale = po.parent.parent.name
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale, domain=po.stem)
    mo = po.with_suffix(".mo")
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".mo", dir=po.parent)
    try:
        with os.fdopen(fd, "wb") as target:
            write_mo(target, catalog)
        os.chmod(tmp, 0o644)
        os.replace(tmp, mo)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return mo


def compile_all(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile every catalogue under directory; returns the .mo files written."""
    return [compile_catalogue(po) for po in catalogues(directory)]
