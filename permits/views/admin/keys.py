"""Signing keys: their periods, how many valid passes each signed; rotation."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from permits.forms.common import ConfirmForm
from permits.models import utcnow
from permits.permissions import acting_user
from permits.services import signing_keys
from permits.views.admin import bp


@bp.get("/keys")
def keys() -> str:
    now = utcnow()
    return render_template(
        "admin/keys.html", rows=signing_keys.overview(now), confirm_form=ConfirmForm()
    )


@bp.post("/keys/rotate")
def keys_rotate() -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    key = signing_keys.rotate(acting_user(), now=utcnow())
    flash(_("New signing key %(kid)s; the old keys stay published.", kid=key.kid_hex), "success")
    return redirect(url_for("admin.keys"))
