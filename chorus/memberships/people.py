"""The people of a manager's structures: "Rechercher un utilisateur" and its actions (SPEC USR-2, USR-3, MGR-2).

A row is a membership (a person on one structure), validated or pending, of a structure the actor manages:
the manager of A who is a plain member of B sees A's people only. Every id posted back by the screen is
checked against that same scope (`in_scope`): an id the screen could not have shown is refused.
The export (plugin csv_export) reads the same `matching()` statement, so that it has exactly the screen's rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from flask import current_app
from sqlalchemy import Select, func, literal_column, select

from .. import lists
from ..accounts import services as accounts
from ..accounts.models import AccountKind, AccountStatus, User
from ..database import in_ids, is_sqlite, transaction
from ..extensions import db
from ..folding import fold
from ..history import services as history
from ..pagination import Page, count, paginate_ids, within
from ..permissions import Denied, can
from ..structures.models import Structure, StructureStatus
from . import services
from .models import Membership, MembershipStatus, Role
from .queries import managed_structure_ids, structures_of_person

LIST = "user_directory"  # the screen's list name (chorus.lists.LISTS): plugins add criteria and columns
SHOWN = (MembershipStatus.VALIDATED, MembershipStatus.PENDING)
MAX_TEXT = 200

# Sort keys of the query string -> the columns ordered by (the row id last, for a stable order).
# A person's rows stay together (User.id before Membership.id); "nom" is the order of the index
# ix_user_account_name_folded, which `matching(by_name_index=True)` reads instead of sorting.
SORTS = {
    "nom": (User.last_name_folded, User.first_name_folded, User.id),
    "prenom": (User.first_name_folded, User.last_name_folded, User.id),
    "adresse": (User.login_email, User.id),
    "statut": (User.status, User.id),
    "structure": (Structure.designation_folded, Structure.id),
}
# From this many rows on, SQLite reads a name-sorted list in the users' name index rather than sorting the rows
# (a million rows: the first line of an export after 0.1 s instead of 30 s of sorting, see bench/REPORT.md).
LARGE = 50_000
# A search on the people's names or addresses usually keeps few rows: up to this many, its ids are read in order in
# one statement and counted as read, instead of a count and then a page that both test every person.
FEW = 500
DEFAULT_SORT = "nom"


@dataclass
class Criteria:
    """What the screen's form asks for; `clauses`/`active`: the plugins' criteria (chorus.lists)."""

    last_name: str = ""
    first_name: str = ""
    email: str = ""
    status: str = ""
    designation: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = False
    clauses: list = field(default_factory=list)
    active: dict = field(default_factory=dict)

    @property
    def given(self) -> dict:
        """The criteria typed (no sort), as query-string values: the links of the pager, the export."""
        values = {"nom": self.last_name, "prenom": self.first_name, "adresse": self.email, "statut": self.status,
                  "designation": self.designation, **self.active}
        return {k: v for k, v in values.items() if v}

    @property
    def query(self) -> dict:
        """`given` with the sort, when it is not the default one."""
        out = dict(self.given)
        if self.sort != DEFAULT_SORT or self.descending:
            out.update(tri=self.sort, ordre="desc" if self.descending else "asc")
        return out


STATUS_CHOICES = tuple((s.value, s.label) for s in AccountStatus)


def criteria(actor, args) -> Criteria:
    """The screen's criteria read from a request's values; anything unknown is ignored, never an error."""
    def text(name):
        return (args.get(name) or "").strip()[:MAX_TEXT]

    status = text("statut")
    sort = text("tri")
    found = Criteria(last_name=text("nom"), first_name=text("prenom"), email=text("adresse"),
                     status=status if status in {v for v, _ in STATUS_CHOICES} else "",
                     designation=text("designation"), sort=sort if sort in SORTS else DEFAULT_SORT,
                     descending=text("ordre") == "desc")
    found.clauses, found.active = lists.criteria(lists.filters(LIST, actor=actor), args)
    return found


def _contains(column, value: str):
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


# "Not a technical user" (SPEC TEC-3), as the ids of the few technical users, read from the partial index
# ix_user_account_technical (its clause, in values): a count of the people of the manager's structures then reads
# no account at all (PostgreSQL, national scale: 13 -> 1.4 ms).
_PEOPLE = Membership.user_id.not_in(
    select(User.id).where(User.kind == literal_column(f"'{AccountKind.TECHNICAL}'")))


def _owned(actor) -> list:
    """WHERE clauses of the memberships of people (not technical users) on the structures `actor` manages."""
    if not can(actor, "membership.search_users"):
        raise Denied()
    return [Membership.structure_id.in_(managed_structure_ids(actor)), _PEOPLE]


# The rows shown, written as the WHERE clause of the partial index uq_membership_open(structure_id, user_id) (in
# values, not bound parameters, and in its order): a database may then read the rows of the manager's structures
# from that index alone.
_SHOWN_CLAUSE = Membership.status.in_([literal_column(f"'{s}'") for s in sorted(str(s) for s in SHOWN)])


def scope(actor) -> list:
    """WHERE clauses of every row the screen may show `actor` (MGR-2): those memberships, validated or pending.
    In this order (matching() rewrites the first two for some plans): the actor's structures, people only, statuses."""
    return [*_owned(actor), _SHOWN_CLAUSE]


def matching(actor, found: Criteria, *columns, large: bool = False, ordered: bool = True, ids=None) -> Select:
    """SELECT of `columns` (Membership.id by default) over the rows matching `found`, in the screen's order
    (`ordered=False`: in no order, for a count, which then reads only the tables its criteria name; `ids`: among
    these membership ids only).

    Driven from the memberships of the manager's structures (index on structure_id); names compared on the
    stored folded columns (accents and case ignored). `large` (more than LARGE rows, sorted by name, SQLite):
    driven from the users' name index instead, which hands the rows out in order without sorting them.
    """
    where = scope(actor)
    structure_id = Membership.structure_id
    if large and found.sort == "nom" and not found.descending and is_sqlite():
        # "+ 0": the same rows, but the structure index no longer applies, so SQLite walks the name index; "not a
        # technical user" tested on the account, a term on the users' table that keeps that plan (with NOT IN,
        # SQLite reads the memberships by status, then sorts them: the 30 s sort of a million rows).
        structure_id = Membership.structure_id + 0
        where[0] = structure_id.in_(managed_structure_ids(actor))
        where[1] = User.kind == AccountKind.PERSON
    elif large and not is_sqlite():
        # PostgreSQL: the manager's structures as an array of their ids (one bound parameter), not a subquery it
        # estimates at one row: it then plans a million rows as such, and (in the name order, read through a
        # server-side cursor: the CSV export) walks the users' name index, streaming, instead of joining by nested
        # loops and sorting everything first (1,000,000 rows: 4.5 instead of 10 CPU s, first row after 0.5 instead
        # of 10 s; bench/REPORT.md, "P11 on PostgreSQL").
        where[0] = in_ids(structure_id, db.session.execute(managed_structure_ids(actor)).scalars().all())
    elif ids is None and is_sqlite():
        # Always true (SQLite's smallest integer), but it makes uq_membership_open (structure_id, user_id) the index
        # SQLite prefers: it reads the people of the manager's structures from it, instead of every membership row of
        # those structures from ix_membership_structure_role_status_created (6,000 rows: 1.8 ms instead of 5.4 ms
        # for a page sorted by name, 0.9 ms instead of 4.4 ms for its count; bench/REPORT.md, P11).
        where.append(Membership.user_id >= literal_column(str(-2**63)))
    for column, value in ((User.last_name_folded, fold(found.last_name)),
                          (User.first_name_folded, fold(found.first_name)),
                          (User.login_email, found.email.lower())):
        if value:
            where.append(_contains(column, value))
    if found.designation:
        # The manager's structures (a few dozen) named so, in place of all of them: tested once per structure,
        # rather than on the structure of each row (thousands).
        where[0] = structure_id.in_(select(Structure.id).where(
            Structure.id.in_(managed_structure_ids(actor)),
            _contains(Structure.designation_folded, fold(found.designation))))
    if found.status:
        where.append(User.status == found.status)
    if ids is not None:
        where.append(Membership.id.in_(ids))  # read by id: no hint to scan the manager's people (above)
    # The users' and the structures' tables only when something reads them: the count of the rows of the manager's
    # structures reads neither; plugins' criteria may name either.
    stmt = select(*(columns or (Membership.id,))).select_from(Membership)
    if (columns or found.last_name or found.first_name or found.email or found.status or found.clauses
            or (ordered and found.sort != "structure")):
        stmt = stmt.join(User, Membership.user_id == User.id)
    if columns or found.clauses or (ordered and found.sort == "structure"):
        stmt = stmt.join(Structure, Membership.structure_id == Structure.id)
    stmt = stmt.where(*where, *found.clauses)
    return stmt.order_by(*_order(found)) if ordered else stmt


def _order(found: Criteria) -> list:
    return [c.desc() if found.descending else c for c in (*SORTS[found.sort], Membership.id)]


def _count_up_to_large(actor, found: Criteria) -> int:
    probe = matching(actor, found, ordered=False).limit(LARGE + 1).subquery()
    return db.session.execute(select(func.count()).select_from(probe)).scalar_one()


def is_large(actor, found: Criteria) -> bool:
    """More than LARGE rows match `found` (read no further than that)."""
    return _count_up_to_large(actor, found) > LARGE


def total(actor, found: Criteria) -> tuple[int, bool]:
    """(the number of rows matching `found`, whether it is above LARGE). Up to LARGE rows are counted as they
    are read; a larger list is counted in the users' name order (SQLite: a walk of the name index, ten times
    faster at a million rows than the structures' order, which reads the users at random)."""
    n = _count_up_to_large(actor, found)
    if n <= LARGE:
        return n, False
    return count(matching(actor, replace(found, sort="nom", descending=False), large=True)), True


# The columns a row of the screen shows (and the export starts from).
ROW_COLUMNS = (Membership.id, Membership.user_id, Membership.structure_id, Membership.role, Membership.status,
               Membership.start_date, Membership.created_at, User.last_name, User.first_name, User.login_email,
               User.status.label("account_status"), Structure.identifier, Structure.designation,
               Structure.status.label("structure_status"))


def _rows(found: Criteria, chosen) -> Select:
    """ROW_COLUMNS of the rows `chosen` (membership ids, or a subquery of them), in the screen's order."""
    return (select(*ROW_COLUMNS).select_from(Membership).join(User, Membership.user_id == User.id)
            .join(Structure, Membership.structure_id == Structure.id).where(Membership.id.in_(chosen))
            .order_by(*_order(found)))


def results(actor, found: Criteria, *, page: int, per_page: int, total: int, large: bool = False) -> Page:
    """Page `page` of the screen's rows (ROW_COLUMNS) matching `found`, `total` of them (see total()).

    The page's ids first, sorted with only what the order needs (for 6,000 rows: no structure read per row, and
    a page deep in the list sorts ids instead of 13 columns, 8.3 -> 4.3 ms for page 50); then the columns shown,
    for those 50 rows alone."""
    return paginate_ids(matching(actor, found, large=large), lambda chosen: _rows(found, chosen), page=page,
                        per_page=per_page, total=total)


def search(actor, found: Criteria, *, page: int, per_page: int) -> Page:
    """The screen's page `page` (the last one if `page` is beyond it) of the rows matching `found`.

    Criteria on the people's names or addresses: their ids read in order in one statement when they are FEW at
    most (« martin »: one pass over the manager's 6,000 people instead of two); otherwise, and for the other
    criteria, counted (total()) then paged (results())."""
    if found.last_name or found.first_name or found.email:
        ids = db.session.execute(matching(actor, found).limit(FEW + 1)).scalars().all()
        if len(ids) <= FEW:
            page = within(page, len(ids), per_page)
            chosen = ids[(page - 1) * per_page:page * per_page]
            items = db.session.execute(_rows(found, chosen)).all() if chosen else []
            return Page(items=items, total=len(ids), page=page, per_page=per_page)
    n, large = total(actor, found)
    return results(actor, found, page=within(page, n, per_page), per_page=per_page, total=n, large=large)


def in_scope(actor, ids, *columns, order: Criteria | None = None) -> Select:
    """SELECT of `columns` (ROW_COLUMNS by default) of the rows among `ids` (membership ids) the screen could
    show `actor`, in the screen's order (`order`: the sort of these criteria, by name otherwise).

    Raises Denied(hidden) if any id is not a membership of the actor's structures: a posted id names a row the
    screen could show, or nothing (a row removed meanwhile is merely left out).
    """
    wanted = sorted({int(i) for i in ids})[:services.MAX_BATCH]
    sort = Criteria(sort=order.sort, descending=order.descending) if order else Criteria()
    stmt = matching(actor, sort, *(columns or ROW_COLUMNS), ids=wanted)
    known = set(db.session.execute(
        select(Membership.id).join(User, Membership.user_id == User.id)
        .where(*_owned(actor), Membership.id.in_(wanted))).scalars())
    if known != set(wanted):
        raise Denied(hidden=True)
    return stmt


def rows(actor, ids) -> list:
    """The rows of the screen among `ids` (all in scope, or Denied)."""
    return db.session.execute(in_scope(actor, ids)).all() if ids else []


# ------------------------------------------------------------------ one person (USR-3)


def person(actor, user_id: int) -> tuple[User, list] | None:
    """A person the screen could show, with their memberships on the actor's structures (and only those)."""
    user = db.session.get(User, user_id)
    if user is None:
        return None
    memberships = db.session.execute(
        select(Membership, Structure).join(Structure, Membership.structure_id == Structure.id)
        .join(User, Membership.user_id == User.id).where(*scope(actor), Membership.user_id == user_id)
        .order_by(Structure.designation_folded, Membership.id)
    ).all()
    return (user, memberships) if memberships else None


def can_edit(actor, user: User) -> bool:
    """The manager may modify this person's data: they have a validated membership on one of the actor's
    structures (a request alone does not make them the manager's person)."""
    return can(actor, "account.edit", user)


def update_person(actor, user: User, *, last_name: str, first_name: str, contact_email: str, phone: str) -> dict:
    """"Modifier les données de l'utilisateur" (USR-3): the manager changes a person's names, contact address
    and phone (never the login address). One transaction: the account, an e-mail to the person, and an entry
    in the history of each of the actor's structures the person belongs to (HIS-1). Returns the changes."""
    if not can_edit(actor, user):
        raise Denied()
    with transaction():
        changes = accounts.update_profile(actor, user, last_name=last_name, first_name=first_name,
                                          contact_email=contact_email, phone=phone)
        if changes:
            fields = ", ".join(accounts.PROFILE_LABELS[name] for name in changes)
            for structure_id in db.session.execute(
                    structures_of_person(actor, user.id).order_by(Membership.structure_id)).scalars().all():
                history.record(structure_id, actor, HISTORY_ACTION, subject_user=user,
                               summary=f"Données de {user.full_name} modifiées : {fields}",
                               detail={"fields": list(changes)})
    return changes


HISTORY_ACTION = "account.updated_by_manager"


# ------------------------------------------------------------------ actions on the selected rows (USR-3)


@dataclass
class ResendReport:
    sent: list[str] = field(default_factory=list)  # names of the people mailed
    not_pending: int = 0  # already active or deactivated: no activation to send
    limited: int = 0  # refused by the per-recipient or per-manager limits


def resend_activation(actor, ids) -> ResendReport:
    """"Envoyer le courriel d'activation" to the people of the selected rows whose account is "En cours
    d'activation" (USR-3, NOT-1): a new link to the login address, each recipient once per call, within the
    per-recipient mail limit and the per-manager limit of ACTIVATION_RESENDS_PER_MANAGER a window."""
    found = rows(actor, ids)
    user_ids = sorted({r.user_id for r in found})
    report = ResendReport()
    config = current_app.config
    with transaction():
        users = db.session.execute(select(User).where(User.id.in_(user_ids)).order_by(User.id)).scalars().all()
        for user in users:
            if user.status != AccountStatus.PENDING:
                report.not_pending += 1
                continue
            if accounts.resend_activation(actor, user, limit=config["ACTIVATION_RESENDS_PER_MANAGER"],
                                          window=config["ACTIVATION_RESENDS_WINDOW"]):
                report.sent.append(user.full_name)
            else:
                report.limited += 1
    return report


def can_remove(status: str, role: str, structure_status: str) -> bool:
    """A membership "Supprimer le rattachement" applies to: validated, not the primary manager's (TRF-1), on an
    active structure (an inactive one, left by a change of SIRET, is kept as it was: SIR-3). The screens offer
    the button by it; removable() keeps the selected rows by it."""
    return status == MembershipStatus.VALIDATED and role != Role.PRIMARY and structure_status == StructureStatus.ACTIVE


def removable(actor, ids) -> list:
    """The selected rows "Supprimer rattachements" would remove (can_remove)."""
    return [r for r in rows(actor, ids) if can_remove(r.status, r.role, r.structure_status)]


def remove(actor, ids) -> int:
    """Remove the selected memberships, at structure level (RAT-7), across the actor's structures; one
    transaction, one history entry per membership in its structure's history."""
    chosen = removable(actor, ids)
    by_structure: dict[int, list[int]] = {}
    for r in chosen:
        by_structure.setdefault(r.structure_id, []).append(r.id)
    removed = 0
    with transaction():
        for structure_id, membership_ids in sorted(by_structure.items()):
            removed += services.remove(actor, db.session.get(Structure, structure_id), membership_ids)
    return removed
