"""Passes in the browser: the e-pass page, its PDF, revocation, renewal, the driver's share link."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from permits.extensions import limiter
from permits.forms.common import ConfirmForm, show_problems
from permits.forms.revocations import RevokeForm
from permits.models import Pass, PassStatus, Role, utcnow
from permits.passes import codes, pdf
from permits.permissions import acting_user, can_view_application, public, roles_required
from permits.services import issuance, pass_documents, scans
from permits.services.errors import DomainError
from permits.validators import mask_id_number

bp = Blueprint("passes", __name__)


def _pdf_limit_key() -> str:
    who = current_user.id if current_user.is_authenticated else get_remote_address()
    return f"pdf-user:{who}"


def _rendered_a_pdf(response: Response) -> bool:
    """A 304 answered from the ETag rendered nothing; only a fresh PDF counts."""
    return response.status_code == 200


#: PDF rendering is the costliest thing a user can ask for: PDF_LIMIT per user, shared by the
#: page and the API route.
pdf_rate_limit = limiter.shared_limit(
    lambda: str(current_app.config["PDF_LIMIT"]),
    scope="pdf",
    key_func=_pdf_limit_key,
    deduct_when=_rendered_a_pdf,
)


def load_pass(number: str) -> Pass:
    """A pass the current user may see (owner, departments on its chain, admins); else 404."""
    issued = issuance.pass_by_number(number)
    if issued is None or not can_view_application(acting_user(), issued.application):
        abort(404)
    return issued


def pdf_response(issued: Pass) -> Response:
    """The PDF, identical for an unchanged pass, so the owner's browser revalidates by ETag.

    `private, no-cache` rather than `no-store`: the PDF is the pass the driver carries and shows
    (masked ID numbers, no phones), shared caches never keep it (private), and every opening
    asks the server (no-cache), so a revoked pass is never shown from a cache as the old PDF;
    an unchanged one costs a 304 instead of a render (see PDF_LIMIT). Attachments, which may
    hold anything, stay `no-store`."""
    issuance.check_not_revoked(issued)
    etag = pass_documents.version(issued)
    if request.if_none_match.contains(etag):
        response = make_response("", 304)
    else:
        response = make_response(pass_documents.render(issued))
        response.headers["Content-Type"] = "application/pdf"
        response.headers["Content-Disposition"] = f'inline; filename="pass-{issued.number}.pdf"'
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def qr_svg(text: str) -> str:
    """The QR code as an inline SVG path (crisp on any screen, no image request)."""
    modules = pdf.qr_modules(text)
    size = len(modules) + 8
    path = "".join(
        f"M{x + 4},{y + 4}h1v1h-1z"
        for y, row in enumerate(modules)
        for x, dark in enumerate(row)
        if dark
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges" role="img" aria-label="QR">'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path d="{path}" fill="#000"/></svg>'
    )


def _share_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="pass-share-link")


def share_link(issued: Pass, now: datetime) -> str:
    """A signed, expiring, read-only link to the e-pass, for the driver's phone."""
    days = int(current_app.config["SHARE_LINK_DAYS"])
    until = min(now + timedelta(days=days), issued.expires_at)
    signed = _share_serializer().dumps([issued.number, int(until.timestamp())])
    return url_for("passes.shared", signed=signed, _external=True)


def _render(
    issued: Pass,
    *,
    shared: bool,
    status: int = 200,
    link: str | None = None,
    revoke_form: RevokeForm | None = None,
) -> tuple[str, int]:
    now = utcnow()
    me = None if shared else acting_user()
    revoked = issued.status is PassStatus.REVOKED
    return render_template(
        "passes/show.html",
        issued=issued,
        application=issued.application,
        revoked=revoked,
        qr=None if revoked else qr_svg(issued.token),
        control_code=codes.format_control_code(issued.control_code),
        shared=shared,
        expired=issued.is_expired(now),
        not_yet=now < issued.not_before,
        can_revoke=me is not None and issuance.can_revoke(me, issued),
        can_renew=me is not None and issuance.can_renew(me, issued, now),
        can_share=me is not None and issued.enterprise_id == me.enterprise_id and not revoked,
        revoke_form=revoke_form if revoke_form is not None else RevokeForm(formdata=None),
        confirm_form=ConfirmForm(),
        link=link,
        mask=mask_id_number,
        scans=scans.recent_scans(pass_id=issued.id)
        if me is not None and me.role in (Role.APPROVER, Role.ADMIN, Role.SUPERVISOR)
        else [],
    ), status


@bp.get("/passes/<number>")
def show(number: str) -> tuple[str, int]:
    return _render(load_pass(number), shared=False)


@bp.get("/passes/<number>/pdf")
@pdf_rate_limit
def download(number: str) -> Response:
    try:
        return pdf_response(load_pass(number))
    except issuance.PassRevoked as refused:
        return _back_to_the_pass(number, refused)


def _back_to_the_pass(number: str, refused: DomainError) -> Response:
    """A refusal shown on the pass page itself, which says why (revoked)."""
    flash(str(refused.message), "error")
    return redirect(url_for("passes.show", number=number))


@bp.post("/passes/<number>/revoke")
@roles_required(Role.APPROVER, Role.ADMIN)
def revoke(number: str) -> Response | tuple[str, int]:
    """A refused revocation comes back on the pass's page with the reason as typed."""
    issued = load_pass(number)
    form = RevokeForm()
    if not issuance.can_revoke(acting_user(), issued):
        abort(403)
    if not form.validate_on_submit():
        return _render(issued, shared=False, status=400, revoke_form=form)
    try:
        issuance.revoke_pass(acting_user(), issued, form.reason.data or "", now=utcnow())
    except DomainError as exc:
        if not exc.fields:  # about the pass, not the form: "revoked already"
            flash(str(exc.message), "error")
            return redirect(url_for("passes.show", number=number))
        if show_problems(form, exc.fields):
            flash(str(exc.message), "error")
        return _render(load_pass(number), shared=False, status=exc.status, revoke_form=form)
    else:
        flash(_("The pass is revoked; checkpoints will refuse it."), "success")
    return redirect(url_for("passes.show", number=number))


@bp.post("/passes/<number>/renew")
@roles_required(Role.ENTERPRISE)
def renew(number: str) -> Response:
    issued = load_pass(number)
    if ConfirmForm().validate_on_submit():
        try:
            application = issuance.renew(acting_user(), issued, now=utcnow())
        except DomainError as exc:
            flash(str(exc.message), "error")
            return redirect(url_for("passes.show", number=number))
        flash(_("A renewal is drafted from this pass. Check it and submit it."), "success")
        return redirect(url_for("applications.edit", application_id=application.id))
    return redirect(url_for("passes.show", number=number))


@bp.post("/passes/<number>/share")
@roles_required(Role.ENTERPRISE)
def share(number: str) -> tuple[str, int] | Response:
    """Shows a share link once; it is not stored anywhere."""
    issued = load_pass(number)
    if (
        issued.enterprise_id != acting_user().enterprise_id
        or not ConfirmForm().validate_on_submit()
    ):
        abort(403)
    try:
        issuance.check_not_revoked(issued)
    except issuance.PassRevoked as refused:
        return _back_to_the_pass(number, refused)
    return _render(issued, shared=False, link=share_link(issued, utcnow()))


@bp.get("/p/<signed>")
@public
@limiter.limit("60 per minute")
def shared(signed: str) -> tuple[str, int]:
    """The e-pass for a driver's phone, without login; read-only and expiring."""
    try:
        number, until = _share_serializer().loads(signed)
    except (BadSignature, ValueError, TypeError):
        abort(404)
    if not isinstance(number, str) or not isinstance(until, int) or until < utcnow().timestamp():
        abort(404)
    issued = issuance.pass_by_number(number)
    if issued is None:
        abort(404)
    return _render(issued, shared=True)
