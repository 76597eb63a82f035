"""Structure screens: create (private, public), consult, "Modification de la structure", Historique."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user

from ..events import Refused
from ..extensions import db
from ..forms import build_form, plugin_data, put_errors
from ..history import services as history
from ..history.models import HistoryEntry
from ..permissions import can
from ..plugins import hook
from ..spaces import set_current
from ..web import form_error, is_htmx, page_arg, redirect_to, render
from . import services
from .duplication import successor_of
from .forms import CreatePublicStructureForm, CreateStructureForm

bp = Blueprint("structures", __name__)


def page_of(structure_id: int, action: str = "structure.view"):
    """The structure a page is about (404 or 403 as `get_for` decides), its space's tab highlighted."""
    structure = services.get_for(current_user, structure_id, action)
    set_current(services.space_of(current_user, structure))
    return structure

HISTORY_PAGE_SIZE = 50


def _data(form) -> services.StructureData:
    extra = form.data_for_service()
    extra.pop("address")
    return services.StructureData(identifier_type=form.identifier_type.data, identifier=form.identifier.data,
                                  designation=form.designation.data, address=form.address.data, fields=extra)


@bp.route("/structures/nouvelle", methods=["GET", "POST"])
def create_private():
    """"Créer une fiche structure" (private structures; SPEC STR-2)."""
    form = CreateStructureForm()
    if form.validate_on_submit():
        try:
            structure = services.create_private(current_user, _data(form))
        except Refused as e:
            put_errors(form, e.errors)
        else:
            flash(f"La structure {structure.designation} est créée ; vous en êtes le gestionnaire principal.",
                  "success")
            return redirect_to(url_for("structures.view", structure_id=structure.id))
    if request.method == "POST":
        return form_error("structures/create.html", form=form, public=False)
    return render("structures/create.html", form=form, public=False)


@bp.route("/administration/structures/nouvelle", methods=["GET", "POST"])
def create_public():
    """A platform administrator creates a public structure (SPEC STR-2)."""
    if not can(current_user, "structure.create_public"):
        abort(403)
    form = CreatePublicStructureForm()
    if form.validate_on_submit():
        try:
            structure = services.create_public(current_user, _data(form), form.category.data,
                                               form.primary_manager.data)
        except Refused as e:
            put_errors(form, e.errors)
        else:
            flash(f"La structure publique {structure.designation} est créée.", "success")
            return redirect_to(url_for("structures.view", structure_id=structure.id))
    if request.method == "POST":
        return form_error("structures/create.html", form=form, public=True)
    return render("structures/create.html", form=form, public=True)


@bp.get("/structures/<id:structure_id>")
def view(structure_id):
    structure = page_of(structure_id)
    plugin_blocks = [(b, b.values(structure)) for b in services.record_blocks(structure) if b.save is not None]
    # SIR-4: each record shows the other's identifier, a link for those who may open it.
    predecessor = db.session.get(type(structure), structure.predecessor_id) if structure.predecessor_id else None
    successor = successor_of(structure.id)
    related = [(label, other, can(current_user, "structure.view", other)) for label, other in
               (("Structure d'origine", predecessor), ("Structure qui lui succède", successor)) if other is not None]
    return render("structures/view.html", structure=structure, plugin_blocks=plugin_blocks,
                  related=related, successor=successor,
                  can_edit=can(current_user, "structure.edit", structure),
                  can_history=can(current_user, "structure.history", structure))


def _block_form(structure, block, formdata=None):
    """The form of one edit block, with the fields plugins add to it."""
    context = {"structure": structure, "block": block.slug}
    if formdata is None:
        return build_form(block.form, "structure_block", context, formdata=None, data=block.values(structure))
    return build_form(block.form, "structure_block", context)


def _block_forms(structure, override=None):
    return [(b.slug, b.title, override[1] if override and override[0] == b.slug else _block_form(structure, b))
            for b in services.record_blocks(structure)]


@bp.get("/structures/<id:structure_id>/modifier")
def edit(structure_id):
    structure = page_of(structure_id, "structure.edit")
    return render("structures/edit.html", structure=structure, blocks=_block_forms(structure))


@bp.post("/structures/<id:structure_id>/modifier/<slug>")
def save_block(structure_id, slug):
    structure = page_of(structure_id, "structure.edit")
    block = next((b for b in services.record_blocks(structure) if b.slug == slug), None)
    if block is None:
        abort(404)
    form = _block_form(structure, block, formdata=request.form)
    saved, warnings = False, []
    if form.validate():
        extra = plugin_data(form)
        values = {f.name: f.data for f in form if f not in form.plugin_fields}
        if hasattr(form, "data_for_service"):
            values = form.data_for_service()
        try:
            result = services.save_block(current_user, structure, slug, values, extra)
        except Refused as e:
            put_errors(form, e.errors)
        else:
            saved, warnings = True, [w.message for w in result.warnings]
            message = "Modifications enregistrées." if result.changes or extra else "Aucune modification à enregistrer."
            if not is_htmx():
                flash(f"{block.title} : {message}", "success")
                for warning in warnings:  # SPEC STR-7: saved, but the manager should know
                    flash(f"Attention : {warning}", "warning")
                return redirect_to(url_for("structures.edit", structure_id=structure.id) + f"#bloc-{slug}")
            form = _block_form(structure, block)
    status = 200 if saved else 422
    context = {"structure": structure, "slug": slug, "title": block.title, "form": form, "saved": saved,
               "warnings": warnings}
    if is_htmx():
        return render("structures/_edit_block.html", status=status, block="section", **context)
    return render("structures/edit.html", status=status, structure=structure,
                  blocks=_block_forms(structure, override=(slug, form)))


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/structures/<id:structure_id>/historique")
def history_list(structure_id):
    """"Historique" (SPEC HIS-1, HIS-2), with filters."""
    structure = page_of(structure_id, "structure.history")
    labels = {}
    for result in hook().register_history_actions():
        labels.update(result or {})
    filters = {
        "action": request.args.get("action", ""),
        "comment": request.args.get("commentaire", ""),
        "since": _parse_date(request.args.get("du")),
        "until": _parse_date(request.args.get("au")),
    }
    invalid_dates = [n for n, k in (("du", "since"), ("au", "until")) if request.args.get(n) and not filters[k]]
    entries = history.page(structure.id, page=page_arg(), per_page=HISTORY_PAGE_SIZE, **filters)
    # The filter offers every action the modules declare (register_history_actions), not a
    # SELECT DISTINCT over the structure's whole history.
    actions = sorted(labels.items(), key=lambda p: p[1])
    comments = [history.VALIDATED, history.REFUSED, history.DEACTIVATED, history.REMOVED]
    args = {k: request.args[k] for k in ("action", "commentaire", "du", "au") if request.args.get(k)}
    return render("history/list.html", structure=structure, entries=entries.items, labels=labels,
                  actions=actions, comments=comments, filters=request.args, invalid_dates=invalid_dates,
                  total=entries.total, page=entries.page, pages=entries.pages, args=args)


@bp.get("/structures/<id:structure_id>/historique/<id:entry_id>")
def history_detail(structure_id, entry_id):
    """The detail of one entry (SPEC HIS-3): modules fill it through the "history_detail" slot."""
    structure = page_of(structure_id, "structure.history")
    entry = db.session.get(HistoryEntry, entry_id)
    if entry is None or entry.structure_id != structure.id:
        abort(404)
    labels = {}
    for result in hook().register_history_actions():
        labels.update(result or {})
    return render("history/detail.html", structure=structure, entry=entry, label=labels.get(entry.action,
                                                                                            entry.action))
