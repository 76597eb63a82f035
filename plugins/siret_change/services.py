"""The rules of a change of identifier (SPEC SIR-1..5): who may ask, the new identifier, the e-mails, and the
changes the directory reports for local authorities (SIR-5, no person acting). Plain functions taking the actor."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from chorus.accounts.models import AccountKind, AccountStatus, User
from chorus.database import transaction
from chorus.events import Refused
from chorus.extensions import db
from chorus.mail.outbox import absolute_url, queue_many
from chorus.memberships.models import MANAGER_ROLES, Membership, MembershipStatus
from chorus.memberships.queries import role_of
from chorus.permissions import is_active_person, require_on
from chorus.structures import duplication
from chorus.structures.models import IdentifierType, PublicCategory, Structure

from . import ACTION

AUTOMATIC = ("Pour les collectivités locales, le changement d'identifiant est appliqué automatiquement depuis le "
             "référentiel (CCL/Bambou).")


def is_local_authority(structure: Structure) -> bool:
    return structure.is_public and structure.category == PublicCategory.LOCAL_AUTHORITY


def may_change(actor, structure) -> bool:
    """SIR-1: the managers of an active structure; for local authorities the directory does it (SIR-5)."""
    return (isinstance(structure, Structure) and is_active_person(actor) and structure.is_active
            and not is_local_authority(structure) and role_of(actor, structure.id) in MANAGER_ROLES)


def check(actor, structure: Structure, identifier: str) -> str:
    """Step 2 of the screen: the new identifier, normalised, if it is valid and unused (nothing written)."""
    require_on(actor, ACTION, structure, visible_with="structure.view")
    return duplication.check_identifier(structure, identifier)


def change_identifier(actor, structure: Structure, identifier: str) -> Structure:
    """SIR-1..4: the successor of `structure` under `identifier`; both structures' managers are told by e-mail."""
    require_on(actor, ACTION, structure, visible_with="structure.view")
    return _apply(actor, structure, identifier)


def _apply(actor, structure: Structure, identifier: str) -> Structure:
    with transaction():
        successor = duplication.duplicate(actor, structure, identifier)
        _notify(structure, successor)
    return successor


def _notify(old: Structure, new: Structure) -> None:
    """One e-mail to each manager of either structure, at their contact address (NOT-1)."""
    managers = db.session.execute(
        select(User.first_name, User.last_name, User.contact_email).join(Membership, Membership.user_id == User.id)
        .where(Membership.structure_id.in_([old.id, new.id]), Membership.role.in_([str(r) for r in MANAGER_ROLES]),
               Membership.status == MembershipStatus.VALIDATED, User.kind == AccountKind.PERSON,
               User.status != AccountStatus.DEACTIVATED)
        .order_by(User.id)).all()
    link = absolute_url("structures.view", structure_id=new.id)
    context = {"old": {"designation": old.designation, "identifier": old.identifier},
               "new": {"designation": new.designation, "identifier": new.identifier}, "link": link}
    seen, mails = set(), []
    for first_name, last_name, address in managers:
        if address not in seen:
            seen.add(address)
            mails.append({"to": address, "template": "structure_identifier_changed",
                          "context": {**context, "user": {"first_name": first_name, "last_name": last_name}}})
    queue_many(mails)


# ------------------------------------------------------------------ SIR-5: the directory's changes, no person


@dataclass
class Outcome:
    old: str
    new: str
    status: str  # "done", "already", "refused"
    message: str
    structure_id: int | None = None


def _by_siret(identifier: str) -> Structure | None:
    return db.session.execute(select(Structure).where(Structure.identifier_type == IdentifierType.SIRET,
                                                      Structure.identifier == identifier)).scalar_one_or_none()


def apply_directory_change(old_identifier: str, new_identifier: str) -> Outcome:
    """SIR-5: a local authority's SIRET changed in the referential; apply it as a manager would, as the system.

    Idempotent: a change already applied (the old structure's successor has the new SIRET) does nothing.
    """
    from chorus.structures.identifiers import normalize

    old_id, new_id = normalize(IdentifierType.SIRET, old_identifier), normalize(IdentifierType.SIRET, new_identifier)
    old = _by_siret(old_id)
    if old is None:
        return Outcome(old_id, new_id, "refused", "aucune structure n'a ce SIRET.")
    successor = duplication.successor_of(old.id)
    if successor is not None and successor.identifier == new_id:
        return Outcome(old_id, new_id, "already", "déjà appliqué.", successor.id)
    if not is_local_authority(old):
        return Outcome(old_id, new_id, "refused", "cette structure n'est pas une collectivité locale : ses "
                       "gestionnaires changent eux-mêmes son identifiant (« Modifier l'identifiant »).")
    try:
        successor = _apply(None, old, new_id)
    except Refused as e:  # the identifier's checks (StructureError) or a module's veto of the copy
        return Outcome(old_id, new_id, "refused", " ".join(e.errors.values()))
    return Outcome(old_id, new_id, "done", f"structure {successor.id} créée, structure {old.id} désactivée.",
                   successor.id)
