"""The words a demand ticket is about, for the common-problems analysis: Chinese segmented by
jieba (a real word segmenter, not single characters), English by words, stop words and
numbers left out. Pure Python; jieba's dictionary loads once per process (about a second)."""

from __future__ import annotations

import logging
import re
import threading
from functools import cache
from importlib import resources


@cache
def stop_words() -> frozenset[str]:
    """Words too common in tickets to say what a difficulty is about (permits/data)."""
    text = resources.files("permits").joinpath("data/stop-words.txt").read_text("utf-8")
    lines = (line for line in text.splitlines() if not line.startswith("#"))
    return frozenset(word for line in lines for word in line.split())


_WORD = re.compile(r"[\w\u4e00-\u9fff]+", re.UNICODE)
_LATIN = re.compile(r"[a-z][a-z'-]*")
#: Terms kept per ticket: a long description does not weigh more than a short one.
MAX_TERMS = 40
_loading = threading.Lock()


@cache
def _segmenter() -> object:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _loading:
        jieba.initialize()
    return jieba


def terms_of(text: str) -> list[str]:
    """The distinct terms of a text, in order of first appearance."""
    jieba = _segmenter()
    seen: dict[str, None] = {}
    for chunk in _WORD.findall(text.lower()):
        words = _LATIN.findall(chunk) if chunk.isascii() else jieba.lcut(chunk)  # type: ignore[attr-defined]
        for word in words:
            word = word.strip()
            if len(word) < 2 or word in stop_words() or word.isdigit() or word in seen:
                continue
            seen[word] = None
            if len(seen) == MAX_TERMS:
                return list(seen)
    return list(seen)
