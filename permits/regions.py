"""Administrative divisions (GB/T 2260 codes), shipped as package data, named in both languages."""

from __future__ import annotations

import csv
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
