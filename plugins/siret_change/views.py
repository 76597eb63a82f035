"""« Modifier l'identifiant » (SPEC SIR-1): a confirmation (« Continuer »), the new SIRET, a last confirmation."""
from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_login import current_user

from chorus.events import Refused
from chorus.forms import put_errors
from chorus.permissions import Denied
from chorus.spaces import set_current
from chorus.structures import duplication
from chorus.structures import services as structures
from chorus.web import form_error, redirect_to, render

from . import services
from .forms import ConfirmForm, IdentifierForm

bp = Blueprint("siret_change", __name__, template_folder="templates")


def _structure(structure_id: int):
    """The structure, for its managers only (403; 404 for those who may not see it)."""
    structure = structures.get_for(current_user, structure_id, "structure.view")
    if not services.may_change(current_user, structure):
        raise Denied(hidden=False)
    set_current(structures.space_of(current_user, structure))
    return structure


def _context(structure) -> dict:
    return {"structure": structure, "not_carried": duplication.NOT_CARRIED_LABEL}


@bp.get("/structures/<id:structure_id>/modifier-identifiant")
def start(structure_id):
    """Step 1: what the change does; « Continuer »."""
    return render("siret_change/start.html", **_context(_structure(structure_id)))


@bp.route("/structures/<id:structure_id>/modifier-identifiant/nouveau", methods=["GET", "POST"])
def new_identifier(structure_id):
    """Step 2: the new SIRET, checked (valid, unused); then step 3, the last confirmation (nothing written yet)."""
    structure = _structure(structure_id)
    form = IdentifierForm()
    if form.validate_on_submit():
        try:
            identifier = services.check(current_user, structure, form.identifier.data)
        except Refused as e:
            put_errors(form, e.errors)
        else:
            return render("siret_change/confirm.html", form=ConfirmForm(data={"identifier": identifier}),
                          identifier=identifier, **_context(structure))
    if request.method == "POST":
        return form_error("siret_change/identifier.html", form=form, **_context(structure))
    return render("siret_change/identifier.html", form=form, **_context(structure))


@bp.post("/structures/<id:structure_id>/modifier-identifiant/confirmer")
def confirm(structure_id):
    """Step 3 confirmed: the successor is made; its record opens."""
    structure = _structure(structure_id)
    confirmed = ConfirmForm()
    form = IdentifierForm(formdata=None, data={"identifier": confirmed.identifier.data or ""})
    if not confirmed.validate_on_submit():
        put_errors(form, {"identifier": "Saisissez le nouvel identifiant."})
    else:
        try:
            successor = services.change_identifier(current_user, structure, confirmed.identifier.data)
        except Refused as e:
            put_errors(form, e.errors)
        else:
            flash(f"L'identifiant est modifié : la structure {successor.designation} a maintenant l'identifiant "
                  f"{successor.identifier} ; l'ancienne fiche ({structure.identifier}) est désactivée.", "success")
            return redirect_to(url_for("structures.view", structure_id=successor.id))
    return form_error("siret_change/identifier.html", form=form, **_context(structure))
