"""Administration screens: create accounts (PIGP), watch and retry the e-mail outbox."""
from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from ..accounts import services as accounts
from ..accounts.models import AccountOrigin
from ..events import Refused
from ..extensions import db
from ..forms import build_form, plugin_data, put_errors
from ..mail.models import MailStatus, OutboxMessage
from ..mail.outbox import rendered
from ..mail.sender import retry
from ..pagination import page_count, paginate
from ..permissions import require
from ..web import form_error, page_arg, redirect_to, render
from .forms import AdminAccountForm

bp = Blueprint("admin", __name__, url_prefix="/administration")


@bp.before_request
def _admins_only():
    require(current_user, "admin.access")


@bp.get("/")
def index():
    counts = dict(
        db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    )
    return render("admin/index.html", counts={s: counts.get(s, 0) for s in MailStatus})


@bp.route("/comptes/nouveau", methods=["GET", "POST"])
def create_account():
    form = build_form(AdminAccountForm, "account_create", {"actor": current_user})
    del form.for_whom
    if form.validate_on_submit():
        data = accounts.AccountData(
            last_name=form.last_name.data, first_name=form.first_name.data, login_email=form.login_email.data,
            contact_email=form.contact_email.data or "", phone=form.phone.data or "",
        )
        try:
            user = accounts.register(data, actor=current_user, origin=AccountOrigin.ADMIN,
                                     is_pigp=form.is_pigp.data, extra=plugin_data(form))
        except Refused as e:
            put_errors(form, e.errors)
        else:
            flash(f"Le compte de {user.full_name} est créé ; un courriel d'activation lui est envoyé.", "success")
            return redirect_to(url_for("admin.index"))
    if request.method == "POST":
        return form_error("admin/create_account.html", form=form)
    return render("admin/create_account.html", form=form)


PAGE_SIZE = 50


@bp.get("/courriels")
def outbox():
    status = request.args.get("statut", MailStatus.FAILED.value)  # "statut": the query is in French
    if status not in {s.value for s in MailStatus}:
        status = MailStatus.FAILED.value
    messages = paginate(select(OutboxMessage).where(OutboxMessage.status == status).order_by(
        OutboxMessage.id.desc()), page=page_arg(), per_page=PAGE_SIZE)
    # Mails queued in bulk are rendered by the sender: until then, their subject is rendered here.
    subjects = {m.id: rendered(m)[0] for m in messages.items if m.context is not None}
    return render("admin/outbox.html", messages=messages.items, subjects=subjects, current=status,
                  status_label=MailStatus(status).label, statuses=list(MailStatus), total=messages.total,
                  page=messages.page, pages=messages.pages)


@bp.post("/courriels/<id:message_id>/relancer")
def retry_message(message_id):
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if retry(current_user, message):
        flash(f"Le courriel à {message.to_addr} est remis dans la file d'envoi.", "success")
    else:
        flash("Ce courriel n'est pas en échec.", "info")
    return redirect_to(url_for("admin.outbox"))


@bp.get("/structures")
def structures():
    """Every structure, for platform administrators (read-only records)."""
    from ..structures import services as structures_services

    q = request.args.get("q", "")[:200]
    page = page_arg()
    rows, total = structures_services.search(current_user, "structure.view", q, page=page, per_page=PAGE_SIZE)
    return render("admin/structures.html", structures=rows, total=total, q=q, page=page,
                  pages=page_count(total, PAGE_SIZE))
