"""Data of the blocks this module adds to other pages (Mon compte, dashboard, structure record)."""
from __future__ import annotations

from flask import request
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import contains_eager

from .. import clock, lists
from ..accounts.models import User
from ..extensions import db
from ..permissions import allowed, can
from ..structures.models import Structure
from .models import Membership, MembershipStatus, Role
from .services import decidable, memberships_shown_to


def my_memberships(user) -> dict:
    """SPEC ACC-5, RAT-2: the user's memberships with role and status; pending ones can be cancelled."""
    memberships = db.session.execute(
        memberships_shown_to(user).join(Structure, Membership.structure_id == Structure.id)
        .options(contains_eager(Membership.structure))  # one query, not one per row
        .order_by(Membership.status.desc(), func.lower(Structure.designation))
    ).scalars().all()
    return {"memberships": memberships, "today": clock.now().date()}


def dashboard(user) -> dict:
    pending = db.session.execute(select(func.count()).select_from(decidable(user).subquery())).scalar_one()
    structures = db.session.execute(
        select(Structure.id, Structure.designation).where(allowed(user, "structure.edit", Structure))
        .order_by(func.lower(Structure.designation)).limit(500)
    ).all()
    return {"pending_count": pending, "managed": structures, **pending_on_dashboard(user)}


DASHBOARD_REQUESTS = 10


def pending_on_dashboard(user) -> dict:
    """The oldest pending requests, each with Valider and Refuser, as in the guide's block (P6-12)."""
    rows = db.session.execute(
        decidable(user).join(Structure, Membership.structure_id == Structure.id)
        .join(User, Membership.user_id == User.id).add_columns(Structure.designation, User.first_name,
                                                                User.last_name, User.login_email)
        .order_by(Membership.created_at, Membership.id).limit(DASHBOARD_REQUESTS)
    ).all()
    return {"dashboard_requests": rows}


def structure_users(structure) -> dict | None:
    """"Utilisateurs rattachés à la structure", for its managers, with removal checkboxes (RAT-7)."""
    if not can(current_user, "structure.members", structure):
        return None
    columns = lists.columns("structure_users", structure=structure)
    filters = lists.filters("structure_users", structure=structure)
    query, active = lists.apply_filters(
        select(Membership).where(Membership.structure_id == structure.id,
                                 Membership.status == MembershipStatus.VALIDATED), filters, request.args)
    rows = db.session.execute(
        query.join(User, Membership.user_id == User.id).options(contains_eager(Membership.user))
        .order_by(case({Role.PRIMARY.value: 0, Role.SECONDARY.value: 1}, value=Membership.role, else_=2),
                  func.lower(User.last_name), func.lower(User.first_name))
    ).scalars().all()
    return {"structure": structure, "members": rows, "primary": Role.PRIMARY,
            "can_manage": can(current_user, "membership.remove", structure), "columns": columns,
            "cells": lists.cells(columns, [m.id for m in rows]), "filters": filters, "active": active}
