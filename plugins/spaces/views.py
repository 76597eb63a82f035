"""Screens of the spaces module: each space's page, "Mes abonnements aux espaces" (ACC-5, ABO-1, ABO-6),
"Les demandes d'abonnement aux espaces" and the request screen (ABO-2..5), "Ajouter des espaces" (ESP-3).

Views parse, call the rules in services.py, render. The spaces' own pages need no check here: the core's guard
(chorus.spaces.guard) has refused whoever lacks the right before any of them runs (ESP-5).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from chorus.events import Refused
from chorus.extensions import db
from chorus.memberships.queries import is_manager_anywhere
from chorus.pagination import count, paginate, within
from chorus.permissions import Denied, can
from chorus.structures.models import Structure
from chorus.structures.units import units_of
from chorus.web import flash_decisions, is_htmx, page_arg, parse_id, redirect_to, render

from . import services, slots
from .catalogue import HOLDS, RIGHTS, SELF_SERVICE, SPACES, applicable
from .models import ALL_UNITS, Status, SubscriptionRequest

bp = Blueprint("spaces", __name__, template_folder="templates")
bp.add_app_template_global(services.describe, "subscription_line")

PAGE_SIZE = 50
MAX_TEXT = 2000


def _landing(space):
    def view():
        from chorus.spaces import set_current

        set_current(space.code)
        rights = [(sid, right) for (code, sid), right in services.rights_of(current_user).items()
                  if code == space.code]
        structures = dict(db.session.execute(select(Structure.id, Structure.designation).where(
            Structure.id.in_([sid for sid, _ in rights]))).all())
        return render("spaces/landing.html", space=space, holds=HOLDS[space.code], rights=sorted(
            (structures.get(sid, ""), RIGHTS[right]) for sid, right in rights))
    view.__name__ = space.endpoint.split(".")[1]
    return view


for _space in SPACES.values():
    bp.add_url_rule(f"{_space.prefix}/", endpoint=_space.endpoint.split(".")[1], view_func=_landing(_space))


# ------------------------------------------------------------------ the user (ACC-5, ABO-1, ABO-2, ABO-6)


def _lines_from_form() -> list[services.Line]:
    code, right, unit = (request.form.get(k, "") for k in ("space", "right", "unit"))
    return [services.Line(code, right, unit or ALL_UNITS)] if code else []


@bp.route("/mon-compte/abonnements", methods=["GET", "POST"])
def mine():
    """"Mes abonnements aux espaces": the subscriptions, "Factures émises" on or off, and a request form."""
    structures = services.my_structures(current_user)
    chosen = next((s for s in structures if s.id == parse_id(request.values.get("structure"))), None)
    errors, status = {}, 200
    if request.method == "POST":
        if chosen is None:
            abort(404)  # only a structure the user belongs to
        try:
            services.request_subscription(current_user, chosen, _lines_from_form(),
                                          request.form.get("comment", "")[:MAX_TEXT])
        except Refused as e:
            errors, status = e.errors, 422
        else:
            flash(f"Votre demande d'abonnement est envoyée aux gestionnaires de {chosen.designation}.", "success")
            return redirect_to(url_for("spaces.mine"))
    return render("spaces/mine.html", status=status, **slots.mine(current_user, structures, chosen), errors=errors,
                  form=request.form)


@bp.post("/mon-compte/abonnements/sans-validation")
def self_service():
    """SPEC ABO-6: "Factures émises" added or removed by the user, on one of their structures."""
    structure = next((s for s in services.my_structures(current_user)
                      if s.id == parse_id(request.form.get("structure"))), None)
    code, action = request.form.get("space", ""), request.form.get("action")
    if structure is None or code not in SELF_SERVICE or action not in ("ajouter", "retirer"):
        abort(404 if structure is None else 400)
    if SPACES[code] not in applicable(structure.is_public):
        abort(400)
    on = action == "ajouter"
    if services.set_self_service(current_user, structure, code, on):
        flash(f"« {SPACES[code].label} » {'ajouté à' if on else 'retiré de'} vos espaces sur "
              f"{structure.designation}.", "success")
    return redirect_to(url_for("spaces.mine"))


# ------------------------------------------------------------------ the managers (ABO-2..5)


def _require_manager():
    if not is_manager_anywhere(current_user):
        raise Denied()


LIST_ID = "demandes-abonnement"  # the pending list's container: htmx's target
DASHBOARD_ID = "abonnements-tableau"  # the dashboard block's table, refreshed after a decision from a row


@bp.get("/gestionnaire/abonnements")
def pending():
    """"Les demandes d'abonnement aux espaces": every pending request the manager may decide, by page."""
    _require_manager()
    return _render_pending()


def _render_pending(status=200, errors=None, selected=(), reason=""):
    """The list, page by page (a page beyond the last, after decisions emptied it: the last one). `reason`: the
    refusal reason typed, given back only with the form's errors (after a decision the box starts empty)."""
    query = services.decidable(current_user)
    total = count(query.with_only_columns(SubscriptionRequest.id))
    ordered = query.order_by(SubscriptionRequest.created_at, SubscriptionRequest.id)
    found = paginate(ordered, page=within(page_arg(), total, PAGE_SIZE), per_page=PAGE_SIZE, total=total)
    context = {"requests": slots.with_people(found.items), "total": total, "page": found.page,
               "pages": found.pages, "errors": errors or {}, "selected": set(selected), "reason": reason}
    if is_htmx() and request.headers.get("HX-Target") == LIST_ID:
        return render("spaces/pending.html", status=status, block="requests", **context)
    return render("spaces/pending.html", status=status, **context)


def _accept() -> bool:
    action = request.form.get("action")
    if action not in ("valider", "refuser"):
        abort(400)
    return action == "valider"


def _flash(report, accept):
    flash_decisions(len(report.decided), report.skipped, accept, " d'abonnement")


@bp.post("/gestionnaire/abonnements")
def decide_many():
    """Validate or refuse the checked requests (ABO-4), each as asked."""
    _require_manager()
    accept = _accept()
    ids = [i for i in map(parse_id, request.form.getlist("ids")) if i]
    if not ids:
        flash("Cochez au moins une demande.", "error")
        return _after_bulk()
    try:
        report = services.decide(current_user, ids, accept=accept, reason=request.form.get("reason", "")[:MAX_TEXT])
    except Refused as e:
        return _render_pending(status=422, errors=e.errors, selected=ids, reason=request.form.get("reason", ""))
    _flash(report, accept)
    return _after_bulk()


def _after_bulk():
    """htmx: the list refreshed in place, with the messages; otherwise back to the page the form was on."""
    if is_htmx() and request.headers.get("HX-Target") == LIST_ID:
        return _render_pending()
    return _back()


def _back():
    """Where a decision returns: the dashboard's block (in place with htmx), or the list."""
    if request.values.get("retour") == "tableau":
        if is_htmx() and request.headers.get("HX-Target") == DASHBOARD_ID:
            return render("spaces/_dashboard.html", block="requests", **slots.dashboard(current_user))
        return redirect_to(url_for("dashboard.index"))
    return redirect_to(url_for("spaces.pending", page=parse_id(request.form.get("page"))))


def _rights_from_form(req: SubscriptionRequest) -> dict[int, str | None]:
    """ABO-3: per line, Modification ticked gives modification; Consultation alone, consultation; none, refused."""
    out = {}
    for line in req.lines:
        ticked = set(request.form.getlist(f"droit-{line.id}"))
        out[line.id] = "modification" if "modification" in ticked else "consultation" if "consultation" in ticked \
            else None
    return out


@bp.route("/gestionnaire/abonnements/<id:request_id>", methods=["GET", "POST"])
def decide_one(request_id):
    """The request screen (ABO-2, ABO-3): structure, user, spaces asked per service and right, comment;
    Consultation / Modification ticked per space, a comment; Valider, Refuser."""
    req = services.decidable_request(current_user, request_id)
    errors, status = {}, 200
    if request.method == "POST":
        if req.status != Status.PENDING:
            flash("Cette demande a déjà été traitée.", "info")
            return redirect_to(url_for("spaces.decide_one", request_id=req.id))
        accept = _accept()
        try:
            report = services.decide(
                current_user, [req.id], accept=accept, reason=request.form.get("reason", "")[:MAX_TEXT],
                comment=request.form.get("comment", "")[:MAX_TEXT],
                rights=_rights_from_form(req) if accept and request.form.get("quick") != "1" else None)
        except Refused as e:
            errors, status = e.errors, 422
        else:
            _flash(report, accept)
            return _back()
    return render("spaces/decide.html", status=status, req=req, errors=errors, form=request.form,
                  rights=RIGHTS, space_catalogue=SPACES, all_label=services.ALL_UNITS_LABEL)


@bp.route("/gestionnaire/abonnements/<id:request_id>/refuser", methods=["GET", "POST"])
def refuse_one(request_id):
    """Refusing one request from its row: the reason asked in a confirmation step (ABO-3)."""
    req = services.decidable_request(current_user, request_id)
    if req.status != Status.PENDING:
        return redirect_to(url_for("spaces.decide_one", request_id=req.id))
    errors, status = {}, 200
    if request.method == "POST":
        try:
            report = services.decide(current_user, [req.id], accept=False,
                                     reason=request.form.get("reason", "")[:MAX_TEXT])
        except Refused as e:
            errors, status = e.errors, 422
        else:
            _flash(report, False)
            return _back()
    return render("spaces/refuse.html", status=status, req=req, errors=errors, form=request.form,
                  retour=request.values.get("retour", ""))


# ------------------------------------------------------------------ the structure (ESP-3, ESP-4)


@bp.route("/structures/<id:structure_id>/espaces", methods=["GET", "POST"])
def add_spaces(structure_id):
    """"Ajouter des espaces": "Tous les services" or chosen services; Consultation / Modification per space."""
    structure = db.session.get(Structure, structure_id)
    if structure is None or not can(current_user, "structure.view", structure):
        abort(404)
    if not can(current_user, "structure.edit", structure):
        raise Denied()
    errors, status = {}, 200
    if request.method == "POST":
        units = request.form.getlist("units")
        rights = {code: ("modification" if "modification" in request.form.getlist(f"droit-{code}") else
                         "consultation" if "consultation" in request.form.getlist(f"droit-{code}") else None)
                  for code in SPACES}
        try:
            made = services.add_structure_spaces(current_user, structure, units, rights)
        except Refused as e:
            errors, status = e.errors, 422
        else:
            flash(f"Espaces ajoutés à la structure ; {made} demande{'s' if made > 1 else ''} d'abonnement "
                  f"envoyée{'s' if made > 1 else ''} à ses utilisateurs.", "success")
            return redirect_to(url_for("structures.view", structure_id=structure.id))
    return render("spaces/add_spaces.html", status=status, structure=structure, units=units_of(structure),
                  offered=applicable(structure.is_public), space_catalogue=SPACES,
                  current=services.structure_spaces(structure.id),
                  all_units=ALL_UNITS, all_label=services.ALL_UNITS_LABEL, errors=errors, form=request.form,
                  rights=RIGHTS)
