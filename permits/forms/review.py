"""Forms of the approvers' decisions, one application at a time or many at once."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

#: The decisions an approver chooses between; none is ticked until they choose.
DECISION_CHOICES = [
    SelectChoice("approve", _l("Approve")),
    SelectChoice("return", _l("Return for changes")),
    SelectChoice("reject", _l("Reject")),
]


class DecisionForm(FlaskForm):
    # The service says what a missing or unknown decision is (the API's answer too).
    decision = RadioField(_l("Decision"), choices=DECISION_CHOICES, validate_choice=False)
    reason_code = SelectField(_l("Reason for a rejection"), choices=[], validate_choice=False)
    comment = TextAreaField(
        _l("Comment"),
        description=_l("Required to return or reject; the enterprise sees it."),
        render_kw={"rows": 4},
    )


class BulkDecisionForm(DecisionForm):
    """One decision for the applications ticked on a queue or batch page."""

    ids = SelectMultipleField(_l("Applications"), coerce=int, choices=[], validate_choice=False)
    #: Every application listed on the page, for "select all" without JavaScript.
    page_ids = SelectMultipleField(coerce=int, choices=[], validate_choice=False)
    all_on_page = BooleanField(_l("Select all on this page"))
    next = HiddenField()
