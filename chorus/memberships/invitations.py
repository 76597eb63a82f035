"""Invitations (SPEC RAT-6 as amended): a manager asks a person who is not yet linked to any of their
structures to join one; the person is attached only when they accept.

The manager's screen answers the same whether or not the address has an account, and the invitation
goes to the address the manager typed: nobody learns which addresses have accounts, and nobody is
attached (or mailed a manager's text) without a limit: invitations are counted per manager.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import date

from flask import current_app
from sqlalchemy import select, update

from .. import clock, events
from ..accounts import throttle
from ..accounts.models import AccountKind, AccountStatus, User
from ..database import transaction
from ..extensions import db
from ..history import services as history
from ..mail.outbox import absolute_url, queue
from ..permissions import require_on
from ..structures.models import Structure
from ..validation import email_problem, text_problem
from .models import Invitation, InvitationStatus, Membership, MembershipStatus, Role
from .services import MembershipError, _check_role, _insert_guarded, _open_membership
from .spaces import default_spaces


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(actor: User, structure: Structure, email: str, *, role: str, start_date: date | None = None,
           comment: str = "") -> Invitation:
    """Invite the owner of `email` to join `structure`; the same answer whether or not an account exists."""
    require_on(actor, "membership.attach", structure, visible_with="structure.view")
    wanted = _check_role(role)
    email = (email or "").strip().lower()
    problem = email_problem(email) if email else "Saisissez l'adresse électronique de la personne à inviter."
    if problem:
        raise MembershipError({"invitee_email": problem})
    problem = text_problem(comment or "", 1000, multiline=True)
    if problem:
        raise MembershipError({"comment": problem})
    with transaction():
        spend_invitation(actor)
        invitation = send_invitation(actor, structure, email, wanted, start_date=start_date, comment=comment)
    return invitation


def spend_invitation(actor: User) -> None:
    """Count one invitation of `actor` (inside the caller's transaction); refused past the daily limit. Creating
    a person's account counts too (USR-4): both let a manager write to an address of their choice."""
    config = current_app.config
    sent = throttle.hit(f"invitation:manager:{actor.id}", config["INVITATIONS_WINDOW"])
    if sent > config["INVITATIONS_PER_MANAGER"]:
        raise MembershipError("Vous avez envoyé trop d'invitations aujourd'hui. Réessayez demain.")


def send_invitation(actor: User, structure: Structure, email: str, role: Role, *, start_date: date | None,
                    comment: str) -> Invitation:
    """Write and mail the invitation (inside the caller's transaction, rights, limit and input checked)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    invitation = Invitation(structure_id=structure.id, email=email, role=role, start_date=start_date,
                            comment=(comment or "").strip(), token_hash=_digest(token),
                            status=InvitationStatus.PENDING, invited_by_id=actor.id, created_at=now,
                            expires_at=now + current_app.config["INVITATION_LIFETIME"])
    db.session.add(invitation)
    db.session.flush()
    history.record(structure.id, actor, "membership.invited", summary=f"Invitation envoyée à {email} "
                   f"({role.label.lower()})", detail={"email": email, "role": role.label,
                                                      "comment": invitation.comment})
    queue(email, "membership_invitation", invitation=invitation, structure=structure, actor=actor,
          link=absolute_url("memberships.invitation", token=token), register_link=absolute_url("accounts.register"))
    events.emit("membership.invited", actor=actor, invitation_id=invitation.id, structure_id=structure.id,
                role=str(role))
    return invitation


def find(actor: User, token: str) -> Invitation | None:
    """The pending, unexpired invitation behind `token`, if it is for `actor`'s login address."""
    if not token or len(token) > 100:
        return None
    invitation = db.session.execute(
        select(Invitation).where(Invitation.token_hash == _digest(token))
    ).scalar_one_or_none()
    if (invitation is None or invitation.status != InvitationStatus.PENDING or invitation.expires_at <= clock.now()
            or invitation.email != actor.login_email or actor.kind != AccountKind.PERSON
            or actor.status != AccountStatus.ACTIVE):
        return None
    return invitation


GONE = "Cette invitation n'est plus valable : elle a expiré, a déjà reçu une réponse ou ne vous est pas adressée."


def _answer(invitation: Invitation, status: InvitationStatus, membership_id: int | None = None) -> None:
    done = db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id, Invitation.status == InvitationStatus.PENDING)
        .values(status=status, answered_at=clock.now(), membership_id=membership_id)
    ).rowcount
    if done != 1:  # answered meanwhile, in another tab
        raise MembershipError(GONE)


def accept(actor: User, token: str) -> Membership:
    """The invited person says yes: they are attached, with the role and start date of the invitation."""
    with transaction():
        invitation = find(actor, token)
        if invitation is None:
            raise MembershipError(GONE)
        structure = invitation.structure
        if not structure.is_active:
            raise MembershipError("Cette structure n'accepte plus de nouveaux rattachements.")
        existing = _open_membership(actor.id, structure.id)
        if existing is not None:
            raise MembershipError("Vous êtes déjà membre de cette structure." if existing.status ==
                                  MembershipStatus.VALIDATED else
                                  "Vous avez déjà une demande en cours pour cette structure.")
        now = clock.now()
        membership = Membership(user_id=actor.id, structure_id=structure.id, role=invitation.role,
                                status=MembershipStatus.VALIDATED, comment=invitation.comment, decision_reason="",
                                start_date=invitation.start_date or clock.today(), created_at=now, decided_at=now,
                                decided_by_id=invitation.invited_by_id)
        _insert_guarded(membership)
        _answer(invitation, InvitationStatus.ACCEPTED, membership.id)
        history.record(structure.id, actor, "membership.invitation_accepted", comment=history.VALIDATED,
                       subject_user=actor, summary=f"Invitation acceptée par {actor.full_name} "
                       f"({invitation.role_label.lower()})", detail={"email": invitation.email,
                                                                   "invited_by": invitation.invited_by.full_name})
        events.emit("membership.invitation_accepted", actor=actor, membership_id=membership.id, user_id=actor.id,
                    structure_id=structure.id, role=str(membership.role), invitation_id=invitation.id,
                    spaces=default_spaces(structure, invitation.role))
    return membership


def decline(actor: User, token: str) -> None:
    with transaction():
        invitation = find(actor, token)
        if invitation is None:
            raise MembershipError(GONE)
        _answer(invitation, InvitationStatus.DECLINED)
        events.emit("membership.invitation_declined", actor=actor, invitation_id=invitation.id,
                    structure_id=invitation.structure_id)
