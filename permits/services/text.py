"""What typed text may hold: the one rule (validators.text_problem) and its message per problem."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l

from permits import validators
from permits.services.errors import ValidationFailed

MESSAGES = {
    "control": _l("Remove the control characters (such as a NUL byte) from this text."),
    "invisible": _l(
        "Remove the invisible characters (direction marks, zero-width spaces) from this text."
    ),
    "line_break": _l("Keep this on one line."),
}


def problem_message(value: object, *, multiline: bool = False) -> str | None:
    """Why a typed value cannot be stored, in the reader's language; None for a good one or a
    value that is not text (its own check says what is wrong with it)."""
    if not isinstance(value, str):
        return None
    problem = validators.text_problem(value, multiline=multiline)
    return None if problem is None else str(MESSAGES[problem])


def check(
    problems: dict[str, str], fields: Mapping[str, object], *, multiline: bool = False
) -> None:
    """Adds a message for each field whose text may not be stored (a field's first problem
    stays)."""
    for name, value in fields.items():
        message = problem_message(value, multiline=multiline)
        if message is not None:
            problems.setdefault(name, message)


def refuse(fields: Mapping[str, object], *, multiline: bool = False) -> None:
    """Raises ValidationFailed naming each field whose text may not be stored."""
    problems: dict[str, str] = {}
    check(problems, fields, multiline=multiline)
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
