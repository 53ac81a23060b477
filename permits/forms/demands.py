"""Forms of demand tickets: the enterprise files, withdraws, confirms or reopens; the departments
accept, answer, transfer, copy in and note; the supervisors assign. The services validate (their
messages go beside the fields); these forms render labelled fields and carry the CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from permits.models.demands import DESCRIPTION_MAX, REASON_MAX, RESPONSE_MAX, TITLE_MAX

#: The rating's five buttons, each with its meaning, none ticked until the enterprise picks.
RATING_CHOICES = [
    SelectChoice("5", _l("5 · very satisfied")),
    SelectChoice("4", _l("4 · satisfied")),
    SelectChoice("3", _l("3 · acceptable")),
    SelectChoice("2", _l("2 · dissatisfied")),
    SelectChoice("1", _l("1 · very dissatisfied")),
]


def _text(label: object, limit: int, description: object = None, rows: int = 5) -> TextAreaField:
    return TextAreaField(
        label, description=description, render_kw={"rows": rows, "maxlength": limit}
    )


class FileDemandForm(FlaskForm):
    category = SelectField(_l("What the difficulty is about"), choices=[], validate_choice=False)
    title = StringField(
        _l("Title"),
        description=_l("One line, e.g. “Staff cannot return to work”."),
        render_kw={"maxlength": TITLE_MAX},
    )
    description = _text(
        _l("Description"),
        DESCRIPTION_MAX,
        _l(
            "What happened, since when, and what would help (up to %(n)d characters).",
            n=DESCRIPTION_MAX,
        ),
        rows=8,
    )
    application_id = SelectField(
        _l("About one of your applications (optional)"), choices=[], validate_choice=False
    )


class ConfirmDemandForm(FlaskForm):
    """Solved: the rating of the handling, and a comment if the enterprise wishes."""

    rating = RadioField(
        _l("How satisfied are you with the handling?"),
        choices=RATING_CHOICES,
        validate_choice=False,
    )
    comment = _text(_l("Comment (optional)"), REASON_MAX, rows=3)


class ReopenForm(FlaskForm):
    """Not solved: the reason goes back to the department."""

    reason = _text(
        _l("Why is it not solved?"),
        REASON_MAX,
        _l("The department reads this and answers again."),
        rows=4,
    )


class AnswerForm(FlaskForm):
    response = _text(
        _l("Your answer"),
        RESPONSE_MAX,
        _l("What was done or will be done; the enterprise reads it and confirms it or not."),
        rows=6,
    )


class TransferForm(FlaskForm):
    department = SelectField(_l("Transfer to"), choices=[], validate_choice=False)
    reason = _text(
        _l("Reason for the transfer"),
        REASON_MAX,
        _l("After two transfers a ticket goes to the supervisors, who assign it."),
        rows=3,
    )


class CopyForm(FlaskForm):
    copy_department = SelectField(
        _l("Department to copy in"),
        choices=[],
        validate_choice=False,
        description=_l("It sees the ticket and may add notes."),
    )


class NoteForm(FlaskForm):
    text = _text(
        _l("Working note"),
        RESPONSE_MAX,
        _l("Only the departments on this ticket read it, not the enterprise."),
        rows=3,
    )


class AssignForm(FlaskForm):
    department = SelectField(_l("Department"), choices=[], validate_choice=False)
    scope = SelectField(_l("District, or the city"), choices=[], validate_choice=False)
