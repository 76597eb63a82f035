"""Who holds which role where: the queries every permission rule is built from."""
from __future__ import annotations

from sqlalchemy import Select, and_, or_, select

from .. import clock
from ..extensions import db
from ..request_cache import cached
from .models import MANAGER_ROLES, Membership, MembershipStatus, Role


def in_force():
    """A validated membership whose validity has started (SPEC RAT-6: a start date may be ahead)."""
    return and_(Membership.status == MembershipStatus.VALIDATED,
                or_(Membership.start_date.is_(None), Membership.start_date <= clock.now().date()))


def structure_ids(user, roles=None) -> Select:
    """SELECT of the ids of the structures where `user` has a membership in force (in `roles`)."""

    def build():
        stmt = select(Membership.structure_id).where(Membership.user_id == user.id, in_force())
        if roles is not None:
            stmt = stmt.where(Membership.role.in_([str(r) for r in roles]))
        return stmt

    # Built once per request: every list filtered by the permission rules embeds it.
    return cached(("structure_ids", user.id, tuple(roles) if roles is not None else None), build)


def managed_structure_ids(user) -> Select:
    return structure_ids(user, MANAGER_ROLES)


def role_of(user, structure_id: int) -> Role | None:
    """The validated role of `user` on the structure, or None."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "id", None):
        return None
    # Once per request and structure: a page's permission votes ask it again and again.
    role = cached(("role", user.id, structure_id), lambda: db.session.execute(
        select(Membership.role).where(Membership.user_id == user.id, Membership.structure_id == structure_id,
                                      in_force())
    ).scalar_one_or_none())
    return Role(role) if role else None


def is_manager_anywhere(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return cached(("manager", user.id),
                  lambda: db.session.execute(managed_structure_ids(user).limit(1)).first() is not None)

