"""Membership rules (SPEC RAT-1..8, HIS-1..3, NOT-1, ESP-2). Plain functions taking the actor.

Decisions are guarded state transitions (UPDATE ... WHERE status = 'pending'), so that two managers
deciding the same requests at once produce one decision, one history entry and one e-mail each.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from .. import clock, events
from ..accounts.models import AccountKind, AccountStatus, User
from ..database import bulk_insert, transaction
from ..events import Refused
from ..extensions import db
from ..folding import fold
from ..history import services as history
from ..history.models import HistoryEntry
from ..mail.outbox import absolute_url, queue, queue_many
from ..permissions import Denied, allowed, can, require_on
from ..plugins import hook
from ..structures.models import Structure, StructureStatus
from .models import Membership, MembershipStatus, Role
from .queries import managed_structure_ids
from .spaces import default_spaces

# The roles a manager may give (SPEC RAT-3, RAT-6, RAT-8): the primary role is only transferred.
ASSIGNABLE_ROLES = (Role.SECONDARY, Role.MEMBER)
MAX_BATCH = 5000


class MembershipError(Refused):
    """Refused by a membership rule; `errors` maps form fields ("" for the form) to French messages."""


@dataclass
class DecisionReport:
    decided: list[int] = field(default_factory=list)  # ids actually changed by this call
    skipped: int = 0  # already processed, not the actor's to decide, or unknown


def _snapshot(m: Membership, structure: Structure, user: User) -> dict:
    """What the history's detail view (HIS-3) shows of a request, frozen at decision time."""
    return {"membership_id": m.id, "structure": structure.designation, "identifier": structure.identifier,
            "user": f"{user.first_name} {user.last_name}", "login_email": user.login_email,
            "role": Role(m.role).label, "comment": m.comment, "requested_at": m.created_at.isoformat()}


def _detail(action: str, m: Membership, structure: Structure, user: User, **more) -> dict:
    """The history detail of `action` on `m`: the core's snapshot, and what plugins add to it (HIS-3)."""
    detail = {"request": _snapshot(m, structure, user), **more}
    added = {}
    for result in hook().history_snapshot(action=action, membership=m):
        added.update(result or {})
    if added:
        detail["extra"] = added
    return detail


def _ids_of(m: Membership) -> dict:
    """The payload fields every membership event carries."""
    return {"membership_id": m.id, "user_id": m.user_id, "structure_id": m.structure_id, "role": str(m.role)}


def _open_membership(user_id: int, structure_id: int) -> Membership | None:
    return db.session.execute(
        select(Membership).where(Membership.user_id == user_id, Membership.structure_id == structure_id,
                                 Membership.status.in_([MembershipStatus.PENDING, MembershipStatus.VALIDATED]))
    ).scalar_one_or_none()


def _check_role(role: str) -> Role:
    if role not in {r.value for r in ASSIGNABLE_ROLES}:
        raise MembershipError({"role": "Choisissez le rôle : gestionnaire secondaire ou utilisateur simple."})
    return Role(role)


def _insert_guarded(membership: Membership) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(membership)
            db.session.flush()
    except IntegrityError:  # a concurrent request for the same user and structure won
        raise MembershipError("Une demande ou un rattachement existe déjà pour cette structure.")


# ------------------------------------------------------------------ the user's side (RAT-1, RAT-2)


def find_structure(identifier_type: str, identifier: str) -> Structure | None:
    """An active structure by its exact identifier (RAT-1: a user finds it by its identifier)."""
    from ..structures.identifiers import normalize

    return db.session.execute(
        select(Structure).where(Structure.identifier_type == identifier_type,
                                Structure.identifier == normalize(identifier_type, identifier),
                                Structure.status == StructureStatus.ACTIVE)
    ).scalar_one_or_none()


def request_membership(actor: User, structure: Structure, *, role: str = Role.MEMBER, comment: str = "",
                       extra: dict | None = None) -> Membership:
    """Ask to join `structure`. `extra`: the request form's fields added by plugins (e.g. the services
    asked for), handed on in the "membership.requested" event."""
    if not can(actor, "membership.request", structure):
        raise MembershipError("Vous ne pouvez pas demander de rattachement à cette structure.")
    wanted = _check_role(role)
    with transaction():
        existing = _open_membership(actor.id, structure.id)
        if existing is not None:  # SPEC RAT-8: one pending request per user and structure
            raise MembershipError("Vous êtes déjà membre de cette structure." if existing.status ==
                                  MembershipStatus.VALIDATED else
                                  "Vous avez déjà une demande en cours pour cette structure.")
        membership = Membership(user_id=actor.id, structure_id=structure.id, role=wanted,
                                status=MembershipStatus.PENDING, comment=comment.strip(), decision_reason="",
                                created_at=clock.now())
        _insert_guarded(membership)
        events.emit("membership.requested", actor=actor, **_ids_of(membership), extra=extra or {})
    return membership


def cancel_request(actor: User, membership: Membership) -> bool:
    """The requester withdraws a pending request; False if it was decided meanwhile."""
    if membership.user_id != actor.id:
        raise Denied(hidden=True)
    with transaction():
        done = db.session.execute(
            update(Membership).where(Membership.id == membership.id, Membership.status == MembershipStatus.PENDING)
            .values(status=MembershipStatus.CANCELLED, decided_at=clock.now(), decided_by_id=actor.id)
        ).rowcount == 1
        if done:
            events.emit("membership.cancelled", actor=actor, **_ids_of(membership))
    return done


# ------------------------------------------------------------------ the managers' side (RAT-3..5, RAT-8)


def decidable(actor: User):
    """SELECT of the pending requests `actor` may decide: their structures, never their own (RAT-8)."""
    return select(Membership).where(Membership.status == MembershipStatus.PENDING,
                                    allowed(actor, "membership.decide", Membership))


def decide(actor: User, ids: list[int], *, accept: bool, reason: str = "", role: str | None = None,
           extra: dict | None = None) -> DecisionReport:
    """Validate or refuse pending requests, one or many (RAT-4); refusing needs a reason.

    Each request actually decided gets its history entry and its e-mail, in the same transaction.
    `extra`: the values of the fields plugins added to the decision form, handed on in the events.
    """
    reason = (reason or "").strip()
    if not accept and not reason:
        raise MembershipError({"reason": "Le motif du refus est obligatoire."})
    new_role = _check_role(role) if role else None
    ids = sorted({int(i) for i in ids})[:MAX_BATCH]
    report = DecisionReport()
    if not ids:
        return report
    now = clock.now()
    status = MembershipStatus.VALIDATED if accept else MembershipStatus.REFUSED
    values = {"status": status, "decided_at": now, "decided_by_id": actor.id,
              "decision_reason": "" if accept else reason}
    if new_role:
        values["role"] = new_role
    with transaction():
        decided_ids = []
        for chunk in _chunks(ids, 500):  # bound the IN list for the database
            mine = decidable(actor).where(Membership.id.in_(chunk)).with_only_columns(Membership.id)
            decided_ids += db.session.execute(
                update(Membership).where(Membership.id.in_(mine), Membership.status == MembershipStatus.PENDING)
                .values(**values).returning(Membership.id)
            ).scalars().all()
        report.decided = sorted(decided_ids)
        report.skipped = len(ids) - len(decided_ids)
        if decided_ids:
            _after_decision(actor, report.decided, accept, reason, now, extra or {})
    return report


def _after_decision(actor, ids, accept, reason, now, extra) -> None:
    rows = []
    for chunk in _chunks(ids, 500):
        rows += db.session.execute(
            select(Membership, Structure, User).join(Structure, Membership.structure_id == Structure.id)
            .join(User, Membership.user_id == User.id).where(Membership.id.in_(chunk))
            .execution_options(populate_existing=True)
        ).all()
    link = absolute_url("accounts.my_account")  # once, not once per mail
    template = "membership_validated" if accept else "membership_refused"
    entries, mails = [], []
    action = "membership.validated" if accept else "membership.refused"
    for m, structure, user in rows:
        # The event first: the history's snapshot (HIS-3) then sees what plugins wrote for this decision.
        if accept:
            # SPEC ESP-2: the spaces module grants these in this transaction (the core keeps none).
            events.emit(action, actor=actor, **_ids_of(m), spaces=default_spaces(structure, m.role), extra=extra)
        else:
            events.emit(action, actor=actor, **_ids_of(m), reason=reason, extra=extra)
        entries.append({
            "structure_id": structure.id, "at": now, "actor_id": actor.id, "action": action,
            "comment": history.VALIDATED if accept else history.REFUSED,
            "summary": (f"Demande de rattachement de {user.full_name} validée ({Role(m.role).label.lower()})"
                        if accept else f"Demande de rattachement de {user.full_name} refusée : {reason}"),
            "subject_user_id": user.id, "detail": _detail(action, m, structure, user, reason=reason),
        })
        # What the template reads, as plain values: the sender renders it (P5: 1,000 renderings left the request).
        mails.append({"to": user.contact_email, "template": template, "context": {
            "user": {"first_name": user.first_name, "last_name": user.last_name},
            "structure": {"designation": structure.designation, "identifier": structure.identifier},
            "membership": {"role_label": Role(m.role).label}, "reason": reason, "link": link}})
    bulk_insert(HistoryEntry.__table__, entries)  # COPY on PostgreSQL, a multi-row INSERT on SQLite
    queue_many(mails)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ------------------------------------------------------------------ direct attachment (RAT-6)


def related_user_ids(actor: User):
    """SELECT of the people linked to `actor`'s structures (members, past members, requesters): those a
    manager's screens may show and attach outright (RAT-6); anyone else is invited (see invitations.py)."""
    return select(Membership.user_id).where(Membership.structure_id.in_(managed_structure_ids(actor)))


def attachable(actor: User, user_id: int | None) -> User | None:
    """The person `user_id` if `actor`'s search could have shown them: an id posted to the attachment form
    must be one the screen offered, whatever the form says (P6: no reading or attaching accounts by id)."""
    if not user_id:
        return None
    return db.session.execute(
        select(User).where(User.id == user_id, User.id.in_(related_user_ids(actor)), User.kind == AccountKind.PERSON,
                           User.status.in_([AccountStatus.ACTIVE, AccountStatus.PENDING]))
    ).scalar_one_or_none()


def search_users(actor: User, *, last_name: str = "", first_name: str = "", email: str = "", clauses=(),
                 limit: int = 50):
    """People a manager may attach (RAT-6), at least one criterion given (`clauses`: plugins' criteria).

    Only the people already linked to the manager's structures (members, past members, requesters): a
    manager, who may be anyone who created a private structure, cannot list or probe the platform's
    accounts. Anyone else is invited by their address, and the screen answers the same either way.
    """
    criteria = [c.strip() for c in (last_name, first_name, email)]
    if not any(criteria) and not clauses:
        raise MembershipError("Saisissez au moins un critère de recherche.")
    if not can(actor, "membership.search_users"):
        raise Denied()
    # Driven from the memberships of the manager's structures (index on structure_id), never from all the
    # accounts; names compared on the stored folded columns (accents and case ignored, indexed order).
    partial = [User.id.in_(related_user_ids(actor))]
    for column, value in ((User.last_name_folded, fold(criteria[0])), (User.first_name_folded, fold(criteria[1])),
                          (User.login_email, criteria[2].lower())):
        if value:
            escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            partial.append(column.like(f"%{escaped}%", escape="\\"))
    order = (User.last_name_folded, User.first_name_folded, User.id)
    # The page's ids first, from the indexes alone on PostgreSQL (ix_user_account_search), then
    # their accounts: the thousands of people tested are never read row by row.
    ids = select(User.id).where(User.kind == AccountKind.PERSON,
                                User.status.in_([AccountStatus.ACTIVE, AccountStatus.PENDING]), *partial, *clauses)
    return db.session.execute(
        select(User).where(User.id.in_(ids.order_by(*order).limit(limit).scalar_subquery())).order_by(*order)
    ).scalars().all()


def attach_user(actor: User, structure: Structure, user: User, *, role: str, start_date: date | None = None,
                comment: str = "", extra: dict | None = None) -> Membership:
    """A manager attaches someone who did not ask; the person is told by e-mail (RAT-6, NOT-1).

    `extra`: the values of the fields plugins added to the attachment form, handed on in the event.
    """
    require_on(actor, "membership.attach", structure, visible_with="structure.view")
    wanted = _check_role(role)
    if attachable(actor, user.id) is None:  # not someone the manager's screen could offer: invite them instead
        raise MembershipError({"user_id": "Choisissez l'utilisateur à rattacher parmi les résultats de la recherche."})
    with transaction():
        existing = _open_membership(user.id, structure.id)
        if existing is not None:
            raise MembershipError({"user_id": f"{user.full_name} est déjà membre de cette structure."
                                   if existing.status == MembershipStatus.VALIDATED else
                                   f"{user.full_name} a déjà une demande en cours : traitez-la depuis "
                                   "« Les demandes de rattachement »."})
        membership = _attach(actor, structure, user, wanted, start_date=start_date, comment=comment, extra=extra,
                             summary=f"Rattachement de {user.full_name} à la structure ({wanted.label.lower()})")
        queue(user.contact_email, "membership_attached", user=user, structure=structure, membership=membership,
              actor=actor, link=absolute_url("accounts.my_account"))
    return membership


def _attach(actor: User, structure: Structure, user: User, role: Role, *, start_date: date | None, comment: str,
            extra: dict | None, summary: str) -> Membership:
    """Write a validated membership made by a manager, its event and its history entry (RAT-6, USR-4), inside
    the caller's transaction; the caller has checked the rights and tells the person."""
    now = clock.now()
    membership = Membership(user_id=user.id, structure_id=structure.id, role=role,
                            status=MembershipStatus.VALIDATED, comment=comment.strip(), decision_reason="",
                            start_date=start_date or clock.today(), created_at=now, decided_at=now,
                            decided_by_id=actor.id)
    _insert_guarded(membership)
    events.emit("membership.attached", actor=actor, **_ids_of(membership), spaces=default_spaces(structure, role),
                extra=extra or {})  # first: the history's snapshot (HIS-3) sees what plugins wrote
    history.record(structure.id, actor, "membership.attached", comment=history.VALIDATED, subject_user=user,
                   summary=summary, detail=_detail("membership.attached", membership, structure, user))
    return membership


# ------------------------------------------------------------------ removal (RAT-7)


def remove(actor: User, structure: Structure, ids: list[int]) -> int:
    """Remove validated memberships of `structure`, at structure level; never the primary manager's."""
    require_on(actor, "membership.remove", structure, visible_with="structure.view")
    ids = sorted({int(i) for i in ids})[:MAX_BATCH]
    with transaction():
        rows = db.session.execute(
            select(Membership, User).join(User, Membership.user_id == User.id).where(
                Membership.id.in_(ids), Membership.structure_id == structure.id,
                Membership.status == MembershipStatus.VALIDATED)
        ).all()
        if any(m.role == Role.PRIMARY for m, _ in rows):  # SPEC TRF-1
            raise MembershipError("Le rattachement du gestionnaire principal ne peut pas être supprimé : "
                                  "transférez d'abord son rôle.")
        removed = 0
        for m, user in rows:
            done = db.session.execute(
                update(Membership).where(Membership.id == m.id, Membership.status == MembershipStatus.VALIDATED)
                .values(status=MembershipStatus.REMOVED, decided_at=clock.now(), decided_by_id=actor.id)
            ).rowcount
            if done:
                removed += 1
                events.emit("membership.removed", actor=actor, **_ids_of(m))
                history.record(structure.id, actor, "membership.removed", comment=history.REMOVED,
                               subject_user=user, summary=f"Rattachement de {user.full_name} supprimé",
                               detail=_detail("membership.removed", m, structure, user))
    return removed


# ------------------------------------------------------------------ expiry (RAT-8)


def expire_pending() -> int:
    """Refuse the requests left pending longer than MEMBERSHIP_REQUEST_TTL, telling each requester."""
    ttl = current_app.config["MEMBERSHIP_REQUEST_TTL"]
    now = clock.now()
    reason = f"Demande expirée : sans réponse des gestionnaires dans un délai de {ttl.days} jours."
    with transaction():
        ids = db.session.execute(
            update(Membership).where(Membership.status == MembershipStatus.PENDING,
                                     Membership.created_at <= now - ttl)
            .values(status=MembershipStatus.REFUSED, decided_at=now, decision_reason=reason)
            .returning(Membership.id)
        ).scalars().all()
        for chunk in _chunks(sorted(ids), 500):
            for m, structure, user in db.session.execute(
                select(Membership, Structure, User).join(Structure, Membership.structure_id == Structure.id)
                .join(User, Membership.user_id == User.id).where(Membership.id.in_(chunk))
            ).all():
                events.emit("membership.expired", actor=None, **_ids_of(m), reason=reason)
                history.record(structure.id, None, "membership.expired", comment=history.REFUSED, subject_user=user,
                               summary=f"Demande de rattachement de {user.full_name} expirée",
                               detail=_detail("membership.expired", m, structure, user, reason=reason))
                queue(user.contact_email, "membership_expired", user=user, structure=structure, days=ttl.days,
                      link=absolute_url("accounts.my_account"))
    return len(ids)


def memberships_shown_to(user: User):
    """What "Mon compte" lists (ACC-5, RAT-2): validated and pending memberships, and refused requests with their
    reason (P6-13) unless the person asked the same structure again since."""
    newer = aliased(Membership)
    asked_again = select(newer.id).where(newer.user_id == Membership.user_id,
                                         newer.structure_id == Membership.structure_id, newer.id > Membership.id)
    return select(Membership).where(
        Membership.user_id == user.id,
        or_(Membership.status.in_([MembershipStatus.VALIDATED, MembershipStatus.PENDING]),
            and_(Membership.status == MembershipStatus.REFUSED, ~asked_again.exists())))
