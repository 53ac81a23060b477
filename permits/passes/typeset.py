"""The pass PDF's type: its Chinese font (found, checked for Chinese glyphs and registered with
reportlab once per process) and line breaking for Chinese with English. Pure: no Flask, no
database."""

from __future__ import annotations

import hashlib
import os
import re
import threading

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

#: CJK fonts tried when no font_path is given: (path, subfont index in a TTC).
CJK_FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)
#: Built into reportlab, needs no file, but is not embedded: viewers without a Chinese font
#: show blanks. Only the last resort.
CID_FALLBACK_FONT = "STSong-Light"


class FontError(RuntimeError):
    """A CJK font could not be registered (a missing or unreadable file, not a TrueType font)."""


_fonts: dict[str | None, str] = {}
_fonts_lock = threading.Lock()


def cjk_font(font_path: str | None = None) -> str:
    """The reportlab name of a CJK font, registered once per process per font_path.

    Without font_path: the first of CJK_FONT_CANDIDATES that exists (embedded as a subset), else
    reportlab's non-embedded STSong-Light. A font that exists but fails to register raises
    FontError; so does a given font_path, which never falls back.
    """
    with _fonts_lock:
        name = _fonts.get(font_path)
        if name is None:
            name = _register_cjk_font(font_path)
            _fonts[font_path] = name
        return name


def _register_cjk_font(font_path: str | None) -> str:
    if font_path is not None:
        return _register_ttf(font_path, 0)
    for path, subfont_index in CJK_FONT_CANDIDATES:
        if os.path.exists(path):
            return _register_ttf(path, subfont_index)
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK_FONT))
    return CID_FALLBACK_FONT


def _register_ttf(path: str, subfont_index: int) -> str:
    # The name depends on the path only, so a document renders to the same bytes in every process.
    name = "PassCJK-" + hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:10]
    if name in pdfmetrics.getRegisteredFontNames():  # the same file under another font_path
        return name
    try:
        font = TTFont(name, path, subfontIndex=subfont_index)
        if font.face.charToGlyph.get(ord("证"), 0) == 0:
            raise FontError(f"{path} has no Chinese glyphs")
        pdfmetrics.registerFont(font)
    except FontError:
        raise
    except Exception as exc:  # reportlab raises TTFError, OSError, struct.error, ...
        raise FontError(f"cannot use {path} as the pass font: {exc}") from exc
    return name


# A run of non-CJK, non-space characters stays on one line; CJK characters may break anywhere.
_TOKEN = re.compile(r"[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+|\s+|.")


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy line breaking that works for Chinese (between any two characters) and English."""
    lines: list[str] = []
    line = ""
    for token in _TOKEN.findall(text):
        candidate = line + token
        if pdfmetrics.stringWidth(candidate, font, size) <= width:
            line = candidate
            continue
        if token.isspace():
            lines.append(line)
            line = ""
            continue
        if line.strip():
            lines.append(line.rstrip())
            line = ""
        # The token alone may be too long (a long code or URL): break it between characters.
        for char in token:
            if line and pdfmetrics.stringWidth(line + char, font, size) > width:
                lines.append(line)
                line = ""
            line += char
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


# "中文部分 English part": a Chinese part without Latin letters, then an English part without CJK.
_BILINGUAL = re.compile(r"([^A-Za-z]*[\u2e80-\u9fff\uff00-\uffef])\s+([A-Za-z][^\u2e80-\u9fff]*)")


def lines_for(text: str, font: str, size: float, width: float) -> list[str]:
    """text on one line if it fits; else a bilingual text breaks between its two languages first."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return [text]
    match = _BILINGUAL.fullmatch(text)
    if match:
        return [line for part in match.groups() for line in wrap(part, font, size, width)]
    return wrap(text, font, size, width)
