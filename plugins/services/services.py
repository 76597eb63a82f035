"""Service rules (SPEC SRV-1..8, STR-7). Plain functions taking the actor; every entry point goes through here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from chorus import clock, events
from chorus.database import insert_returning_ids, transaction
from chorus.events import Refused
from chorus.extensions import db
from chorus.history import services as history
from chorus.pagination import paginate
from chorus.permissions import require_on
from chorus.structures.blocks import StructureWarning
from chorus.validation import text_problem

from .models import (
    DEFAULT_CODE,
    DEFAULT_LABEL,
    MAX_CODE,
    MAX_LABEL,
    MembershipService,
    Service,
    ServiceStatus,
    code_key,
)

LOCKED = f"Le service {DEFAULT_CODE} est créé avec la structure : il ne peut être ni modifié ni supprimé."
MAX_BATCH = 1000


class ServiceError(Refused):
    """Refused by a service rule; `errors` maps form fields ("" for the form) to French messages."""


@dataclass
class ServiceData:
    code: str
    label: str
    start_date: date | None
    end_date: date | None = None
    description: str = ""
    engagement_required: bool = False


def today() -> date:
    """The day in the application's clock: a service's status follows it, no job at midnight (SRV-4)."""
    return clock.today()


def active_clause(day: date | None = None):
    """SQL form of `Service.is_active_on` (SPEC SRV-4)."""
    day = day or today()
    return and_(Service.start_date <= day, or_(Service.end_date.is_(None), Service.end_date >= day))


# ------------------------------------------------------------------ reading


def of_structure(structure_id: int):
    """SELECT of a structure's services, FACTURES_PUBLIQUES first, then by code."""
    return select(Service).where(Service.structure_id == structure_id).order_by(
        Service.is_default.desc(), func.lower(Service.code), Service.id)


def page_of_services(structure_id: int, page: int, per_page: int) -> tuple[list[Service], int]:
    found = paginate(of_structure(structure_id), page=page, per_page=per_page)  # count(*) on the table, no subquery
    return found.items, found.total


def get(structure_id: int, service_id: int) -> Service | None:
    """A service of that structure, or None (an id of another structure's service names nothing here)."""
    service = db.session.get(Service, service_id)
    return service if service is not None and service.structure_id == structure_id else None


def has_own_services(structure_id: int, *, active_only: bool = False) -> bool:
    """Whether the structure has a service other than FACTURES_PUBLIQUES (SPEC STR-7)."""
    stmt = select(Service.id).where(Service.structure_id == structure_id, Service.is_default.is_(False))
    if active_only:
        stmt = stmt.where(active_clause())
    return db.session.execute(stmt.limit(1)).first() is not None


def active_services(structure_id: int) -> list[Service]:
    return db.session.execute(of_structure(structure_id).where(active_clause())).scalars().all()


# ------------------------------------------------------------------ FACTURES_PUBLIQUES (SRV-3)


def add_default(structure_id: int) -> Service:
    """FACTURES_PUBLIQUES, in the caller's transaction (the structure's creation)."""
    now = clock.now()
    service = Service(structure_id=structure_id, code=DEFAULT_CODE, code_key=code_key(DEFAULT_CODE),
                      label=DEFAULT_LABEL, description="Réception des factures des autres structures publiques.",
                      start_date=clock.today(), end_date=None, engagement_required=False, is_default=True,
                      created_at=now, updated_at=now)
    db.session.add(service)
    return service


# ------------------------------------------------------------------ writing (SRV-1, SRV-2, SRV-5)


def copy_services(source_id: int, structure_id: int) -> dict[int, int]:
    """SPEC SIR-2: the services of `source_id`, FACTURES_PUBLIQUES included, copied to its successor with their
    codes and dates (in the change of identifier's transaction); returns {old service id: new id}."""
    rows = db.session.execute(select(Service.__table__).where(Service.structure_id == source_id)
                              .order_by(Service.id)).mappings().all()
    new_ids = insert_returning_ids(Service.__table__, [{**{k: v for k, v in row.items() if k != "id"},
                                                        "structure_id": structure_id} for row in rows])
    return {row["id"]: new_id for row, new_id in zip(rows, new_ids, strict=True)}


def _checked(data: ServiceData) -> dict:
    errors = {}
    code = (data.code or "").strip()
    label = (data.label or "").strip()
    if not code:
        errors["code"] = "Le code du service est obligatoire."
    else:
        problem = text_problem(code, MAX_CODE)
        if problem:
            errors["code"] = problem
    if not label:
        errors["label"] = "Le libellé du service est obligatoire."
    else:
        problem = text_problem(label, MAX_LABEL)
        if problem:
            errors["label"] = problem
    problem = text_problem(data.description or "", 2000, multiline=True)
    if problem:
        errors["description"] = problem
    if data.start_date is None:
        errors["start_date"] = "La date de début de validité est obligatoire."
    elif data.end_date is not None and data.end_date < data.start_date:
        errors["end_date"] = "La date de fin de validité ne peut pas précéder la date de début."
    if errors:
        raise ServiceError(errors)
    return {"code": code, "code_key": code_key(code), "label": label, "description": (data.description or "").strip(),
            "start_date": data.start_date, "end_date": data.end_date,
            "engagement_required": bool(data.engagement_required)}


def _flush_unique() -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # SPEC SRV-2: the unique index (structure_id, code_key) is the rule's one place
        raise ServiceError({"code": "Un service de cette structure a déjà ce code."})


def _require_manager(actor, structure) -> None:
    require_on(actor, "structure.edit", structure, visible_with="structure.view")  # managers only (STR-4)


def _summary(service: Service) -> dict:
    return {"code": service.code, "label": service.label}


def create(actor, structure, data: ServiceData) -> Service:
    """"Ajouter des services": a new service of `structure` (SPEC SRV-1, SRV-2, SRV-5)."""
    _require_manager(actor, structure)
    values = _checked(data)
    with transaction():
        now = clock.now()
        service = Service(structure_id=structure.id, is_default=False, created_at=now, updated_at=now, **values)
        db.session.add(service)
        _flush_unique()
        history.record(structure.id, actor, "service.created",
                       summary=f"Création du service {service.code} ({service.label})",
                       detail={"service": _summary(service)})
        events.emit("service.created", actor=actor, service_id=service.id, structure_id=structure.id)
    return service


FIELD_LABELS = {"code": "Code", "label": "Libellé", "description": "Description",
                "start_date": "Date de début de validité", "end_date": "Date de fin de validité",
                "engagement_required": "Le numéro d'engagement est obligatoire"}


def update(actor, structure, service: Service, data: ServiceData) -> dict:
    """Modify a service; FACTURES_PUBLIQUES never (SPEC SRV-3). Returns {field: (before, after)}."""
    _require_manager(actor, structure)
    if service.structure_id != structure.id:
        raise ServiceError("Ce service n'appartient pas à cette structure.")
    if service.is_default:
        raise ServiceError(LOCKED)
    values = _checked(data)
    with transaction():
        changes = {}
        for name, value in values.items():
            before = getattr(service, name)
            if before != value:
                if name != "code_key":
                    changes[name] = (before, value)
                setattr(service, name, value)
        if changes:
            service.updated_at = clock.now()
            _flush_unique()
            history.record(structure.id, actor, "service.updated",
                           summary=f"Modification du service {service.code} : "
                                   + ", ".join(FIELD_LABELS[n].lower() for n in changes),
                           detail={"service": _summary(service), "changes": [
                               {"field": n, "label": FIELD_LABELS[n], "before": _plain(b), "after": _plain(a)}
                               for n, (b, a) in changes.items()]})
            events.emit("service.updated", actor=actor, service_id=service.id, structure_id=structure.id)
    return changes


def _plain(value):
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return "" if value is None else value


def deletable(structure_id: int, ids: list[int]) -> list[Service]:
    """The services among `ids` that are the structure's and may be deleted (not FACTURES_PUBLIQUES)."""
    ids = sorted({int(i) for i in ids})[:MAX_BATCH]
    if not ids:
        return []
    return db.session.execute(of_structure(structure_id).where(Service.id.in_(ids))).scalars().all()


def delete_many(actor, structure, ids: list[int]) -> int:
    """Delete the checked services (SPEC SRV-5); FACTURES_PUBLIQUES never (SRV-3). Returns how many."""
    _require_manager(actor, structure)
    with transaction():
        services = deletable(structure.id, ids)
        if any(s.is_default for s in services):
            raise ServiceError(LOCKED)
        if structure.service_code_required and services and not db.session.execute(
                select(Service.id).where(Service.structure_id == structure.id, Service.is_default.is_(False),
                                         Service.id.not_in([s.id for s in services])).limit(1)).first():
            raise ServiceError(STR_7_LAST)  # SPEC STR-7 holds after the record's save too
        _refuse_widening(services)
        for service in services:
            db.session.execute(delete(MembershipService).where(MembershipService.service_id == service.id))
            history.record(structure.id, actor, "service.deleted",
                           summary=f"Suppression du service {service.code} ({service.label})",
                           detail={"service": _summary(service)})
            events.emit("service.deleted", actor=actor, service_id=service.id, structure_id=structure.id)
            # Other modules' rows naming this unit (a space opened for it, its subscriptions) go with it: a later
            # service could be given the same id (SQLite reuses the highest rowid) and inherit them.
            events.emit("structure.unit_removed", actor=actor, structure_id=structure.id, unit_id=str(service.id))
            db.session.delete(service)
    return len(services)


def _refuse_widening(services: list[Service]) -> None:
    """A member validated for these services only would be left with none, which reads as the whole structure
    (RAT-3): their access would widen unseen. The manager attaches them elsewhere (or removes them) first."""
    ids = [s.id for s in services]
    validated = str(ServiceStatus.VALIDATED)
    other = aliased(MembershipService)
    stranded = db.session.execute(
        select(func.count(func.distinct(MembershipService.membership_id))).where(
            MembershipService.service_id.in_(ids), MembershipService.status == validated,
            ~select(other.id).where(other.membership_id == MembershipService.membership_id,
                                    other.status == validated, other.service_id.not_in(ids)).exists())
    ).scalar_one()
    if stranded:
        codes = ", ".join(s.code for s in services)
        raise ServiceError(f"{stranded} utilisateur{'s' if stranded > 1 else ''} ne travaille"
                           f"{'nt' if stranded > 1 else ''} que dans {codes} : rattachez-les à un autre service "
                           "ou supprimez leur rattachement avant de supprimer ce service (sans service, un "
                           "rattachement vaut pour toute la structure).")


# ------------------------------------------------------------------ STR-7


STR_7_REFUSED = ("Le code service ne peut être exigé des fournisseurs que si la structure a un service autre que "
                 f"{DEFAULT_CODE} : ajoutez d'abord un service.")
STR_7_LAST = ("La structure exige le code service de ses fournisseurs : gardez au moins un service autre que "
              f"{DEFAULT_CODE}, ou décochez d'abord ce paramètre dans la fiche structure.")
STR_7_WARNING = (f"Aucun service autre que {DEFAULT_CODE} n'est actif aujourd'hui : aucun fournisseur ne peut "
                 "fournir de code service valable.")


def structure_rules(structure, changes: dict) -> list:
    """SPEC STR-7: "code service obligatoire" needs a service other than FACTURES_PUBLIQUES; warn if none is active."""
    if changes.get("service_code_required") is not True or structure.id is None:
        return []
    if not has_own_services(structure.id):
        return [("service_code_required", STR_7_REFUSED)]
    if not has_own_services(structure.id, active_only=True):
        return [StructureWarning("service_code_required", STR_7_WARNING)]
    return []


# ------------------------------------------------------------------ suppliers (SRV-7, SRV-8, STR-6)


def check_service_code(structure, code: str | None, engagement_number: str | None) -> list[str]:
    """What is wrong with the (structure, service code, engagement number) a supplier gives, in French;
    an empty list when the triple is acceptable. Every entry point (web, API, invoices) asks this.

    SPEC SRV-7: a code given must exist and be active on the structure, whether or not it is required;
    SPEC STR-6 (b, c, d): the structure's own requirements; SRV-1: the service's "engagement obligatoire".
    """
    code = (code or "").strip()
    engagement = (engagement_number or "").strip()
    problems = []
    if not structure.is_active:
        return [f"La structure {structure.designation} est inactive : elle ne reçoit plus de factures."]
    service = None
    if code:
        service = db.session.execute(
            select(Service).where(Service.structure_id == structure.id, Service.code_key == code_key(code))
        ).scalar_one_or_none()
        if service is None:
            problems.append(f"Le code service « {code} » n'existe pas sur la structure {structure.designation}.")
        elif not service.is_active_on(today()):
            problems.append(f"Le service « {service.code} » n'est pas actif aujourd'hui sur la structure "
                            f"{structure.designation}.")
    if structure.service_code_required and not code:
        problems.append("Le code service doit être renseigné : cette structure l'exige de ses fournisseurs.")
    if structure.engagement_required and not engagement:
        problems.append("Le numéro d'engagement doit être renseigné : cette structure l'exige de ses fournisseurs.")
    if structure.engagement_or_service_required and not code and not engagement:
        problems.append("Le numéro d'engagement ou le code service est obligatoire pour cette structure.")
    if service is not None and service.engagement_required and not engagement and not structure.engagement_required:
        problems.append(f"Le numéro d'engagement est obligatoire pour le service « {service.code} ».")
    return problems
