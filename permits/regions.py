"""Administrative divisions (GB/T 2260 codes), shipped as package data, named in both languages."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Division:
    code: str
    name_zh: str
    name_en: str

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en

    @property
    def is_county_level(self) -> bool:
        return not self.code.endswith("00")


@cache
def divisions() -> dict[str, Division]:
    """Every division we know, by code."""
    text = resources.files("permits").joinpath("data/divisions.csv").read_text(encoding="utf-8")
    return {row["code"]: Division(**row) for row in csv.DictReader(text.splitlines())}


def division(code: str) -> Division | None:
    return divisions().get(code)


def districts(city_code: str) -> list[Division]:
    """The county-level divisions of a city (for Shanghai: its 16 districts), in code order."""
    # A municipality (310000) spans its whole province-level code; a prefecture city (320100) its 4.
    prefix = city_code[:2] if city_code.endswith("0000") else city_code[:4]
    return sorted(
        (d for d in divisions().values() if d.code.startswith(prefix) and d.is_county_level),
        key=lambda d: d.code,
    )


def is_district_of(code: str, city_code: str) -> bool:
    return code in _district_codes(city_code)


@cache
def _district_codes(city_code: str) -> frozenset[str]:
    """Asked once per row of an uploaded file: worth remembering."""
    return frozenset(d.code for d in districts(city_code))


#: A code alone, or at the end as the district list offers it, "浦东新区 (310115)" (or typed
#: with full-width brackets, or after a space).
_CODE = re.compile(r"(?:.*[\s(（])?\s*(\d{6})\s*[)）]?")


def choice_label(code: str, locale: str) -> str:
    """How the district list shows a division and fills it in: "浦东新区 (310115)"."""
    found = division(code)
    return f"{found.name(locale)} ({code})" if found is not None else code


def county_choices(city_code: str, locale: str) -> list[tuple[str, str]]:
    """(value, other-language name) of every county-level division, the city's own first: the
    searchable list a person picks an origin or destination from, by name in either language."""
    other = "en" if locale.startswith("zh") else "zh"
    own = districts(city_code)
    rest = sorted(
        (d for d in divisions().values() if d.is_county_level and d not in own),
        key=lambda d: d.code,
    )
    return [(choice_label(d.code, locale), d.name(other)) for d in own + rest]


def county_code(text: str, city_code: str) -> str | None:
    """The county-level code meant by what was typed or chosen: a 6-digit code, "name (code)",
    or a name in Chinese or English that names one division (or one of the city's districts:
    普陀区 is in Shanghai and in Zhoushan)."""
    value = " ".join(text.split())
    matched = _CODE.fullmatch(value)
    if matched:
        found = division(matched.group(1))
        return found.code if found is not None and found.is_county_level else None
    name = value.casefold()
    codes = _codes_by_name().get(name) or _codes_by_name().get(_SUFFIX.sub("", name), [])
    if len(codes) == 1:
        return codes[0]
    own = [code for code in codes if is_district_of(code, city_code)]
    return own[0] if len(own) == 1 else None


#: What people leave off a name: 浦东 for 浦东新区, Kunshan for Kunshan City.
_SUFFIX = re.compile(r"(新区|自治县|区|市|县| new area| district| city| county)$")


@cache
def _codes_by_name() -> dict[str, list[str]]:
    names: dict[str, list[str]] = defaultdict(list)
    for d in divisions().values():
        if d.is_county_level:
            full = {d.name_zh.casefold(), d.name_en.casefold()}
            for name in full | {_SUFFIX.sub("", n) for n in full}:
                if name:
                    names[name].append(d.code)
    return dict(names)
