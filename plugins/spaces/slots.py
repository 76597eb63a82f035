"""The blocks this module adds to the core's pages: "Mon compte" (ACC-5), the dashboard (MGR-1 item 2), the
structure record (ESP-3)."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from chorus.accounts.models import User
from chorus.extensions import db
from chorus.memberships.queries import is_manager_anywhere
from chorus.pagination import count
from chorus.permissions import can
from chorus.structures.models import Structure
from chorus.structures.units import units_of

from . import services
from .catalogue import RIGHTS, SELF_SERVICE, SPACES, applicable
from .models import ALL_UNITS, Status, SubscriptionRequest

DASHBOARD_REQUESTS = 10


def mine(user, structures, chosen) -> dict:
    """"Mes abonnements aux espaces": the subscriptions, the self-service spaces, the request form's choices."""
    subscriptions = services.my_subscriptions(user)
    held = {(s.structure_id, s.space_code) for s in subscriptions if s.status == Status.VALIDATED}
    self_service = [(s, SPACES[code], (s.id, code) in held) for s in structures for code in SELF_SERVICE
                    if SPACES[code] in applicable(s.is_public)]
    return {"subscriptions": subscriptions, "structures": structures, "chosen": chosen, "space_catalogue": SPACES,
            "rights": RIGHTS, "self_service": self_service, "all_label": services.ALL_UNITS_LABEL,
            "askable": [s for s in applicable(chosen.is_public) if s.code not in SELF_SERVICE] if chosen else [],
            "units": units_of(chosen) if chosen else [], "all_units": ALL_UNITS}


def with_people(requests: list[SubscriptionRequest]) -> list:
    """Each request with its structure and user, read in two queries for the page (no N+1)."""
    structures = {s.id: s for s in db.session.execute(select(Structure).where(
        Structure.id.in_({r.structure_id for r in requests}))).scalars()}
    users = {u.id: u for u in db.session.execute(select(User).where(
        User.id.in_({r.user_id for r in requests}))).scalars()}
    lines = services.lines_of([r.id for r in requests])
    return [(r, structures[r.structure_id], users[r.user_id], lines.get(r.id, [])) for r in requests]


def dashboard(user) -> dict:
    query = services.decidable(user)
    rows = db.session.execute(query.order_by(SubscriptionRequest.created_at, SubscriptionRequest.id)
                              .limit(DASHBOARD_REQUESTS)).scalars().all()
    return {"requests": with_people(rows), "total": count(query.with_only_columns(SubscriptionRequest.id))}


def render_slot(name, context):
    if name == "account_sections":
        data = mine(context["user"], services.my_structures(context["user"]), None)
        return Markup(render_template("spaces/_account.html", **data)) if data["structures"] else None
    if name == "manager_dashboard" and is_manager_anywhere(current_user):
        return Markup(render_template("spaces/_dashboard.html", **dashboard(current_user)))
    if name == "structure_sections" and can(current_user, "structure.edit", context["structure"]):
        structure = context["structure"]
        return Markup(render_template("spaces/_structure.html", structure=structure,
                                      current=services.structure_spaces(structure.id), space_catalogue=SPACES,
                                      rights=RIGHTS, all_label=services.ALL_UNITS_LABEL))
    if name == "history_detail" and context["entry"].action in ("subscription.validated", "subscription.refused",
                                                                 "structure_spaces.added"):
        return Markup(render_template("spaces/_history.html", detail=context["entry"].detail))
    if name == "service_spaces" and can(current_user, "structure.view", context["structure"]):
        # SRV-6 "Liste des espaces": those opened for all services, and for this one (ESP-3).
        structure, unit = context["structure"], str(context["service"].id)
        current = [s for s in services.structure_spaces(structure.id) if s.unit_id in (ALL_UNITS, unit)]
        return Markup(render_template("spaces/_service.html", structure=structure, current=current,
                                      space_catalogue=SPACES, rights=RIGHTS, all_label=services.ALL_UNITS_LABEL,
                                      can_edit=can(current_user, "structure.edit", structure)))
    return None
