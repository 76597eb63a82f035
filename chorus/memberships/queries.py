"""Who holds which role where: the queries every permission rule is built from."""
from __future__ import annotations

from functools import cache

from sqlalchemy import Select, and_, bindparam, or_, select

from .. import clock
from ..extensions import db
from ..request_cache import cached
from .models import MANAGER_ROLES, Membership, MembershipStatus, Role


def in_force(today=None):
    """A validated membership whose validity has started (SPEC RAT-6: a start date may be ahead).

    `today`: the date to compare with (a `bindparam` in the statements built once, below); now by default."""
    return and_(Membership.status == MembershipStatus.VALIDATED,
                or_(Membership.start_date.is_(None),
                    Membership.start_date <= (clock.today() if today is None else today)))


# Statements every page sends, built once with bind parameters: building a select() costs about three times
# as much as running such an indexed lookup (240 µs against 65 µs of CPU, measured).
@cache
def _role_statement():
    return select(Membership.role).where(Membership.user_id == bindparam("user_id"),
                                         Membership.structure_id == bindparam("structure_id"),
                                         in_force(bindparam("today")))


@cache
def _manager_anywhere_statement():
    return select(Membership.id).where(Membership.user_id == bindparam("user_id"), in_force(bindparam("today")),
                                       Membership.role.in_([str(r) for r in MANAGER_ROLES])).limit(1)


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


def structures_of_person(actor, user_id: int) -> Select:
    """SELECT of the ids of the structures `actor` manages where `user_id` has a validated membership: where the
    person is the manager's person (SPEC USR-3). A request alone (pending) does not make them so."""
    return select(Membership.structure_id).where(
        Membership.user_id == user_id, Membership.status == MembershipStatus.VALIDATED,
        Membership.structure_id.in_(managed_structure_ids(actor)))


def manages_person(actor, user_id: int) -> bool:
    """The manager may modify the data of `user_id` (structures_of_person() is not empty)."""
    return db.session.execute(structures_of_person(actor, user_id).limit(1)).first() is not None


def role_of(user, structure_id: int) -> Role | None:
    """The validated role of `user` on the structure, or None."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "id", None):
        return None
    # Once per request and structure: a page's permission votes ask it again and again.
    role = cached(("role", user.id, structure_id), lambda: db.session.execute(
        _role_statement(), {"user_id": user.id, "structure_id": structure_id, "today": clock.today()}
    ).scalar_one_or_none())
    return Role(role) if role else None


def is_manager_anywhere(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return cached(("manager", user.id), lambda: db.session.execute(
        _manager_anywhere_statement(), {"user_id": user.id, "today": clock.today()}).first() is not None)

