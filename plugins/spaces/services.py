"""Subscription rules (SPEC ESP-2..5, ABO-1..6, HIS-1, HIS-2, NOT-1). Plain functions taking the actor.

Who reaches which space, and with which right, is read here only: `rights_of` (validated subscriptions of
memberships in force). Every change goes through a request and a decision (or, for "Factures émises", the
user's own choice, ABO-6), with its event, its history entry and its e-mail, in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload, selectinload

from chorus import clock, events
from chorus.accounts.models import User
from chorus.database import in_ids, transaction
from chorus.events import Refused
from chorus.extensions import db
from chorus.history import services as history
from chorus.mail.outbox import absolute_url, queue_many
from chorus.memberships.models import MANAGER_ROLES, Membership
from chorus.memberships.queries import in_force, managed_structure_ids, role_of
from chorus.permissions import Denied, can, is_active_person
from chorus.request_cache import cached
from chorus.structures.models import Structure, StructureStatus
from chorus.structures.units import memberships_of_units, units_of

from .catalogue import MODIFICATION, RIGHTS, SELF_SERVICE, SPACES, applicable, stronger
from .models import ALL_UNITS, Origin, Status, StructureSpace, Subscription, SubscriptionRequest

MAX_BATCH = 1000
ALL_UNITS_LABEL = "Tous les services"


class SubscriptionError(Refused):
    """Refused by a subscription rule; `errors` maps form fields ("" for the form) to French messages."""


@dataclass(frozen=True)
class Line:
    """One space asked or granted: for all services (ALL_UNITS) or one, with a right."""

    space_code: str
    right: str
    unit_id: str = ALL_UNITS


@dataclass
class DecisionReport:
    decided: list[int] = field(default_factory=list)
    skipped: int = 0


# ------------------------------------------------------------------ who reaches what (ESP-5)


def rights_of(user) -> dict[tuple[str, int], str]:
    """{(space code, structure id): strongest right} of the validated subscriptions of memberships in force."""
    if not is_active_person(user):
        return {}

    def compute():
        rows = db.session.execute(
            select(Subscription.space_code, Subscription.structure_id, Subscription.right)
            .join(Membership, Membership.id == Subscription.membership_id)
            .where(Subscription.user_id == user.id, Subscription.status == Status.VALIDATED, in_force())
        ).all()
        out: dict[tuple[str, int], str] = {}
        for code, sid, right in rows:
            out[(code, sid)] = stronger(out.get((code, sid)), right)
        return out

    return cached(("space_rights", user.id), compute)


def vote(actor, action: str, space_code: str, structure_id: int | None) -> bool | None:
    """True when a subscription allows `action` ("space.access" or "space.modify") on the space, on
    `structure_id` or, when None, on any structure; None otherwise (no vote is a refusal)."""
    rights = [r for (code, sid), r in rights_of(actor).items()
              if code == space_code and (structure_id is None or sid == structure_id)]
    if action == "space.access":
        return True if rights else None
    return True if MODIFICATION in rights else None


# ------------------------------------------------------------------ defaults of a membership (ESP-2)


def grant_defaults(membership_id: int, user_id: int, structure_id: int, codes: list[str]) -> None:
    """The spaces of a new membership, in its transaction (called from the membership events)."""
    now = clock.now()
    for code in dict.fromkeys(codes):
        if code in SPACES:
            db.session.add(Subscription(user_id=user_id, structure_id=structure_id, membership_id=membership_id,
                                        space_code=code, unit_id=ALL_UNITS, unit_label="", right=MODIFICATION,
                                        status=Status.VALIDATED, origin=Origin.DEFAULT, created_at=now,
                                        updated_at=now))


# ------------------------------------------------------------------ the user's side (ABO-1, ABO-2, ABO-6, ACC-5)


def _membership(user_id: int, structure_id: int) -> Membership | None:
    return db.session.execute(select(Membership).where(
        Membership.user_id == user_id, Membership.structure_id == structure_id, in_force())).scalar_one_or_none()


def my_subscriptions(user) -> list[Subscription]:
    """"Mes abonnements aux espaces": the user's subscriptions in force or asked, on memberships in force."""
    return db.session.execute(
        select(Subscription).join(Membership, Membership.id == Subscription.membership_id)
        .join(Structure, Structure.id == Subscription.structure_id)
        .where(Subscription.user_id == user.id, Subscription.status.in_([Status.VALIDATED, Status.PENDING]),
               in_force())
        .order_by(Structure.designation_folded, Subscription.space_code, Subscription.id)
    ).scalars().all()


def my_structures(user) -> list[Structure]:
    """The active structures where the user's membership is in force: those a request may name (an inactive one,
    left by a change of SIRET, opens no space: SIR-3)."""
    return db.session.execute(
        select(Structure).join(Membership, Membership.structure_id == Structure.id)
        .where(Membership.user_id == user.id, in_force(), Structure.status == StructureStatus.ACTIVE)
        .order_by(Structure.designation_folded)
    ).scalars().all()


def _unit_label(structure: Structure, unit_id: str) -> str:
    if unit_id == ALL_UNITS:
        return ""
    label = dict(units_of(structure)).get(unit_id)
    if label is None:
        raise SubscriptionError({"unit": "Choisissez un service de la structure, ou « Tous les services »."})
    return label


def _check_line(structure: Structure, line: Line) -> str:
    space = SPACES.get(line.space_code)
    if space is None or space not in applicable(structure.is_public):
        raise SubscriptionError({"space": "Choisissez un espace que cette structure propose."})
    if line.right not in RIGHTS:
        raise SubscriptionError({"right": "Choisissez Consultation ou Modification."})
    return _unit_label(structure, line.unit_id)


def request_subscription(actor: User, structure: Structure, lines: list[Line], comment: str = "",
                         ) -> SubscriptionRequest:
    """A user asks for spaces on a structure they belong to (ABO-1, ABO-2)."""
    if not is_active_person(actor):
        raise Denied()
    if not lines:
        raise SubscriptionError({"space": "Choisissez l'espace demandé."})
    if any(line.space_code in SELF_SERVICE for line in lines):
        raise SubscriptionError({"space": "« Factures émises » s'ajoute sans demande, depuis vos abonnements."})
    with transaction():
        membership = _membership(actor.id, structure.id)
        if membership is None:
            raise SubscriptionError({"structure": "Vous n'êtes pas rattaché à cette structure."})
        labels = [_check_line(structure, line) for line in lines]
        # Already held: the same space, for all services or the one asked, with that right or Modification. A
        # space held for one service does not cover a request for all of them (ABO-2).
        held = db.session.execute(select(Subscription.space_code, Subscription.unit_id, Subscription.right).where(
            Subscription.membership_id == membership.id, Subscription.status == Status.VALIDATED)).all()
        for line in lines:
            if any(code == line.space_code and unit in (ALL_UNITS, line.unit_id) and right in (MODIFICATION, line.right)
                   for code, unit, right in held):
                raise SubscriptionError({"space": f"Vous êtes déjà abonné à « {SPACES[line.space_code].label} » "
                                                  "sur cette structure."})
        if _pending_lines(actor.id, structure.id, [line.space_code for line in lines]):
            raise SubscriptionError({"space": "Une demande est déjà en cours pour cet espace sur cette structure."})
        request = _new_request(actor.id, structure.id, membership.id, Origin.USER, comment.strip()[:2000],
                               list(zip(lines, labels, strict=True)))
        events.emit("subscription.requested", actor=actor, request_id=request.id, user_id=actor.id,
                    structure_id=structure.id, origin=str(Origin.USER),
                    spaces=[line.space_code for line in lines])
    return request


def _pending_lines(user_id: int, structure_id: int, codes: list[str]) -> bool:
    return db.session.execute(select(Subscription.id).where(
        Subscription.user_id == user_id, Subscription.structure_id == structure_id,
        Subscription.status == Status.PENDING, Subscription.space_code.in_(codes)).limit(1)).first() is not None


def _new_request(user_id, structure_id, membership_id, origin, comment, lines) -> SubscriptionRequest:
    now = clock.now()
    request = SubscriptionRequest(user_id=user_id, structure_id=structure_id, membership_id=membership_id,
                                  status=Status.PENDING, origin=origin, comment=comment, manager_comment="",
                                  decision_reason="", created_at=now)
    db.session.add(request)
    db.session.flush()
    for line, label in lines:
        db.session.add(Subscription(user_id=user_id, structure_id=structure_id, membership_id=membership_id,
                                    request_id=request.id, space_code=line.space_code, unit_id=line.unit_id,
                                    unit_label=label, right=line.right, status=Status.PENDING, origin=origin,
                                    created_at=now, updated_at=now))
    db.session.flush()
    return request


def set_self_service(actor: User, structure: Structure, code: str, on: bool) -> bool:
    """SPEC ABO-6: "Factures émises" added (with modification) or removed by the user, without validation.
    Returns whether anything changed."""
    if code not in SELF_SERVICE:
        raise SubscriptionError("Cet espace s'obtient par une demande d'abonnement.")
    with transaction():
        membership = _membership(actor.id, structure.id)
        if membership is None:
            raise Denied(hidden=True)
        current = db.session.execute(select(Subscription).where(
            Subscription.membership_id == membership.id, Subscription.space_code == code,
            Subscription.status.in_([Status.VALIDATED, Status.PENDING]))).scalars().all()
        now = clock.now()
        label = SPACES[code].label
        if on:
            if any(s.status == Status.VALIDATED and s.right == MODIFICATION for s in current):
                return False
            db.session.add(Subscription(user_id=actor.id, structure_id=structure.id, membership_id=membership.id,
                                        space_code=code, unit_id=ALL_UNITS, unit_label="", right=MODIFICATION,
                                        status=Status.VALIDATED, origin=Origin.SELF, created_at=now, updated_at=now))
            db.session.flush()
            events.emit("subscription.self_added", actor=actor, user_id=actor.id, structure_id=structure.id,
                        space=code)
            summary = f"{actor.full_name} s'est abonné à « {label} »"
        else:
            if not current:
                return False
            db.session.execute(update(Subscription).where(Subscription.id.in_([s.id for s in current]))
                               .values(status=Status.REMOVED, updated_at=now))
            events.emit("subscription.self_removed", actor=actor, user_id=actor.id, structure_id=structure.id,
                        space=code)
            summary = f"{actor.full_name} s'est désabonné de « {label} »"
        history.record(structure.id, actor, f"subscription.self_{'added' if on else 'removed'}", subject_user=actor,
                       summary=summary, detail={"space": label})
    return True


# ------------------------------------------------------------------ the managers' side (ABO-2..5, MGR-1)


def decidable(actor: User):
    """SELECT of the pending requests `actor` may decide: their structures, never their own (as RAT-8), of a
    member still attached (a request outlives nobody's membership: removed, its requests are not decided)."""
    return select(SubscriptionRequest).where(
        SubscriptionRequest.status == Status.PENDING, SubscriptionRequest.user_id != actor.id,
        SubscriptionRequest.structure_id.in_(managed_structure_ids(actor)),
        select(Membership.id).where(Membership.id == SubscriptionRequest.membership_id, in_force()).exists())


def decidable_request(actor: User, request_id: int) -> SubscriptionRequest:
    """A pending or decided request of the actor's structures; 404 for any other (MGR-2)."""
    request = db.session.get(SubscriptionRequest, request_id)
    if request is None or not is_active_person(actor) or request.user_id == actor.id or \
            role_of(actor, request.structure_id) not in MANAGER_ROLES:
        raise Denied(hidden=True)
    return request


def decide(actor: User, ids: list[int], *, accept: bool, reason: str = "", comment: str = "",
           rights: dict[int, str | None] | None = None) -> DecisionReport:
    """Validate or refuse pending requests, one or many (ABO-4); refusing needs a reason (ABO-3).

    `rights` (one request's screen, ABO-3): {line id: right, or None for a line unticked}; lines not named keep
    the right asked. Each request decided gets its event, history entry ("Validée" / "Désactivée", HIS-2) and
    e-mail (ABO-5) in this transaction; a request decided meanwhile by someone else is skipped, as is the
    validation of a request on an inactive structure (SIR-3: refusing it stays possible).
    """
    reason, comment = (reason or "").strip(), (comment or "").strip()
    if not accept and not reason:
        raise SubscriptionError({"reason": "Le motif du refus est obligatoire."})
    rights = rights or {}
    if accept and rights and not any(rights.values()):
        raise SubscriptionError({"": "Cochez Consultation ou Modification pour au moins un espace, "
                                     "ou refusez la demande."})
    if any(r not in (None, *RIGHTS) for r in rights.values()):
        raise SubscriptionError({"": "Droit inconnu."})
    ids = sorted({int(i) for i in ids})[:MAX_BATCH]
    report = DecisionReport()
    if not ids:
        return report
    now = clock.now()
    with transaction():
        mine = decidable(actor).where(SubscriptionRequest.id.in_(ids)).with_only_columns(SubscriptionRequest.id)
        if accept:  # SIR-3: nothing opens on a structure a change of SIRET left inactive; refusing stays possible
            mine = mine.where(select(Structure.id).where(Structure.id == SubscriptionRequest.structure_id,
                                                         Structure.status == StructureStatus.ACTIVE).exists())
        decided = db.session.execute(
            update(SubscriptionRequest).where(SubscriptionRequest.id.in_(mine),
                                              SubscriptionRequest.status == Status.PENDING)
            .values(status=Status.VALIDATED if accept else Status.REFUSED, decided_at=now, decided_by_id=actor.id,
                    decision_reason="" if accept else reason, manager_comment=comment if accept else "")
            .returning(SubscriptionRequest.id)).scalars().all()
        report.decided, report.skipped = sorted(decided), len(ids) - len(decided)
        # The requests with their lines, users and structures in three queries, whatever their number (no N+1).
        decided_requests = db.session.execute(
            select(SubscriptionRequest).where(SubscriptionRequest.id.in_(decided))
            .options(selectinload(SubscriptionRequest.lines), joinedload(SubscriptionRequest.user),
                     joinedload(SubscriptionRequest.structure))
            .execution_options(populate_existing=True)).unique().scalars().all()
        link = absolute_url("spaces.mine")  # once, not once per mail
        mails = [_after_decision(actor, request, accept, reason, comment, rights, now, link)
                 for request in decided_requests]
        queue_many(mails)  # rendered by the sender, as the core's bulk decisions
    return report


def _after_decision(actor, request: SubscriptionRequest, accept, reason, comment, rights, now, link) -> dict:
    granted = []
    for line in request.lines:
        if line.status != Status.PENDING:  # already ended (its service deleted): stays so
            continue
        right = rights.get(line.id, line.right) if accept else None
        line.status = Status.VALIDATED if right else Status.REFUSED
        line.right = right or line.right
        line.updated_at = now
        if right:
            granted.append(line)
    db.session.flush()
    user, structure = request.user, request.structure
    described = [_describe(line) for line in (granted if accept else request.lines)]
    if accept:
        events.emit("subscription.validated", actor=actor, request_id=request.id, user_id=user.id,
                    structure_id=structure.id, spaces=[line.space_code for line in granted])
    else:
        events.emit("subscription.refused", actor=actor, request_id=request.id, user_id=user.id,
                    structure_id=structure.id, reason=reason)
    listed = ", ".join(described)
    history.record(structure.id, actor, "subscription.validated" if accept else "subscription.refused",
                   comment=history.VALIDATED if accept else history.DEACTIVATED, subject_user=user,
                   summary=(f"Demande d'abonnement de {user.full_name} validée : {listed}" if accept else
                            f"Demande d'abonnement de {user.full_name} refusée ({listed}) : {reason}"),
                   detail={"subscription_request": request.id, "spaces": described, "comment": comment,
                           "reason": reason, "user_comment": request.comment})
    # What the template reads, as plain values (queue_many: JSON context).
    return {"to": user.contact_email, "template": "subscription_validated" if accept else "subscription_refused",
            "context": {"user": {"first_name": user.first_name, "last_name": user.last_name},
                        "structure": {"designation": structure.designation, "identifier": structure.identifier},
                        "spaces": described, "comment": comment, "reason": reason, "link": link}}


def _describe(line: Subscription) -> str:
    return _description(line.space_code, line.unit_label, line.right)


def _description(code: str, unit_label: str, right: str) -> str:
    return f"{SPACES[code].label if code in SPACES else code} " \
           f"({unit_label or ALL_UNITS_LABEL}, {RIGHTS.get(right, right).lower()})"


# ------------------------------------------------------------------ the structure's spaces (ESP-3, ESP-4, ABO-1)


def structure_spaces(structure_id: int) -> list[StructureSpace]:
    return db.session.execute(select(StructureSpace).where(StructureSpace.structure_id == structure_id)
                              .order_by(StructureSpace.space_code, StructureSpace.unit_id)).scalars().all()


def add_structure_spaces(actor: User, structure: Structure, units: list[str], rights: dict[str, str]) -> int:
    """"Ajouter des espaces" (ESP-3): open spaces on the structure for all its services or chosen ones.

    The structure's managers are subscribed at once (the space shows in their top bar, ESP-4); each other
    member concerned (of the whole structure, or working in a chosen service: `unit_memberships`) gets a
    subscription request (ABO-1), which the managers then validate or refuse. Returns how many requests were made.
    """
    if not can(actor, "structure.edit", structure):
        raise Denied(hidden=not can(actor, "structure.view", structure))
    units = list(dict.fromkeys(units)) or [ALL_UNITS]
    if ALL_UNITS in units and len(units) > 1:
        raise SubscriptionError({"units": "Cochez « Tous les services » ou des services, pas les deux."})
    rights = {code: right for code, right in rights.items() if right}
    if not rights:
        raise SubscriptionError({"": "Cochez Consultation ou Modification pour au moins un espace."})
    lines = [Line(code, right, unit) for unit in units for code, right in rights.items()]
    labels = {}
    made = 0
    with transaction():
        for line in lines:
            labels[line] = _check_line(structure, line)
        now = clock.now()
        for line in lines:
            existing = db.session.execute(select(StructureSpace).where(
                StructureSpace.structure_id == structure.id, StructureSpace.space_code == line.space_code,
                StructureSpace.unit_id == line.unit_id)).scalar_one_or_none()
            if existing is None:
                db.session.add(StructureSpace(structure_id=structure.id, space_code=line.space_code,
                                              unit_id=line.unit_id, unit_label=labels[line], right=line.right,
                                              created_at=now, created_by_id=actor.id))
            else:
                existing.right = line.right
        members = db.session.execute(select(Membership).where(Membership.structure_id == structure.id,
                                                              in_force())).scalars().all()
        held = _held(structure.id)
        in_unit = memberships_of_units(structure, [u for u in units if u != ALL_UNITS])
        for m in members:
            wanted = [(line, labels[line]) for line in lines if (
                line.unit_id == ALL_UNITS or m.role in MANAGER_ROLES or m.id in in_unit[line.unit_id]) and stronger(
                held.get((m.user_id, line.space_code, line.unit_id)),
                held.get((m.user_id, line.space_code, ALL_UNITS))) not in (MODIFICATION, line.right)]
            if not wanted:
                continue
            if m.role in MANAGER_ROLES:  # ESP-4: at once in the managers' top bar
                for line, label in wanted:
                    db.session.add(Subscription(user_id=m.user_id, structure_id=structure.id, membership_id=m.id,
                                                space_code=line.space_code, unit_id=line.unit_id, unit_label=label,
                                                right=line.right, status=Status.VALIDATED, origin=Origin.STRUCTURE,
                                                created_at=now, updated_at=now))
                continue
            request = _new_request(m.user_id, structure.id, m.id, Origin.STRUCTURE, "", wanted)
            events.emit("subscription.requested", actor=actor, request_id=request.id, user_id=m.user_id,
                        structure_id=structure.id, origin=str(Origin.STRUCTURE),
                        spaces=[line.space_code for line, _ in wanted])
            made += 1
        described = [f"{SPACES[line.space_code].label} ({labels[line] or ALL_UNITS_LABEL}, "
                     f"{RIGHTS[line.right].lower()})" for line in lines]
        events.emit("structure_spaces.added", actor=actor, structure_id=structure.id,
                    spaces=sorted(rights), units=units)
        history.record(structure.id, actor, "structure_spaces.added",
                       summary=f"Espaces ajoutés à la structure : {', '.join(described)} ; "
                               f"{made} demande{'s' if made > 1 else ''} d'abonnement créée{'s' if made > 1 else ''}",
                       detail={"spaces": described})
    return made


def _held(structure_id: int) -> dict[tuple[int, str, str], str]:
    """{(user id, space, unit): strongest right} validated or asked, on the structure."""
    out: dict = {}
    for uid, code, unit, right in db.session.execute(
            select(Subscription.user_id, Subscription.space_code, Subscription.unit_id, Subscription.right)
            .where(Subscription.structure_id == structure_id,
                   Subscription.status.in_([Status.VALIDATED, Status.PENDING]))).all():
        out[(uid, code, unit)] = stronger(out.get((uid, code, unit)), right)
    return out



# ------------------------------------------------------------------ a duplicated structure (SIR-2)


def copy_structure(structure_id: int, source_id: int, memberships: dict) -> None:
    """Copy the spaces of structure `source_id` and its subscriptions to structure `structure_id`, whose
    memberships are the copies of the old ones (`memberships`: {old membership id: new membership id}).
    Pending requests stay on the old structure, where its managers answer them; in force ones are copied."""
    now = clock.now()
    mapping = {int(k): int(v) for k, v in memberships.items()}
    for space in structure_spaces(source_id):
        db.session.add(StructureSpace(structure_id=structure_id, space_code=space.space_code, unit_id=space.unit_id,
                                      unit_label=space.unit_label, right=space.right, created_at=now,
                                      created_by_id=space.created_by_id))
    if not mapping:
        return
    rows = db.session.execute(select(Subscription).where(
        Subscription.structure_id == source_id, Subscription.status == Status.VALIDATED,
        Subscription.membership_id.in_(list(mapping)))).scalars().all()
    for s in rows:
        db.session.add(Subscription(user_id=s.user_id, structure_id=structure_id,
                                    membership_id=mapping[s.membership_id], space_code=s.space_code,
                                    unit_id=s.unit_id, unit_label=s.unit_label, right=s.right,
                                    status=Status.VALIDATED, origin=Origin.COPY, created_at=now, updated_at=now))
    db.session.flush()



def carry_units(structure_id: int, units: dict) -> None:
    """Rewrite the unit ids the copy of a structure kept from its source (SIR-2): {source unit id: copy id}."""
    for model in (StructureSpace, Subscription):
        for old, new in units.items():
            db.session.execute(update(model).where(model.structure_id == structure_id, model.unit_id == str(old))
                               .values(unit_id=str(new)).execution_options(synchronize_session=False))


def remove_unit(structure_id: int, unit_id: str) -> None:
    """A sub-unit deleted (a service): the spaces opened for it closed, its subscriptions in force or asked ended
    ("Désactivée"), and a request left with nothing asked refused, in the deletion's transaction."""
    now = clock.now()
    db.session.execute(delete(StructureSpace).where(StructureSpace.structure_id == structure_id,
                                                    StructureSpace.unit_id == unit_id))
    db.session.execute(update(Subscription).where(
        Subscription.structure_id == structure_id, Subscription.unit_id == unit_id,
        Subscription.status.in_([Status.PENDING, Status.VALIDATED]))
        .values(status=Status.REFUSED, updated_at=now).execution_options(synchronize_session=False))
    db.session.execute(update(SubscriptionRequest).where(
        SubscriptionRequest.structure_id == structure_id, SubscriptionRequest.status == Status.PENDING,
        ~select(Subscription.id).where(Subscription.request_id == SubscriptionRequest.id,
                                       Subscription.status == Status.PENDING).exists())
        .values(status=Status.REFUSED, decided_at=now, decision_reason="Le service demandé a été supprimé.")
        .execution_options(synchronize_session=False))


def spaces_by_membership(ids: list[int]) -> dict[int, str]:
    """{membership id: "Factures reçues (Consultation), ..."}: the subscriptions in force of these memberships.

    Called once per 5,000 rows of a user export of up to a million rows: one line per membership from the
    database (its subscriptions joined in one text, and their number), and each distinct text described once
    (most memberships have the same spaces)."""
    joined = func.aggregate_strings(Subscription.space_code + _FIELD + Subscription.unit_id + _FIELD
                                    + Subscription.unit_label + _FIELD + Subscription.right, _ITEM)
    described: dict[tuple, str] = {}
    out: dict[int, str] = {}
    for chunk in range(0, len(ids), 5000):
        for mid, count, items in db.session.connection().execute(  # Core rows: not the ORM's
                select(Subscription.membership_id, func.count(), joined)
                .where(in_ids(Subscription.membership_id, ids[chunk:chunk + 5000]),
                       Subscription.status == Status.VALIDATED)
                .group_by(Subscription.membership_id)).all():
            text = described.get((count, items))
            if text is None:
                lines = [item.split(_FIELD) for item in items.split(_ITEM)]
                if len(lines) == count and all(len(line) == 4 for line in lines):
                    text = described[count, items] = _descriptions(lines)
                else:  # a unit's label holding one of the separators: this membership's lines one by one
                    text = _descriptions(db.session.execute(
                        select(Subscription.space_code, Subscription.unit_id, Subscription.unit_label,
                               Subscription.right)
                        .where(Subscription.membership_id == mid, Subscription.status == Status.VALIDATED)).all())
            out[mid] = text
    return {i: out.get(i, "") for i in ids}


_FIELD, _ITEM = "\x1f", "\x1e"  # control characters (unit separator, record separator)


def _descriptions(lines) -> str:
    """(space code, unit id, unit label, right) lines described, in the order of the codes, then of the units."""
    return ", ".join(_description(code, label, right) for code, _, label, right in sorted(map(tuple, lines)))


def lines_of(request_ids: list[int]) -> dict[int, list[Subscription]]:
    out: dict[int, list[Subscription]] = {}
    if request_ids:
        for line in db.session.execute(select(Subscription).where(Subscription.request_id.in_(request_ids))
                                       .order_by(Subscription.id)).scalars():
            out.setdefault(line.request_id, []).append(line)
    return out


def describe(line: Subscription) -> str:
    return _describe(line)
