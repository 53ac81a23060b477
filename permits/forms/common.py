"""What the forms share: the required-field check, date fields, the CSRF-only ConfirmForm, and
putting the services' messages next to their fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

required = DataRequired(message=_l("This field is required."))


def date_field(label: Any, description: Any = None) -> StringField:
    """A text field the browser shows as a date picker; the services parse and check it."""
    return StringField(label, description=description, render_kw={"type": "date"})


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change state."""


def show_problems(form: FlaskForm, problems: Mapping[str, Any]) -> dict[str, str]:
    """Puts each message from the services next to its field ("drivers.0.name" included).

    Returns the messages that have no field on this form, for the page to show on their own.
    """
    unplaced: dict[str, str] = {}
    for name, message in problems.items():
        field: Any = form
        for part in name.split("."):
            if part.isdigit() and hasattr(field, "entries"):
                index = int(part)
                field = field.entries[index] if index < len(field.entries) else None
            elif field is not None and hasattr(field, "form"):
                field = getattr(field.form, part, None)
            else:
                field = getattr(field, part, None)
            if field is None:
                break
        if field is not None and hasattr(field, "errors") and not hasattr(field, "entries"):
            if not field.errors:
                field.errors = [str(message)]
        elif field is not None and hasattr(field, "entries"):
            field.errors = [str(message)]
            unplaced[name] = str(message)
        else:
            unplaced[name] = str(message)
    return unplaced


def field_errors(
    form: Any, item_label: Callable[[int], str] | None = None
) -> list[tuple[str, str, str]]:
    """(id, label, message) of every field with an error, in page order, for the summary.

    A row of a list (a driver, a step) is named by `item_label(n)` ("Driver 2"), else "2.".
    """
    found: list[tuple[str, str, str]] = []
    for field in form:
        if field.type == "CSRFTokenField":
            continue
        if hasattr(field, "entries"):
            # A message about the list as a whole ("at least one driver"); its label is the
            # field name WTForms made up, translated like the page's own heading.
            for message in (e for e in field.errors if isinstance(e, str)):
                found.append((field.id, gettext(str(field.label.text)), message))
            for n, entry in enumerate(field.entries, start=1):
                prefix = f"{item_label(n)} · " if item_label else f"{n}. "
                for sub_id, label, message in field_errors(entry.form):
                    found.append((sub_id, prefix + label, message))
            continue
        for message in field.errors if isinstance(field.errors, list | tuple) else []:
            found.append((field.id, str(field.label.text), str(message)))
    return found
