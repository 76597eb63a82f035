"""What two functions of `chorus.memberships.services` should become (P5), measured here until the
lead wires them in (that module is being rewritten on another branch). The benchmark swaps them in
to report the "proposed wiring" figures; the application does not use this module.

- `_after_decision`: the same history rows and events, the e-mails queued with one INSERT and
  rendered by the sender (`chorus.mail.outbox.queue_many`), not 1,000 template renderings in the request.
- `search_users`: the same rules (partial criteria among the people linked to the manager's
  structures, anyone by their exact login address), but the exact address looked up alone through
  its unique index (an OR with the partial search made the database scan every account), and the
  partial criteria compared with the stored folded columns (accents and case ignored, no lower()
  per row), sorted by the (last_name_folded, first_name_folded, id) index.
"""
from __future__ import annotations

from sqlalchemy import select, update

from chorus import events
from chorus.accounts.models import AccountKind, AccountStatus, User
from chorus.database import bulk_insert
from chorus.extensions import db
from chorus.folding import fold
from chorus.history import services as history
from chorus.history.models import HistoryEntry
from chorus.mail.outbox import absolute_url, queue_many
from chorus.memberships.models import Membership, Role
from chorus.memberships.queries import managed_structure_ids
from chorus.memberships.services import MembershipError, _chunks, _snapshot
from chorus.memberships.spaces import default_spaces
from chorus.permissions import Denied, can
from chorus.structures.models import Structure


def decision_mail(user, structure, membership, reason: str, link: str, accept: bool) -> dict:
    """One row for queue_many(): the plain values templates/mail/membership_{validated,refused}.txt read."""
    return {"to": user.contact_email, "template": "membership_validated" if accept else "membership_refused",
            "context": {"user": {"first_name": user.first_name, "last_name": user.last_name},
                        "structure": {"designation": structure.designation, "identifier": structure.identifier},
                        "membership": {"role_label": Role(membership.role).label},
                        "reason": reason, "link": link}}


def after_decision(actor, ids, accept, reason, now) -> None:
    rows = []
    for chunk in _chunks(ids, 500):
        rows += db.session.execute(
            select(Membership, Structure, User).join(Structure, Membership.structure_id == Structure.id)
            .join(User, Membership.user_id == User.id).where(Membership.id.in_(chunk))
            .execution_options(populate_existing=True)
        ).all()
    link = absolute_url("accounts.my_account")  # once, not once per mail
    grants, entries, mails = [], [], []
    for m, structure, user in rows:
        spaces = default_spaces(structure, m.role) if accept else []
        if accept:
            grants.append({"id": m.id, "granted_spaces": spaces})
        entries.append({
            "structure_id": structure.id, "at": now, "actor_id": actor.id,
            "action": "membership.validated" if accept else "membership.refused",
            "comment": history.VALIDATED if accept else history.REFUSED,
            "summary": (f"Demande de rattachement de {user.full_name} validée ({Role(m.role).label.lower()})"
                        if accept else f"Demande de rattachement de {user.full_name} refusée : {reason}"),
            "subject_user_id": user.id, "detail": {"request": _snapshot(m, structure, user), "reason": reason},
        })
        mails.append(decision_mail(user, structure, m, reason, link, accept))
        events.emit("membership.validated" if accept else "membership.refused", actor=actor, membership_id=m.id,
                    user_id=user.id, structure_id=structure.id, role=str(m.role), default_spaces=spaces)
    # One UPDATE per distinct set of granted spaces (usually one or two), not one per membership.
    by_spaces: dict[tuple, list[int]] = {}
    for grant in grants:
        by_spaces.setdefault(tuple(grant["granted_spaces"]), []).append(grant["id"])
    for spaces, granted_ids in by_spaces.items():
        for chunk in _chunks(granted_ids, 500):
            db.session.execute(update(Membership).where(Membership.id.in_(chunk)).values(granted_spaces=list(spaces)))
    bulk_insert(HistoryEntry.__table__, entries)  # COPY on PostgreSQL, multi-row INSERT on SQLite
    queue_many(mails)


def _contains(column, value: str):
    escaped = fold(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def search_users(actor, *, last_name: str = "", first_name: str = "", email: str = "", limit: int = 50):
    criteria = [c.strip() for c in (last_name, first_name, email)]
    if not any(criteria):
        raise MembershipError("Saisissez au moins un critère de recherche.")
    if not can(actor, "membership.search_users"):
        raise Denied()
    attachable = (User.kind == AccountKind.PERSON, User.status.in_([AccountStatus.ACTIVE, AccountStatus.PENDING]))
    found = []
    if criteria[2] and not any(criteria[:2]):  # anyone, by their exact login address: the unique index
        found = db.session.execute(select(User).where(User.login_email == criteria[2].lower(), *attachable)
                                   ).scalars().all()
    # Driven from the memberships of the manager's structures (index on structure_id), never from
    # the 500,000 accounts: a correlated EXISTS let the database walk every account in name order.
    linked = User.id.in_(select(Membership.user_id).where(Membership.structure_id.in_(managed_structure_ids(actor))))
    partial = [linked, *attachable]
    for column, value in ((User.last_name_folded, criteria[0]), (User.first_name_folded, criteria[1]),
                          (User.login_email, criteria[2].lower())):
        if value:
            partial.append(_contains(column, value))
    found += db.session.execute(
        select(User).where(*partial, User.id.notin_([u.id for u in found]))
        .order_by(User.last_name_folded, User.first_name_folded, User.id).limit(limit)
    ).scalars().all()
    return sorted(found, key=lambda u: (u.last_name_folded, u.first_name_folded, u.id))[:limit]
