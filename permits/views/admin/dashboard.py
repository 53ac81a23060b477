"""Supervision: the dashboard with its charts, and the CSV exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request, stream_with_context
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from permits import regions
from permits.forms.admin import ExportFilterForm
from permits.i18n import current_locale_name
from permits.labels import DEPARTMENT_NAMES, KIND_NAMES, STATE_NAMES
from permits.models import Kind, utcnow
from permits.services.supervision import exports, snapshot
from permits.services.supervision.figures import DAYS, Figures
from permits.spreadsheets import neutralised
from permits.templating import signer_name
from permits.views.admin import bp
from permits.workflow import State


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _export_form() -> ExportFilterForm:
    today = utcnow().astimezone(_zone()).date()
    form = ExportFilterForm(
        formdata=request.args or None,
        date_from=today - timedelta(days=DAYS - 1),
        date_to=today,
    )
    everything = ("", _("All"))
    form.state.choices = [everything, *((s.value, str(n)) for s, n in STATE_NAMES.items())]
    form.kind.choices = [everything, *((k.value, str(n)) for k, n in KIND_NAMES.items())]
    locale = current_locale_name()
    form.district.choices = [
        everything,
        *((d.code, d.name(locale)) for d in regions.districts(current_app.config["CITY_CODE"])),
    ]
    return form


def _charts(figures: Figures) -> dict[str, Any]:
    """What the charts draw, labelled in the reader's language (read by js/dashboard.js)."""
    locale = current_locale_name()
    zone = _zone()

    def district(code: str) -> str:
        found = regions.division(code)
        return found.name(locale) if found else code

    return {
        "per_day": {
            "labels": [f"{day:%m-%d}" for day, _n in figures.per_day],
            "series": [{"label": _("Submitted"), "data": [n for _d, n in figures.per_day]}],
        },
        "by_state": {
            "labels": [str(STATE_NAMES.get(State(s), s)) for s in figures.by_state],
            "series": [{"label": _("Applications"), "data": list(figures.by_state.values())}],
        },
        "by_district": {
            "labels": [district(code) for code in figures.by_district],
            "series": [{"label": _("Applications"), "data": list(figures.by_district.values())}],
        },
        "steps": {
            "labels": [
                f"{KIND_NAMES[s.kind]} · {_('step %(n)d', n=s.step)} · "
                f"{DEPARTMENT_NAMES.get(s.department, s.department)}"
                for s in figures.steps
            ],
            "series": [
                {"label": _("Median (h)"), "data": [s.median for s in figures.steps]},
                {"label": _("90th percentile (h)"), "data": [s.p90 for s in figures.steps]},
            ],
        },
        "overdue": {
            "labels": [signer_name(d.department_code, d.scope) for d in figures.overdue],
            "series": [{"label": _("Overdue"), "data": [d.count for d in figures.overdue]}],
        },
        "scans": {
            "labels": [f"{h.astimezone(zone):%H:00}" for h in figures.scan_hours],
            "series": [
                {"label": c.name or c.code or _("No checkpoint"), "data": c.per_hour}
                for c in figures.scans
            ],
        },
        "verdicts": {
            "labels": list(figures.verdicts),
            "series": [{"label": _("Scans"), "data": list(figures.verdicts.values())}],
        },
    }


def _render(form: ExportFilterForm, status: int = 200) -> tuple[str, int]:
    # The snapshot GET /api/v1/stats serves too; the page shows the time it is exact at.
    max_age = timedelta(seconds=current_app.config["SUPERVISION_MAX_AGE_SECONDS"])
    figures = snapshot.current_figures(utcnow(), zone=_zone(), max_age=max_age)
    page = render_template(
        "admin/dashboard.html",
        figures=figures,
        charts=_charts(figures),
        form=form,
        department_names=DEPARTMENT_NAMES,
    )
    return page, status


@bp.get("/dashboard")
def dashboard() -> tuple[str, int]:
    """Applications, decision times, overdue work, common problems, passes and scans."""
    return _render(_export_form())


def _filters(form: ExportFilterForm) -> exports.ExportFilter:
    zone = _zone()
    start = datetime.combine(form.date_from.data, time(), tzinfo=zone)
    end = datetime.combine(form.date_to.data + timedelta(days=1), time(), tzinfo=zone)
    return exports.ExportFilter(
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        state=State(form.state.data) if form.state.data else None,
        kind=Kind(form.kind.data) if form.kind.data else None,
        district=form.district.data or None,
    )


def _csv(name: str, header: Iterable[str], rows: Iterator[list[Any]]) -> Response:
    """Streamed UTF-8 with a BOM, so Excel reads the Chinese names; never cached."""

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow(header)
        for row in rows:
            writer.writerow([neutralised(value) for value in row])
            if buffer.tell() > 16_384:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _file_name(what: str, form: ExportFilterForm) -> str:
    return f"{what}-{form.date_from.data:%Y%m%d}-{form.date_to.data:%Y%m%d}.csv"


@bp.get("/export/applications.csv")
def export_applications() -> Response | tuple[str, int]:
    """Applications submitted in the date range, with the dashboard's filters."""
    form = _export_form()
    if not form.validate():
        return _render(form, 400)
    rows = exports.application_rows(_filters(form), utcnow())
    return _csv(_file_name("applications", form), exports.APPLICATION_COLUMNS, rows)


@bp.get("/export/scans.csv")
def export_scans() -> Response | tuple[str, int]:
    """Scans in the date range (and at checkpoints of the district, if one is chosen)."""
    form = _export_form()
    if not form.validate():
        return _render(form, 400)
    rows = exports.scan_rows(_filters(form))
    return _csv(_file_name("scans", form), exports.SCAN_COLUMNS, rows)
