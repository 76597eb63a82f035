"""Data of the blocks this module adds to other pages (Mon compte, dashboard, structure record)."""
from __future__ import annotations

from functools import cache

from flask import request
from flask_login import current_user
from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import contains_eager

from .. import clock, lists
from ..accounts.models import User
from ..extensions import db
from ..pagination import Page, count, page_count, paginate
from ..permissions import allowed, can
from ..structures.models import Structure
from ..web import page_arg
from .models import Membership, MembershipStatus, Role
from .services import decidable, memberships_shown_to


def my_memberships(user) -> dict:
    """SPEC ACC-5, RAT-2: the user's memberships with role and status; pending ones can be cancelled."""
    memberships = db.session.execute(
        memberships_shown_to(user).join(Structure, Membership.structure_id == Structure.id)
        .options(contains_eager(Membership.structure))  # one query, not one per row
        .order_by(Membership.status.desc(), func.lower(Structure.designation))
    ).scalars().all()
    return {"memberships": memberships, "today": clock.today()}


# "Rattacher un utilisateur à une structure" offers a list of the manager's structures up to this size;
# beyond, each row of "Mes structures" carries its own link (a list of thousands helps nobody).
ATTACH_CHOICES = 100
MEMBERS_PAGE_SIZE = 50


def managed_choices(user) -> dict:
    """The manager's structures to choose one from (attach a user, create an account), up to ATTACH_CHOICES."""
    managed = select(Structure.id, Structure.designation).where(allowed(user, "structure.edit", Structure))
    structures = paginate(managed.order_by(Structure.designation_folded, Structure.id), page=1,
                          per_page=ATTACH_CHOICES, scalars=False)
    return {"managed": structures.items, "managed_total": structures.total}


def dashboard(user) -> dict:
    return {"pending_count": count(decidable(user)), **managed_choices(user), **pending_on_dashboard(user)}


DASHBOARD_REQUESTS = 10


def pending_on_dashboard(user) -> dict:
    """The oldest pending requests, each with Valider and Refuser, as in the guide's block (P6-12)."""
    order = (Membership.created_at, Membership.id)
    oldest = decidable(user).with_only_columns(Membership.id).order_by(*order).limit(DASHBOARD_REQUESTS)
    rows = db.session.execute(  # the 10 ids from the index first, then their structures and users alone
        select(Membership, Structure.designation, User.first_name, User.last_name, User.login_email)
        .join(Structure, Membership.structure_id == Structure.id).join(User, Membership.user_id == User.id)
        .where(Membership.id.in_(oldest.scalar_subquery())).order_by(*order)
    ).all()
    return {"dashboard_requests": rows}


def _structure_users(clauses: tuple = ()):
    """The count, the managers and one page of members of a structure (bind parameters `structure_id`, `wanted`,
    `skip`), narrowed by plugins' `clauses`."""
    validated = (Membership.structure_id == bindparam("structure_id"), Membership.status == MembershipStatus.VALIDATED,
                 *clauses)
    shown = (Membership.id, Membership.role, Membership.start_date, User.first_name, User.last_name,
             User.login_email)
    counting = select(func.count()).select_from(Membership).where(*validated)
    managers = (select(*shown).join(User, Membership.user_id == User.id)
                .where(*validated, Membership.role.in_([Role.PRIMARY.value, Role.SECONDARY.value]))
                .order_by(case({Role.PRIMARY.value: 0}, value=Membership.role, else_=1), User.last_name_folded,
                          User.first_name_folded, Membership.id))
    newest_first = (Membership.created_at.desc(), Membership.id.desc())
    # The page's ids from the index alone, then their 50 users: a deep page never joins thousands.
    page_ids = select(Membership.id).where(*validated, Membership.role == Role.MEMBER.value).order_by(
        *newest_first).limit(bindparam("wanted")).offset(bindparam("skip"))
    members = (select(*shown).join(User, Membership.user_id == User.id)
               .where(Membership.id.in_(page_ids.scalar_subquery())).order_by(*newest_first))
    return counting, managers, members


@cache
def _plain_structure_users():
    return _structure_users()


def structure_users(structure) -> dict | None:
    """"Utilisateurs rattachés à la structure", for its managers, with removal checkboxes (RAT-7).

    One page at a time (argument `membres`): the managers first, then the members from the most
    recent attachment, as the index (structure_id, status, created_at, id) hands them out; a sort by
    name would read all 5,000 rows of a large structure for each page. Only the columns shown.
    """
    if not can(current_user, "structure.members", structure):
        return None
    columns = lists.columns("structure_users", structure=structure)
    filters = lists.filters("structure_users", structure=structure)
    clauses, active = lists.criteria(filters, request.args)
    # Built once, unless a plugin's criterion narrows them.
    counting, managers_page, members_page = _structure_users(tuple(clauses)) if clauses else _plain_structure_users()
    params = {"structure_id": structure.id}
    total = db.session.execute(counting, params).scalar_one()
    pages = page_count(total, MEMBERS_PAGE_SIZE)
    page = min(page_arg("membres"), pages)
    managers = db.session.execute(managers_page, params).all()
    offset = (page - 1) * MEMBERS_PAGE_SIZE
    rows = managers[offset:offset + MEMBERS_PAGE_SIZE]
    wanted = MEMBERS_PAGE_SIZE - len(rows)
    if wanted:
        rows += db.session.execute(members_page, {**params, "wanted": wanted,
                                                  "skip": max(offset - len(managers), 0)}).all()
    members = Page(items=rows, total=total, page=page, per_page=MEMBERS_PAGE_SIZE)
    return {"structure": structure, "members": members, "primary": Role.PRIMARY,
            "role_labels": {r.value: r.label for r in Role},
            "can_manage": can(current_user, "membership.remove", structure), "columns": columns,
            "cells": lists.cells(columns, [m.id for m in rows]), "filters": filters, "active": active}
