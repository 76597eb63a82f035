"""Screens of the technical user (SPEC TEC-1, TEC-2): create, export the credentials once, reset the password."""
from __future__ import annotations

import re

from flask import Blueprint, Response, abort, flash, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from chorus.events import Refused
from chorus.forms import put_errors
from chorus.permissions import can
from chorus.structures.views import page_of
from chorus.web import form_error, redirect_to, render

from . import services
from .forms import CreateTechnicalUserForm

bp = Blueprint("technical_users", __name__, template_folder="templates")

BASE = "/structures/<id:structure_id>/utilisateur-technique"


def record_section(structure):
    """The "Utilisateur technique" block of the record (STR-9), for the structure's managers."""
    if not can(current_user, "structure.edit", structure):
        return None
    return Markup(render_template("technical_users/_section.html", structure=structure,
                                  technical=services.of_structure(structure.id),
                                  can_manage=services.may_manage(current_user, structure)))


def _back(structure):
    return redirect_to(url_for("structures.view", structure_id=structure.id) + "#s-technique")


@bp.route(f"{BASE}/nouveau", methods=["GET", "POST"])
def create(structure_id):
    """"Créer un utilisateur technique" (TEC-1): the primary manager gives its login address."""
    structure = page_of(structure_id, "technical_user.manage")
    if services.of_structure(structure.id) is not None:
        flash("Cette structure a déjà un utilisateur technique.", "info")
        return _back(structure)
    form = CreateTechnicalUserForm()
    if form.validate_on_submit():
        try:
            services.create(current_user, structure, form.login_email.data, form.contact_email.data or "")
        except Refused as e:
            put_errors(form, e.errors)
        else:
            flash("L'utilisateur technique est créé. Cliquez sur « Exporter les informations de connexion » pour "
                  "valider sa création et obtenir son mot de passe.", "success")
            return _back(structure)
        return form_error("technical_users/create.html", structure=structure, form=form)
    if form.is_submitted():
        return form_error("technical_users/create.html", structure=structure, form=form)
    return render("technical_users/create.html", structure=structure, form=form)


@bp.post(f"{BASE}/exporter")
def export(structure_id):
    """"Exporter les informations de connexion" (TEC-1): a file, once; a second time is refused with a message."""
    structure = page_of(structure_id, "technical_user.manage")
    try:
        credentials = services.export_credentials(current_user, structure)
    except Refused as e:
        flash(e.errors.get("", " ".join(e.errors.values())), "error")
        return _back(structure)
    body = render_template("technical_users/credentials.txt", structure=structure, credentials=credentials)
    name = "informations-de-connexion-" + re.sub(r"[^A-Za-z0-9_-]", "_", structure.identifier)[:80] + ".txt"
    response = Response(body, mimetype="text/plain")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"  # never kept by a browser or a proxy
    return response


@bp.route(f"{BASE}/reinitialiser", methods=["GET", "POST"])
def reset(structure_id):
    """"Réinitialiser le mot de passe de l'utilisateur technique" (TEC-2), after a confirmation."""
    structure = page_of(structure_id, "technical_user.manage")
    technical = services.of_structure(structure.id)
    if technical is None:
        abort(404)
    if not technical.credentials_exported_at:
        flash("Le mot de passe n'a pas encore été délivré : exportez les informations de connexion.", "info")
        return _back(structure)
    if request.method == "POST":
        try:
            services.reset_password(current_user, structure)
        except Refused as e:
            flash(e.errors.get("", " ".join(e.errors.values())), "error")
        else:
            flash("Le mot de passe de l'utilisateur technique est réinitialisé : l'ancien ne fonctionne plus. "
                  "Exportez les informations de connexion pour obtenir le nouveau, puis transmettez-le à votre "
                  "système d'information.", "success")
        return _back(structure)
    return render("technical_users/reset_confirm.html", structure=structure, technical=technical)
