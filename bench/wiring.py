"""What `chorus.memberships.services._after_decision` should become (P5), measured here until the
lead wires it in: the same history rows and events, the e-mails queued with one INSERT and rendered
by the sender (`chorus.mail.outbox.queue_many`) instead of 1,000 template renderings in the request.

The benchmark swaps it in to report "bulk validation, proposed wiring"; the application does not use it.
"""
from __future__ import annotations

from sqlalchemy import insert, select, update

from chorus import events
from chorus.accounts.models import User
from chorus.extensions import db
from chorus.history import services as history
from chorus.history.models import HistoryEntry
from chorus.mail.outbox import absolute_url, queue_many
from chorus.memberships.models import Membership, Role
from chorus.memberships.services import _chunks, _snapshot
from chorus.memberships.spaces import default_spaces
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
    if grants:
        db.session.execute(update(Membership), grants)
    db.session.execute(insert(HistoryEntry), entries)
    queue_many(mails)
