""""Créer le compte utilisateur" (SPEC USR-4, ACC-3): a manager creates the account of a person they want to
attach, and attaches it at once to one of their structures (with the services plugins' fields offer).

When the login address already has an account, nothing is created and nobody is attached: the owner gets an
invitation to the structure instead (RAT-6), and the manager's screen answers the same words. Both cases count
against the manager's daily invitations, so that the screen cannot be used to probe addresses in bulk. Only a
person the manager's search could already show (linked to one of their structures) is named plainly: the
manager is sent to "Rattacher un utilisateur", which would show them anyway.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from ..accounts import services as accounts
from ..accounts.models import User
from ..database import transaction
from ..extensions import db
from ..permissions import require_on
from ..structures.models import Structure
from ..validation import text_problem
from . import invitations
from .services import MembershipError, _attach, _check_role, related_user_ids


@dataclass
class AttachmentTerms:
    """What the manager sets for the new account's membership (RAT-6): role, validity start, comment, and
    the values of the fields plugins added to the form (`extra`, e.g. the services)."""

    role: str
    start_date: date | None = None
    comment: str = ""
    extra: dict | None = None


def create_and_attach(actor: User, structure: Structure, data: accounts.AccountData,
                      terms: AttachmentTerms) -> User | None:
    """Create the person's account, "En cours d'activation", attached to `structure`; the activation mail (to
    the login address) says so. Returns the new account, or None when the address had one: then its owner
    was invited instead (the caller answers the same either way)."""
    require_on(actor, "membership.attach", structure, visible_with="structure.view")  # MGR-2
    role = _check_role(terms.role)
    problem = text_problem(terms.comment or "", 1000, multiline=True)
    if problem:
        raise MembershipError({"comment": problem})
    login = accounts.normalize_email(data.login_email)
    with transaction():
        known = db.session.execute(select(User.id).where(
            User.login_email == login, User.id.in_(related_user_ids(actor)))).first()
        if known:
            raise MembershipError({"login_email": "Cette personne a déjà un compte et est liée à l'une de vos "
                                                  "structures : rattachez-la depuis « Rattacher un utilisateur »."})
        invitations.spend_invitation(actor)
        user = accounts.create_for_person(actor, data, attached_to=structure, manager=actor,
                                         role_label=role.label)
        if user is None:
            invitations.send_invitation(actor, structure, login, role, start_date=terms.start_date,
                                        comment=terms.comment)
            return None
        _attach(actor, structure, user, role, start_date=terms.start_date, comment=terms.comment or "",
                extra=terms.extra, summary=f"Création du compte de {user.full_name} et rattachement à la structure "
                                           f"({role.label.lower()})")
    return user
