"""Membership screens: ask to join (Mon compte), process requests, attach and remove users (SPEC RAT)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from .. import lists
from ..accounts.models import User
from ..events import Refused
from ..extensions import db
from ..forms import build_form, plugin_data, put_errors
from ..pagination import count, paginate_ids, within
from ..permissions import can, require
from ..structures.duplication import current_identifier
from ..structures.models import Structure
from ..structures.views import page_of
from ..validation import email_problem
from ..web import flash_decisions, form_error, is_htmx, page_arg, parse_id, redirect_to, render, url_pattern
from . import invitations, services, slots
from .forms import (
    AttachForm,
    BulkDecisionForm,
    DecisionForm,
    FindStructureForm,
    InviteForm,
    RefuseForm,
    RequestForm,
    UserSearchForm,
)
from .models import Membership, MembershipStatus, Role

bp = Blueprint("memberships", __name__)

PAGE_SIZE = 50


def _accept() -> bool:
    """The button pressed: "valider" or "refuser"; anything else is a malformed request."""
    action = request.form.get("action")
    if action not in ("valider", "refuser"):
        abort(400)
    return action == "valider"


def _ids() -> list[int]:
    return [i for i in map(parse_id, request.form.getlist("ids")) if i]


# ------------------------------------------------------------------ the user (RAT-1, RAT-2)


@bp.route("/mon-compte/rattachements/nouveau", methods=["GET", "POST"])
def request_new():
    """Find a structure by its identifier, then ask to be attached to it."""
    find = FindStructureForm(request.args)
    structure, searched = None, "identifier" in request.args
    if searched and find.validate():
        structure = services.find_structure(find.identifier_type.data, find.identifier.data)
        if structure is None:
            successor = current_identifier(find.identifier_type.data, find.identifier.data)
            find.identifier.errors = [f"Cette structure est inactive : son identifiant a changé, elle a maintenant "
                                      f"l'identifiant {successor}." if successor else
                                      "Aucune structure active n'a cet identifiant."]
    if request.method == "POST":
        # RAT-1: by its identifier, as on the screen; an id posted alone would show any structure (P6-1).
        posted = FindStructureForm(request.form)
        structure = services.find_structure(posted.identifier_type.data, posted.identifier.data or "") \
            if posted.validate() else None
        if structure is None:
            abort(404)
    form = build_form(RequestForm, "membership_request", {"structure": structure})
    if request.method == "POST":
        if form.validate():
            try:
                services.request_membership(current_user, structure, role=form.role.data,
                                            comment=form.comment.data or "", extra=plugin_data(form))
            except Refused as e:
                put_errors(form, e.errors)
            else:
                flash(f"Votre demande de rattachement à {structure.designation} est envoyée à ses gestionnaires.",
                      "success")
                return redirect_to(url_for("accounts.my_account"))
        return form_error("memberships/request.html", find=find, form=form, structure=structure, searched=True)
    return render("memberships/request.html", find=find, form=form, structure=structure, searched=searched)


@bp.post("/mon-compte/rattachements/<id:membership_id>/annuler")
def cancel(membership_id):
    membership = db.session.get(Membership, membership_id)
    if membership is None:
        abort(404)
    if services.cancel_request(current_user, membership):
        flash("Votre demande de rattachement est annulée.", "success")
    else:
        flash("Cette demande a déjà été traitée : elle ne peut plus être annulée.", "info")
    return redirect_to(url_for("accounts.my_account"))


# ------------------------------------------------------------------ the managers (RAT-3..5)


@bp.get("/gestionnaire/rattachements")
def pending():
    """"Les demandes de rattachement à une structure": every pending request the manager may decide."""
    require(current_user, "membership.decide_any")
    return _render_pending()


def _bulk_form(formdata=None):
    kwargs = {} if formdata is not None else {"formdata": None}
    return build_form(BulkDecisionForm, "membership_bulk_decision", {"actor": current_user}, **kwargs)


def _render_pending(status=200, reason_error=None, selected=(), bulk_form=None):
    """The list, page by page (a page beyond the last, after decisions emptied it: the last one). The refusal
    reason typed is given back only with the form's errors: after a decision the box starts empty, so that one
    person's reason is not sent to the next ones."""
    query = services.decidable(current_user)
    structure_id = parse_id(request.values.get("structure"))
    if structure_id:
        query = query.where(Membership.structure_id == structure_id)
    columns = lists.columns("pending_requests", actor=current_user)
    filters = lists.filters("pending_requests", actor=current_user)
    query, active = lists.apply_filters(query, filters, request.values)
    # Counted on the requests alone (no join, no ORDER BY); the page's ids from the index, then only the columns
    # shown for those 50, not three ORM objects per row.
    order = (Membership.created_at, Membership.id)
    total = count(query)
    page = within(page_arg(), total, PAGE_SIZE)
    found = paginate_ids(
        query.with_only_columns(Membership.id).order_by(*order),
        lambda ids: select(Membership.id, Membership.created_at, Membership.role, Membership.comment,
                           Structure.designation, User.first_name, User.last_name, User.login_email)
        .join(Structure, Membership.structure_id == Structure.id).join(User, Membership.user_id == User.id)
        .where(Membership.id.in_(ids)).order_by(*order),
        page=page, per_page=PAGE_SIZE, total=total)
    rows = found.items
    context = {"rows": rows, "total": found.total, "page": page, "pages": found.pages,
               "reason_error": reason_error, "structure_id": structure_id, "selected": set(selected),
               "reason": request.form.get("reason", "") if status == 422 else "",
               "bulk_form": bulk_form or _bulk_form(),
               "columns": columns, "cells": lists.cells(columns, [r.id for r in rows]),
               "role_labels": {r.value: r.label for r in Role},
               "decide_url": url_pattern("memberships.decide_one", "membership_id"),
               "filters": filters, "active": active}
    if is_htmx() and request.headers.get("HX-Target") == "demandes":
        return render("memberships/pending.html", status=status, block="requests", **context)
    return render("memberships/pending.html", status=status, **context)


@bp.post("/gestionnaire/rattachements")
def decide_many():
    """Validate or refuse the checked requests (SPEC RAT-4)."""
    require(current_user, "membership.decide_any")
    accept = _accept()
    ids = _ids()
    if not ids:
        flash("Cochez au moins une demande.", "error")
        return _after_bulk()
    form = _bulk_form(request.form)
    if not form.validate():
        return _render_pending(status=422, reason_error=" ".join(form.reason.errors) or None, selected=ids,
                               bulk_form=form)
    try:
        report = services.decide(current_user, ids, accept=accept, reason=form.reason.data or "",
                                 extra=plugin_data(form))
    except Refused as e:
        put_errors(form, {k: v for k, v in e.errors.items() if k != "reason"})
        return _render_pending(status=422, reason_error=e.errors.get("reason"), selected=ids,  # boxes stay ticked
                               bulk_form=form)
    _flash_report(report, accept)
    return _after_bulk()


def _after_bulk():
    if is_htmx():
        return _render_pending()
    return redirect_to(url_for("memberships.pending", structure=parse_id(request.form.get("structure")),
                               page=parse_id(request.form.get("page"))))


def _flash_report(report, accept):
    flash_decisions(len(report.decided), report.skipped, accept)


@bp.route("/gestionnaire/rattachements/<id:membership_id>", methods=["GET", "POST"])
def decide_one(membership_id):
    """The request screen (SPEC RAT-3): structure, user, role, comment; Valider, Refuser, Retour."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or not can(current_user, "structure.members", membership.structure):
        abort(404)
    form = build_form(DecisionForm, "membership_decision", {"membership": membership},
                      data={"role": membership.role if membership.role != Role.PRIMARY else Role.MEMBER})
    decidable = membership.status == MembershipStatus.PENDING and membership.user_id != current_user.id
    if request.method == "POST" and decidable and form.validate():
        accept = _accept()
        try:
            report = services.decide(current_user, [membership.id], accept=accept, reason=form.reason.data,
                                     role=form.role.data if accept else None, extra=plugin_data(form))
        except Refused as e:
            put_errors(form, e.errors)
        else:
            _flash_report(report, accept)
            return _back_from_decision()
    status = 422 if request.method == "POST" else 200
    return render("memberships/decide.html", status=status, membership=membership, form=form, decidable=decidable,
                  own=membership.user_id == current_user.id)


def _back_from_decision():
    """Where a decision taken from a row returns: the dashboard's block (in place with htmx), or the list."""
    if request.values.get("retour") != "tableau":
        return redirect_to(url_for("memberships.pending"))
    if is_htmx() and request.headers.get("HX-Target") == "demandes-tableau":
        return render("memberships/_dashboard.html", block="requests", **slots.dashboard(current_user))
    return redirect_to(url_for("dashboard.index"))


@bp.route("/gestionnaire/rattachements/<id:membership_id>/refuser", methods=["GET", "POST"])
def refuse_one(membership_id):
    """Refusing one request from its row: the reason is asked in a confirmation step (RAT-4, P6-12)."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or not can(current_user, "structure.members", membership.structure):
        abort(404)
    if membership.status != MembershipStatus.PENDING or membership.user_id == current_user.id:
        return redirect_to(url_for("memberships.decide_one", membership_id=membership.id))
    form = RefuseForm()
    if request.method == "POST" and form.validate():
        try:
            report = services.decide(current_user, [membership.id], accept=False, reason=form.reason.data)
        except Refused as e:
            put_errors(form, e.errors)
        else:
            _flash_report(report, False)
            if request.values.get("retour") == "tableau":
                return redirect_to(url_for("dashboard.index"))
            return redirect_to(url_for("memberships.pending"))
    status = 422 if request.method == "POST" else 200
    return render("memberships/refuse.html", status=status, membership=membership, form=form,
                  retour=request.values.get("retour", ""))


# ------------------------------------------------------------------ attach and remove (RAT-6, RAT-7)


@bp.get("/gestionnaire/rattacher")
def attach_choose():
    """From the dashboard: choose which structure to attach a user to."""
    structure_id = parse_id(request.args.get("structure"))
    if structure_id:
        return redirect(url_for("memberships.attach", structure_id=structure_id), 303)
    return redirect(url_for("dashboard.index"), 303)


@bp.route("/structures/<id:structure_id>/rattacher", methods=["GET", "POST"])
def attach(structure_id):
    """"Rattacher un utilisateur": search (one criterion at least) among the people linked to the manager's
    structures, then role, start date, comment; anyone else is invited by their address (RAT-6)."""
    structure = page_of(structure_id, "membership.attach")
    form = build_form(AttachForm, "membership_attach", {"structure": structure})
    if request.method == "POST":
        # Only someone the search could have offered: an id typed into the form names nobody else.
        user = services.attachable(current_user, parse_id(form.user_id.data))
        if form.validate():
            if user is None:
                form.user_id.errors = ["Choisissez l'utilisateur à rattacher parmi les résultats de la recherche."]
            else:
                try:
                    services.attach_user(current_user, structure, user, role=form.role.data,
                                         start_date=form.start_date.data, comment=form.comment.data or "",
                                         extra=plugin_data(form))
                except Refused as e:
                    put_errors(form, e.errors)
                else:
                    flash(f"Rattachement de {user.full_name} à {structure.designation} enregistré ; "
                          "un courriel l'en informe.", "success")
                    return redirect_to(url_for("structures.view", structure_id=structure.id) + "#s-users")
        return form_error("memberships/attach.html", **_attach_context(structure, form, chosen=user))
    return render("memberships/attach.html", **_attach_context(structure, form))


@bp.post("/structures/<id:structure_id>/inviter")
def invite(structure_id):
    """Invite, by their address, a person not yet linked to the manager's structures (RAT-6)."""
    structure = page_of(structure_id, "membership.attach")
    invite_form = InviteForm()
    if invite_form.validate():
        try:
            invitations.invite(current_user, structure, invite_form.invitee_email.data, role=invite_form.role.data,
                               start_date=invite_form.start_date.data, comment=invite_form.comment.data or "")
        except Refused as e:
            put_errors(invite_form, e.errors)
        else:
            # The same answer whether or not the address has an account (no account enumeration).
            flash(f"Une invitation a été envoyée à {invite_form.invitee_email.data.strip().lower()} : la personne sera "
                  f"rattachée à {structure.designation} quand elle l'aura acceptée.", "success")
            return redirect_to(url_for("memberships.attach", structure_id=structure.id))
    form = build_form(AttachForm, "membership_attach", {"structure": structure}, formdata=None)
    return form_error("memberships/attach.html", **_attach_context(structure, form, invite_form=invite_form))


def _attach_context(structure, form, *, chosen=None, invite_form=None) -> dict:
    """The search (criteria in the query string), its results, and the invitation form when it applies."""
    search = UserSearchForm(request.args)
    filters = lists.filters("user_search", structure=structure)
    clauses, active = lists.criteria(filters, request.args)
    results, search_error = None, None
    searched = any(request.args.get(k) for k in ("last_name", "first_name", "email")) or active
    if searched or "rechercher" in request.args:
        if search.validate():
            try:
                results = services.search_users(current_user, last_name=search.last_name.data or "",
                                                first_name=search.first_name.data or "",
                                                email=search.email.data or "", clauses=clauses)
            except Refused as e:
                search_error = e.errors[""]
    if request.method == "POST" and invite_form is None:
        if chosen is None and not results:
            search_error = "Recherchez puis choisissez l'utilisateur à rattacher."
        results = [chosen] if chosen else results
    typed = (search.email.data or "").strip().lower() if search.email.data else ""
    if invite_form is None and typed and not email_problem(typed) and typed not in {
            u.login_email for u in results or []}:
        invite_form = InviteForm(formdata=None, data={"invitee_email": typed})
    ids = [u.id for u in results or []]
    linked = dict(db.session.execute(
        select(Membership.user_id, Membership.status).where(
            Membership.structure_id == structure.id, Membership.user_id.in_(ids),
            Membership.status.in_([MembershipStatus.PENDING, MembershipStatus.VALIDATED]))
    ).all()) if ids else {}
    columns = lists.columns("user_search", structure=structure)
    return {"structure": structure, "search": search, "form": form, "results": results,
            "search_error": search_error, "filters": filters, "active": active, "columns": columns,
            "cells": lists.cells(columns, ids), "linked": linked, "invite_form": invite_form}


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token):
    """The invited person accepts or declines (RAT-6); only with the login address the invitation is for."""
    found = invitations.find(current_user, token)
    if request.method == "POST" and found is not None:
        action = request.form.get("action")
        if action not in ("accepter", "refuser"):
            abort(400)
        try:
            if action == "accepter":
                invitations.accept(current_user, token)
                flash(f"Vous êtes membre de {found.structure.designation}.", "success")
            else:
                invitations.decline(current_user, token)
                flash("Invitation refusée : rien n'a changé pour vous.", "info")
        except Refused as e:
            flash(e.errors[""], "error")
        return redirect_to(url_for("accounts.my_account"))
    return render("memberships/invitation.html", status=200 if found else 404, invitation=found,
                  gone=invitations.GONE)


@bp.post("/structures/<id:structure_id>/rattachements/supprimer")
def remove(structure_id):
    """"Supprimer rattachements": one or many, at structure level (SPEC RAT-7)."""
    structure = page_of(structure_id, "membership.remove")
    ids = _ids()
    if ids and request.form.get("confirme") != "oui":
        # A confirmation step first (P6-14): who loses access, and a button that says so.
        rows = db.session.execute(
            select(Membership, User).join(User, Membership.user_id == User.id).where(
                Membership.id.in_(ids[:services.MAX_BATCH]), Membership.structure_id == structure.id,
                Membership.status == MembershipStatus.VALIDATED, Membership.role != Role.PRIMARY)
            .order_by(func.lower(User.last_name), func.lower(User.first_name))
        ).all()
        if rows:
            return render("memberships/remove_confirm.html", structure=structure, rows=rows)
    if not ids:
        flash("Cochez au moins un utilisateur.", "error")
    else:
        try:
            n = services.remove(current_user, structure, ids)
        except Refused as e:
            flash(e.errors[""], "error")
        else:
            flash(f"{n} rattachement{'s' if n > 1 else ''} supprimé{'s' if n > 1 else ''}.", "success")
    return redirect_to(url_for("structures.view", structure_id=structure.id) + "#s-users")
