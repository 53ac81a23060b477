"""The printed pass: what goes on it and what never does. Every text is chosen here, in Chinese
with English; passes/pdf.py only lays it out.

The privacy rule: the pass is carried and shown at every checkpoint, so it names the drivers
with their ID numbers masked to the last four characters and carries no phone number, no
contact and no full ID.
"""

from __future__ import annotations

import hashlib
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale

from permits import labels, regions
from permits.models import CITY_SCOPE, Kind, Pass, PassStatus
from permits.passes import pdf
from permits.validators import mask_id_number

#: Bump when the PDF layout changes, so cached copies (by ETag) are refreshed.
PDF_LAYOUT_VERSION = "1"


def bilingual(lazy: object) -> str:
    """A label in Chinese and English, as printed on the pass."""
    with force_locale("zh"):
        chinese = str(lazy)
    with force_locale("en"):
        english = str(lazy)
    return chinese if chinese == english else f"{chinese} {english}"


def _division_name(code: str | None, language: str) -> str:
    """A division code as its name in `language`; "city" as the city's name."""
    if not code:
        return ""
    if code == CITY_SCOPE:
        code = current_app.config["CITY_CODE"]
    found = regions.division(code)
    return found.name(language) if found else code


def _division(code: str | None) -> str:
    if not code:
        return ""
    chinese, english = _division_name(code, "zh"), _division_name(code, "en")
    return chinese if chinese == english else f"{chinese} {english}"


def issuing_authority(issued: Pass) -> str:
    """The department that signed the last step."""
    last = max(
        (d for d in issued.application.decisions if d.department is not None and d.step),
        key=lambda d: d.id,
        default=None,
    )
    if last is None or last.department is None:
        return ""
    department = last.department
    name = labels.DEPARTMENT_NAMES.get(department.code, department.code)
    with force_locale("zh"):  # the department's name is a translated label
        chinese = f"{_division_name(department.scope, 'zh')}{name}"
    with force_locale("en"):
        english = f"{_division_name(department.scope, 'en')} {name}"
    return f"{chinese} {english}"


def document(issued: Pass) -> pdf.PassDocument:
    """Everything the PDF shows, already in Chinese with English; no phone, no full ID."""
    application = issued.application
    local = issued.issued_at.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    common = {
        "number": issued.number,
        "control_code": issued.control_code,
        "valid_from": issued.valid_from.isoformat(),
        "valid_until": issued.valid_until.isoformat(),
        "enterprise": application.enterprise.name,
        "uscc": application.enterprise.uscc,
        "issuer": issuing_authority(issued),
        "issued_at": local.strftime("%Y-%m-%d %H:%M"),
        "qr_text": issued.token,
        "revoked": issued.status is PassStatus.REVOKED,
    }
    if issued.kind is Kind.VEHICLE_PASS:
        return pdf.PassDocument(
            kind="VP",
            plate=issued.plate,
            vehicle_type=bilingual(labels.VEHICLE_TYPE_NAMES[application.vehicle_type])
            if application.vehicle_type
            else None,
            route=f"{_division(application.origin)} → {_division(application.destination)}",
            cargo=bilingual(labels.CARGO_NAMES[application.cargo_category])
            if application.cargo_category
            else None,
            drivers=tuple((d.name, mask_id_number(d.id_number)) for d in application.drivers),
            **common,  # type: ignore[arg-type]
        )
    return pdf.PassDocument(
        kind="WR",
        site=application.site_address,
        district=_division(application.district),
        staff=application.staff_on_site,
        **common,  # type: ignore[arg-type]
    )


def version(issued: Pass) -> str:
    """Changes whenever the rendered PDF would (its layout, text or status): the ETag."""
    return hashlib.sha256(
        f"{PDF_LAYOUT_VERSION}|{issued.token}|{issued.status.value}".encode()
    ).hexdigest()[:32]


def render(issued: Pass) -> bytes:
    """The pass as a PDF; the same bytes for an unchanged pass."""
    return pdf.render_pass(document(issued), font_path=current_app.config.get("PDF_FONT") or None)
