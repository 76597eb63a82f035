"""Activités du gestionnaire: the dashboard and its "Mes structures" search (SPEC MGR-1, MGR-2)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, request, session, url_for
from flask_login import current_user

from ..accounts.services import normalize_email
from ..events import Refused
from ..forms import build_form, plugin_data, put_errors
from ..permissions import require
from ..structures import services
from ..web import form_error, page_arg, parse_id, redirect_to, render
from . import ACTIVITES_GESTIONNAIRE

bp = Blueprint("dashboard", __name__, url_prefix="/gestionnaire")

PAGE_SIZE = 20


@bp.before_request
def _managers_only():
    require(current_user, "space.access", ACTIVITES_GESTIONNAIRE)


@bp.get("/")
def index():
    q = request.args.get("q", "")[:200]
    page = page_arg()
    found = services.search(current_user, "structure.edit", q, page=page, per_page=PAGE_SIZE)
    context = {"structures": found.items, "total": found.total, "q": q, "page": page, "pages": found.pages}
    if request.headers.get("HX-Target") == "mes-structures-resultats":
        return render("dashboard/index.html", block="results", **context)
    return render("dashboard/index.html", **context)


AFTER_CREATION = "compte_cree"  # session key: the address of the account just created, for the page that follows


@bp.route("/comptes/nouveau", methods=["GET", "POST"])
def create_account():
    """"Créer le compte utilisateur" (SPEC USR-4, ACC-3): first the structure to attach the person to (one of the
    manager's, MGR-2), then the person's data and the terms of the membership, with the plugins' fields."""
    from ..accounts.services import AccountData
    from ..memberships import creation
    from ..memberships.forms import CreateAccountForm
    from ..memberships.slots import managed_choices
    from ..structures.views import page_of

    structure_id = parse_id(request.values.get("structure"))
    structure = page_of(structure_id, "membership.attach") if structure_id else None
    if structure is None:
        if request.method == "POST":
            abort(400)
        return render("dashboard/create_account.html", structure=None, form=None, **managed_choices(current_user))
    form = build_form(CreateAccountForm, "membership_attach", {"structure": structure})
    if request.method == "POST":
        if form.validate():
            data = AccountData(last_name=form.last_name.data, first_name=form.first_name.data,
                               login_email=form.login_email.data, contact_email=form.contact_email.data or "",
                               phone=form.phone.data or "")
            terms = creation.AttachmentTerms(role=form.role.data, start_date=form.start_date.data,
                                             comment=form.comment.data or "", extra=plugin_data(form))
            try:
                creation.create_and_attach(current_user, structure, data, terms)
            except Refused as e:
                put_errors(form, e.errors)
            else:
                # The same words whether the account was created or its owner invited (RAT-6: no enumeration).
                flash(f"Demande enregistrée pour {normalize_email(data.login_email)} : si cette adresse n'avait pas "
                      f"de compte, il est créé et rattaché à {structure.designation}, et la personne reçoit le "
                      "courriel d'activation ; si elle en avait un, la personne reçoit une invitation à rejoindre "
                      "la structure.", "success")
                # The address for the next page, kept in the session rather than the URL (history, logs).
                session[AFTER_CREATION] = normalize_email(data.login_email)
                return redirect_to(url_for("dashboard.create_account", structure=structure.id))
        return form_error("dashboard/create_account.html", structure=structure, form=form)
    # After a creation: the same person can be attached to the manager's other structures too ("at once to
    # chosen structures and services"), each through its "Rattacher un utilisateur" screen and its services.
    created = session.pop(AFTER_CREATION, "") if request.method == "GET" else ""
    others = [s for s in managed_choices(current_user)["managed"] if s.id != structure.id] if created else []
    return render("dashboard/create_account.html", structure=structure, form=form, created=created if others else "",
                  others=others)
