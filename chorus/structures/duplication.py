"""A change of identifier (SPEC SIR-2..4, STR-9): the successor structure, made from the old one in one transaction.

The core copies what it keeps (the record and the memberships, with their roles and statuses), deactivates the old
structure, links both, writes their history, and announces `structure.duplicated`: every module copies its own data
(services, spaces, documents...) in that event's `domain_change`, in the same transaction; a module that raises
rolls everything back. The core names no module. Who may ask is the caller's rule: a manager's screen, or the
directory import acting without a person (`actor` None).
"""
from __future__ import annotations

from sqlalchemy import select, update

from .. import clock, events
from ..accounts.models import AccountKind, User
from ..database import insert_returning_ids, transaction
from ..extensions import db
from ..history import services as history
from ..memberships.models import Invitation, InvitationStatus, Membership, MembershipStatus
from . import identifiers
from .models import Structure, StructureStatus
from .services import StructureError, _exists, _flush_unique
from .units import carried_units

# SPEC STR-9, SIR-2: the record's fields a change of identifier does not carry over (they take their defaults);
# the sixth exception, the technical user account, is a membership: see CARRIED_STATUSES below.
NOT_CARRIED = ("billing_mandate", "pacage_number", "social_regime", "vat_number", "connection_info")
NOT_CARRIED_LABEL = ("le mandat de facturation, le compte utilisateur technique, le numéro PACAGE, le régime social, "
                     "le numéro de TVA intracommunautaire et les informations de raccordement")
# The columns the successor has of its own.
OWN_COLUMNS = ("id", "identifier", "designation_folded", "status", "predecessor_id", "created_at", "updated_at")
# The memberships carried over: those not closed for good (refused, removed or cancelled ones stay with the old
# structure's records), of people: technical users' are not (STR-9).
CARRIED_STATUSES = (MembershipStatus.PENDING, MembershipStatus.VALIDATED, MembershipStatus.DEACTIVATED)


def successor_of(structure_id: int) -> Structure | None:
    """The structure that succeeded `structure_id` after a change of identifier (SIR-4), if any."""
    return db.session.execute(select(Structure).where(Structure.predecessor_id == structure_id)).scalar_one_or_none()


def current_identifier(identifier_type: str, identifier: str) -> str | None:
    """The identifier of the active structure an inactive one became, following its successors (SIR-4); None when
    `identifier` is not an inactive structure's, or its line of successors ends inactive."""
    structure = db.session.execute(select(Structure).where(
        Structure.identifier_type == identifier_type,
        Structure.identifier == identifiers.normalize(identifier_type, identifier))).scalar_one_or_none()
    if structure is None or structure.is_active:
        return None
    for _ in range(20):  # each change of identifier is a row: a bounded walk
        structure = successor_of(structure.id)
        if structure is None or structure.is_active:
            break
    return structure.identifier if structure is not None and structure.is_active else None


def check_identifier(source: Structure, identifier: str) -> str:
    """The new identifier, normalised, if it can replace `source`'s: valid for its type, another one, unused."""
    identifier = identifiers.normalize(source.identifier_type, identifier)
    problem = identifiers.problem(source.identifier_type, identifier)
    if problem:
        raise StructureError({"identifier": problem})
    if identifier == source.identifier:
        raise StructureError({"identifier": "Saisissez le nouvel identifiant : c'est celui de la structure actuelle."})
    if _exists(source.identifier_type, identifier):
        raise StructureError({"identifier": "Une structure existe déjà avec cet identifiant."})
    return identifier


def duplicate(actor: User | None, source: Structure, identifier: str) -> Structure:
    """Make the successor of `source` under `identifier` (SIR-2), deactivate `source` (SIR-3), link both (SIR-4).

    One transaction (the caller's, if it holds one): a refusal anywhere, in the core or in a module's copy, leaves
    nothing done. `actor` None: the system (SIR-5). The caller checks who may ask.
    """
    identifier = check_identifier(source, identifier)
    with transaction():
        now = clock.now()
        # The old structure first, guarded: of two changes at once, one makes a successor; a membership request
        # waiting on the row (events._require_active) then sees it inactive.
        deactivated = db.session.execute(
            update(Structure).where(Structure.id == source.id, Structure.status == StructureStatus.ACTIVE)
            .values(status=StructureStatus.INACTIVE, updated_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if deactivated != 1:
            raise StructureError("Cette structure est inactive : son identifiant a déjà été modifié.")
        db.session.info.get(events.ACTIVE_CHECKED, set()).discard(source.id)
        db.session.refresh(source)
        columns = Structure.__table__.columns
        values = {c.key: getattr(source, c.key) for c in columns if c.key not in OWN_COLUMNS + NOT_CARRIED}
        values.update({name: columns[name].default.arg for name in NOT_CARRIED})
        successor = Structure(**values, identifier=identifier, status=StructureStatus.ACTIVE,
                              predecessor_id=source.id, created_at=now, updated_at=now)
        db.session.add(successor)
        _flush_unique(successor)
        memberships = _copy_memberships(source.id, successor.id)
        old_name = f"{source.identifier_type_label} {source.identifier}"
        new_name = f"{successor.identifier_type_label} {successor.identifier}"
        history.record(source.id, actor, "structure.identifier_changed",
                       summary=f"Changement d'identifiant : la structure est désactivée ; elle se poursuit sous "
                               f"l'identifiant {new_name}.",
                       detail={"successor_id": successor.id, "identifier": successor.identifier})
        history.record(successor.id, actor, "structure.duplicated",
                       summary=f"Création de la structure par changement d'identifiant de la structure {old_name} : "
                               f"toutes ses données sont reprises, sauf {NOT_CARRIED_LABEL}.",
                       detail={"predecessor_id": source.id, "identifier": source.identifier,
                               "memberships": len(memberships)})
        events.emit("structure.duplicated", actor=actor, structure_id=successor.id, source_id=source.id,
                    memberships=memberships)
        units = carried_units(source, successor)  # every module has copied its rows: the units' new ids are known
        if units:
            events.emit("structure.units_carried", actor=actor, structure_id=successor.id, source_id=source.id,
                        units=units)
        # The pending requests go on with the successor, where they were copied: closed here, so that none is
        # listed twice or validated on an inactive structure (SIR-3).
        db.session.execute(
            update(Membership).where(Membership.structure_id == source.id,
                                     Membership.status == MembershipStatus.PENDING)
            .values(status=MembershipStatus.CANCELLED, decided_at=now, decided_by_id=getattr(actor, "id", None),
                    decision_reason=f"Demande reprise par la structure d'identifiant {new_name}.")
            .execution_options(synchronize_session=False))
        # The invitations not yet answered now invite to the successor (the link in the e-mail stays valid).
        db.session.execute(
            update(Invitation).where(Invitation.structure_id == source.id,
                                     Invitation.status == InvitationStatus.PENDING)
            .values(structure_id=successor.id).execution_options(synchronize_session=False))
    return successor


def _copy_memberships(source_id: int, successor_id: int) -> dict[int, int]:
    """The source's carried memberships, copied with their roles, statuses and dates: {old id: new id}."""
    rows = db.session.execute(
        select(Membership.__table__).join(User, Membership.user_id == User.id)
        .where(Membership.structure_id == source_id, Membership.status.in_([str(s) for s in CARRIED_STATUSES]),
               User.kind != AccountKind.TECHNICAL)
        .order_by(Membership.id)).mappings().all()
    copies = [{**{k: v for k, v in row.items() if k != "id"}, "structure_id": successor_id} for row in rows]
    new_ids = insert_returning_ids(Membership.__table__, copies)
    return {row["id"]: new_id for row, new_id in zip(rows, new_ids, strict=True)}
