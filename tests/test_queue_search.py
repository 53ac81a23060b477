"""The queue's search and keyset pages as rewritten for city scale: one kind of match per term,
and pages that follow the due time and id exactly, ties included."""

from __future__ import annotations

from flask import Flask

from permits.extensions import db
from permits.models import Application, utcnow
from permits.services import review_queue
from permits.services.review_queue import QueueFilter
from tests.factories import make_approver
from tests.test_queue import submitted


def test_a_name_that_begins_like_a_plate_is_still_found_by_name(app: Flask) -> None:
    east = submitted(1, name="沪东物流有限公司")  # plate 沪A10000
    other = submitted(1, name="上海西郊物流有限公司", plate="沪A20000")
    approver = make_approver("commerce", "310115")

    def ids(term: str) -> list[int]:
        found = review_queue.queue(approver, QueueFilter(search=term), now=utcnow())
        return [a.id for a in found]

    assert ids("沪东") == east
    assert ids("西郊") == other
    assert ids("沪a3") == []  # the plates are 沪A10000 and 沪A20000
    assert ids("沪A10000") == east
    assert ids("沪a2") == other  # a plate typed in lower case, by its beginning


def test_pages_of_the_queue_cover_tied_due_times_once_each(app: Flask) -> None:
    app_ids = submitted(7)
    due = utcnow()
    for app_id in app_ids:  # every one due at the same moment: only the id orders them
        db.session.get(Application, app_id).step_due_at = due
    db.session.commit()
    approver = make_approver("commerce", "310115")
    seen: list[int] = []
    after = None
    while True:
        page = review_queue.queue(approver, QueueFilter(), now=utcnow(), after=after, limit=3)
        seen += [a.id for a in page]
        if len(page) < 3:
            break
        after = review_queue.encode_cursor(page[-1])
    assert seen == sorted(app_ids)
