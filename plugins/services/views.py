"""Service screens: the list, "Ajouter des services", a service's page, modify, delete (SPEC SRV), and the
suppliers' page (SRV-7, SRV-8). Views parse, call `services`, render."""
from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from chorus.accounts.models import User
from chorus.events import Refused
from chorus.extensions import db
from chorus.forms import put_errors
from chorus.memberships.models import Membership, MembershipStatus
from chorus.memberships.services import find_structure
from chorus.pagination import page_count
from chorus.permissions import can
from chorus.structures.views import page_of
from chorus.web import form_error, is_htmx, page_arg, parse_id, redirect_to, render

from . import services
from .forms import CheckForm, LookupForm, ServiceForm
from .models import MembershipService, ServiceStatus

bp = Blueprint("services", __name__, template_folder="templates")

PAGE_SIZE = 50
USERS_PAGE_SIZE = 50


def _data(form) -> services.ServiceData:
    return services.ServiceData(code=form.code.data or "", label=form.label.data or "",
                                description=form.description.data or "", start_date=form.start_date.data,
                                end_date=form.end_date.data, engagement_required=bool(form.engagement_required.data))


def _service_of(structure, service_id):
    service = services.get(structure.id, service_id)
    if service is None:
        abort(404)
    return service


def list_context(structure, page: int = 1, per_page: int = PAGE_SIZE) -> dict:
    rows, total = services.page_of_services(structure.id, page, per_page)
    return {"structure": structure, "services": rows, "total": total, "page": page,
            "pages": page_count(total, per_page), "today": services.today(),
            "can_manage": can(current_user, "structure.edit", structure)}


@bp.get("/structures/<id:structure_id>/services")
def index(structure_id):
    """The services of a structure: its users see them, its managers manage them (SRV-5)."""
    structure = page_of(structure_id)
    return render("services/index.html", **list_context(structure, page_arg()))


@bp.route("/structures/<id:structure_id>/services/nouveau", methods=["GET", "POST"])
def create(structure_id):
    """"Ajouter des services": "Valider", or "Valider et créer un autre service" (SPEC SRV-5)."""
    structure = page_of(structure_id, "structure.edit")
    form = ServiceForm()
    if request.method == "POST":
        another = request.form.get("action") == "autre"
        if form.validate():
            try:
                service = services.create(current_user, structure, _data(form))
            except Refused as e:
                put_errors(form, e.errors)
            else:
                flash(f"Le service {service.code} est créé.", "success")
                if not another:  # SPEC SRV-6: its page shows its spaces and its users
                    return redirect_to(url_for("services.view", structure_id=structure.id, service_id=service.id))
                if is_htmx():  # the next service's empty form, in place
                    return render("services/form.html", structure=structure, service=None,
                                  form=ServiceForm(formdata=None))
                return redirect_to(url_for("services.create", structure_id=structure.id))
        return form_error("services/form.html", structure=structure, service=None, form=form)
    return render("services/form.html", structure=structure, service=None, form=form)


@bp.get("/structures/<id:structure_id>/services/<id:service_id>")
def view(structure_id, service_id):
    """A service, its spaces and the users attached to it (SPEC SRV-6)."""
    structure = page_of(structure_id)
    service = _service_of(structure, service_id)
    page = page_arg()
    base = select(MembershipService.id).join(Membership, MembershipService.membership_id == Membership.id).where(
        MembershipService.service_id == service.id, MembershipService.status == ServiceStatus.VALIDATED,
        Membership.status == MembershipStatus.VALIDATED)
    total = db.session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    users = db.session.execute(
        select(User, Membership).join(Membership, Membership.user_id == User.id)
        .join(MembershipService, MembershipService.membership_id == Membership.id)
        .where(MembershipService.id.in_(base))
        .order_by(func.lower(User.last_name), func.lower(User.first_name), User.id)
        .limit(USERS_PAGE_SIZE).offset((page - 1) * USERS_PAGE_SIZE)
    ).all()
    return render("services/view.html", structure=structure, service=service, users=users, total=total, page=page,
                  pages=max((total + USERS_PAGE_SIZE - 1) // USERS_PAGE_SIZE, 1), today=services.today(),
                  can_manage=can(current_user, "structure.edit", structure))


@bp.route("/structures/<id:structure_id>/services/<id:service_id>/modifier", methods=["GET", "POST"])
def edit(structure_id, service_id):
    structure = page_of(structure_id, "structure.edit")
    service = _service_of(structure, service_id)
    if service.is_default:  # SPEC SRV-3: the page of a locked service says so, no form
        return render("services/locked.html", status=403 if request.method == "POST" else 200,
                      structure=structure, service=service, message=services.LOCKED)
    form = ServiceForm(obj=service) if request.method == "GET" else ServiceForm()
    if request.method == "POST":
        if form.validate():
            try:
                changes = services.update(current_user, structure, service, _data(form))
            except Refused as e:
                put_errors(form, e.errors)
            else:
                flash(f"Le service {service.code} est modifié." if changes else "Aucune modification à enregistrer.",
                      "success")
                return redirect_to(url_for("services.view", structure_id=structure.id, service_id=service.id))
        return form_error("services/form.html", structure=structure, service=service, form=form)
    return render("services/form.html", structure=structure, service=service, form=form)


@bp.post("/structures/<id:structure_id>/services/supprimer")
def delete(structure_id):
    """Delete the checked services, after a confirmation step (SPEC SRV-5); FACTURES_PUBLIQUES never (SRV-3)."""
    structure = page_of(structure_id, "structure.edit")
    ids = [i for i in map(parse_id, request.form.getlist("ids")) if i]
    chosen = services.deletable(structure.id, ids)
    back = url_for("services.index", structure_id=structure.id)
    if not chosen:
        flash("Cochez au moins un service.", "error")
        return redirect_to(back)
    if any(s.is_default for s in chosen):
        flash(services.LOCKED, "error")
        return redirect_to(back)
    if request.form.get("confirme") != "oui":
        return render("services/delete_confirm.html", structure=structure, services=chosen)
    try:
        n = services.delete_many(current_user, structure, [s.id for s in chosen])
    except Refused as e:
        flash(" ".join(e.errors.values()), "error")
    else:
        flash(f"{n} service{'s' if n > 1 else ''} supprimé{'s' if n > 1 else ''}.", "success")
    return redirect_to(back)


@bp.get("/fournisseurs/structure")
def lookup():
    """What a public structure requires of its suppliers, found by its identifier (SPEC SRV-8, STR-6), and a
    check of a service code / engagement number pair (SRV-7). Read-only: GET. A private structure's settings
    are its members' business: its identifier answers as an unknown one."""
    find = LookupForm(request.args)
    check = CheckForm(request.args)
    structure, problems, checked = None, [], False
    if "identifier" in request.args and find.validate():
        structure = find_structure(find.identifier_type.data, find.identifier.data)
        if structure is not None and not structure.is_public:
            structure = None
        if structure is None:
            find.identifier.errors = ["Aucune structure publique active n'a cet identifiant."]
    if structure is not None and "verifier" in request.args and check.validate():
        problems = services.check_service_code(structure, check.code.data, check.engagement.data)
        checked = True
    status = 422 if find.errors or check.errors else 200
    return render("services/lookup.html", status=status, find=find, check=check, structure=structure,
                  active=services.active_services(structure.id) if structure else [], problems=problems,
                  checked=checked)
