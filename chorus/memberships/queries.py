"""Who holds which role where: the queries every permission rule is built from."""
from __future__ import annotations

from flask import g, has_app_context
from sqlalchemy import Select, and_, event, or_, select
from sqlalchemy.orm import Session

from .. import clock
from ..extensions import db
from .models import MANAGER_ROLES, Membership, MembershipStatus, Role


def in_force():
    """A validated membership whose validity has started (SPEC RAT-6: a start date may be ahead)."""
    return and_(Membership.status == MembershipStatus.VALIDATED,
                or_(Membership.start_date.is_(None), Membership.start_date <= clock.now().date()))


def structure_ids(user, roles=None) -> Select:
    """SELECT of the ids of the structures where `user` has a membership in force (in `roles`)."""
    stmt = select(Membership.structure_id).where(Membership.user_id == user.id, in_force())
    if roles is not None:
        stmt = stmt.where(Membership.role.in_([str(r) for r in roles]))
    return stmt


def managed_structure_ids(user) -> Select:
    return structure_ids(user, MANAGER_ROLES)


# Answers are kept for the rest of the request (flask.g): a page asks several permission questions
# about the same structure (view, edit, history, members...), each vote calling role_of(). Any write
# (flush, commit, rollback) forgets them, so a changed role is never read stale.
_CACHE = "chorus_roles"


def _cache() -> dict:
    if not has_app_context():
        return {}
    if _CACHE not in g:
        setattr(g, _CACHE, {})
    return getattr(g, _CACHE)


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_roles(session, *args):
    if has_app_context():
        g.pop(_CACHE, None)


def role_of(user, structure_id: int) -> Role | None:
    """The validated role of `user` on the structure, or None."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "id", None):
        return None
    cache = _cache()
    key = ("role", user.id, structure_id)
    if key not in cache:
        cache[key] = db.session.execute(
            select(Membership.role).where(Membership.user_id == user.id, Membership.structure_id == structure_id,
                                          in_force())
        ).scalar_one_or_none()
    role = cache[key]
    return Role(role) if role else None


def is_manager_anywhere(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    cache = _cache()
    key = ("manager", user.id)
    if key not in cache:
        cache[key] = db.session.execute(managed_structure_ids(user).limit(1)).first() is not None
    return cache[key]

