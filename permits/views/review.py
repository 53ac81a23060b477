"""The approvers' queue and their decisions (the file itself is applications.show)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from permits import regions
from permits.extensions import db
from permits.forms.common import show_problems
from permits.forms.review import BulkDecisionForm, DecisionForm
from permits.i18n import current_locale_name
from permits.inputs import int_arg, local_path
from permits.labels import CARGO_NAMES, KIND_NAMES, reject_reason_choices
from permits.models import ApplicationBatch, CargoCategory, Kind, Role, utcnow
from permits.permissions import acting_user, can_view_application, roles_required
from permits.services import batch_review, review_queue, reviews
from permits.services.errors import DomainError, ValidationFailed
from permits.views.applications import load_application, render_application

bp = Blueprint("review", __name__, url_prefix="/review")

PAGE_SIZE = 25


def _enum_arg(
    args: Mapping[str, str], name: str, enum_type: type[Kind] | type[CargoCategory]
) -> Kind | CargoCategory | None:
    value = args.get(name) or None
    try:
        return enum_type(value) if value else None
    except ValueError:
        return None


@bp.get("/")
@roles_required(Role.APPROVER)
def queue() -> str:
    """What waits at my department's step: soonest due first, overdue highlighted."""
    return queue_page(request.args, bulk_decision_form(request.full_path.rstrip("?")))[0]


def queue_page(
    args: Mapping[str, str], bulk_form: BulkDecisionForm, status: int = 200
) -> tuple[str, int]:
    """A page of the queue as `args` filter it, with the bulk form as given (a refused one too)."""
    kind = _enum_arg(args, "kind", Kind)
    cargo = _enum_arg(args, "cargo_category", CargoCategory)
    filters = review_queue.QueueFilter(
        kind=kind if isinstance(kind, Kind) else None,
        district=args.get("district") or None,
        cargo_category=cargo if isinstance(cargo, CargoCategory) else None,
        overdue=args.get("overdue") == "1",
        search=(args.get("q") or "")[:100],
    )
    now = utcnow()
    items = review_queue.queue(
        acting_user(), filters, now=now, after=args.get("after"), limit=PAGE_SIZE + 1
    )
    more = review_queue.encode_cursor(items[PAGE_SIZE - 1]) if len(items) > PAGE_SIZE else None
    locale = current_locale_name()
    items = items[:PAGE_SIZE]
    return render_template(
        "review/queue.html",
        items=items,
        more=more,
        batches=batch_review.batch_summaries(
            acting_user(), sorted({a.batch_id for a in items if a.batch_id is not None})
        ),
        bulk_form=bulk_form,
        picked=_picked(bulk_form),
        max_bulk=batch_review.MAX_BULK,
        filters=filters,
        now=now,
        kinds=[SelectChoice(k.value, str(label)) for k, label in KIND_NAMES.items()],
        cargos=[SelectChoice(c.value, str(label)) for c, label in CARGO_NAMES.items()],
        districts=[
            SelectChoice(d.code, d.name(locale))
            for d in regions.districts(current_app.config["CITY_CODE"])
        ],
    ), status


@bp.post("/<int:application_id>/decision")
@roles_required(Role.APPROVER)
def decide(application_id: int) -> Response | tuple[str, int]:
    """Approve, return or reject; a late second decision is told who decided first.

    A refused decision comes back on the file's page with the choice and the comment exactly
    as sent and the message beside its field: never a reload that shows another choice.
    """
    application = load_application(application_id)
    form = DecisionForm()
    form.reason_code.choices = reject_reason_choices()
    if not form.validate_on_submit():
        return render_application(application, decision_form=form, status=400)
    try:
        reviews.decide(
            acting_user(),
            application,
            form.decision.data or "",
            comment=form.comment.data or "",
            reason_code=form.reason_code.data or None,
            now=utcnow(),
        )
    except ValidationFailed as exc:
        show_problems(form, exc.fields)
        return render_application(load_application(application_id), decision_form=form, status=422)
    except DomainError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("applications.show", application_id=application_id))
    flash(_("Your decision is recorded."), "success")
    return redirect(url_for("review.queue"))


# --- many at once: a page of the queue, or a batch ----------------------------------------


def bulk_decision_form(back: str) -> BulkDecisionForm:
    form = BulkDecisionForm(formdata=None, next=back)
    form.reason_code.choices = reject_reason_choices()
    return form


def _back_to(target: str | None) -> str:
    """Where a bulk decision came from: a page of /review/, nothing else."""
    queue = url_for("review.queue")
    return local_path(target, queue, under=queue)


def _picked(form: BulkDecisionForm) -> set[int] | None:
    """The rows a refused bulk form had ticked (None on a fresh page: the page's default)."""
    return set(form.ids.data or []) if form.is_submitted() else None


def _bulk_page_again(back: str, form: BulkDecisionForm, *, status: int) -> tuple[str, int]:
    """The queue or batch page the refused bulk form was sent from, with the form as sent."""
    form.reason_code.choices = reject_reason_choices()
    parts = urlsplit(back)
    args = MultiDict(parse_qsl(parts.query))
    try:
        endpoint, values = current_app.url_map.bind("").match(parts.path, method="GET")
    except HTTPException:
        endpoint, values = "review.queue", {}
    if endpoint == "review.batch":
        return batch_page(int(values["batch_id"]), args, form, status)
    return queue_page(args, form, status)


@bp.post("/decisions")
@roles_required(Role.APPROVER)
def decide_many() -> tuple[str, int] | str:
    """One decision for the ticked applications; each is decided on its own and reported."""
    form = BulkDecisionForm()
    back = _back_to(form.next.data)
    if not form.validate_on_submit():
        return _bulk_page_again(back, form, status=400)
    me = acting_user()
    chosen = (form.page_ids.data if form.all_on_page.data else form.ids.data) or []
    try:
        ids = batch_review.check_bulk_ids(chosen)
        found = batch_review.load_applications(ids)
        visible = {i: a for i, a in found.items() if can_view_application(me, a)}
        outcomes = batch_review.decide_many(
            me,
            ids,
            visible,
            form.decision.data or "",
            comment=form.comment.data or "",
            reason_code=form.reason_code.data or None,
            now=utcnow(),
        )
    except ValidationFailed as exc:
        show_problems(form, exc.fields)
        return _bulk_page_again(back, form, status=422)
    return render_template(
        "review/bulk_result.html",
        outcomes=outcomes,
        applications=visible,
        decided=sum(1 for o in outcomes if o.is_decided),
        back=back,
    )


@bp.get("/batches/<int:batch_id>")
@roles_required(Role.APPROVER)
def batch(batch_id: int) -> str:
    """A batch's applications at my step, a page at a time, with one decision for them all."""
    return batch_page(batch_id, request.args, bulk_decision_form(request.full_path.rstrip("?")))[0]


def batch_page(
    batch_id: int, args: Mapping[str, str], bulk_form: BulkDecisionForm, status: int = 200
) -> tuple[str, int]:
    found = db.session.get(ApplicationBatch, batch_id) if batch_id <= batch_review.MAX_ID else None
    me = acting_user()
    if found is None or not batch_review.can_see_batch(me, found):
        abort(404)
    after = int_arg("after", high=batch_review.MAX_ID, args=args)
    page = batch_review.MAX_BULK
    items = batch_review.batch_at_my_step(me, found, after_id=after, limit=page + 1)
    return render_template(
        "review/batch.html",
        batch=found,
        summary=batch_review.batch_summaries(me, [found.id]).get(found.id),
        items=items[:page],
        more=items[page - 1].id if len(items) > page else None,
        bulk_form=bulk_form,
        picked=_picked(bulk_form),
        max_bulk=batch_review.MAX_BULK,
        now=utcnow(),
    ), status
