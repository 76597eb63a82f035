"""Structure rules (SPEC STR-1..10, TRF-1). Plain functions taking the actor; every save goes through here."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Boolean, Integer, and_, column, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import True_

from .. import clock, events
from ..accounts.models import AccountKind, AccountStatus, User
from ..accounts.services import find_by_login
from ..database import is_sqlite, transaction
from ..events import Refused
from ..extensions import db
from ..folding import fold
from ..history import services as history
from ..memberships.models import Membership, MembershipStatus, Role
from ..memberships.spaces import default_spaces
from ..pagination import Page, paginate
from ..permissions import Denied, allowed, can, require, require_on
from ..plugins import collect, hook
from ..validation import email_problem, text_problem
from . import countries, identifiers
from .blocks import RecordBlock, StructureWarning, jsonable
from .models import IdentifierType, MoaMode, PublicCategory, Structure, StructureKind, StructureStatus


class StructureError(Refused):
    """Refused; `errors` maps form fields (or "" for the whole form) to French messages."""


@dataclass
class Saved:
    """What a save changed, {field: (before, after)}, and the non-blocking warnings of the rules."""

    changes: dict[str, tuple] = field(default_factory=dict)
    warnings: list[StructureWarning] = field(default_factory=list)


# SPEC STR-7, until a module that keeps services enforces it through validate_structure and says so
# with `replaces_core_rules`: with no services at all, no supplier could give a service code.
STR_7_INTERIM = ("La structure n'a aucun service autre que FACTURES_PUBLIQUES : le code service ne peut pas "
                 "être exigé des fournisseurs.")


def replaced_rules() -> set[str]:
    return set(collect(hook().replaces_core_rules()))


# Fields a manager may change, by block of "Modification de la structure" (SPEC STR-3..9).
ADDRESS_FIELDS = ("address", "address_complement_1", "address_complement_2", "postal_code", "city",
                  "country_code", "phone", "fax", "email")
PARAMETER_FIELDS = ("payment_status_not_reported", "service_code_required", "engagement_required",
                    "engagement_or_service_required")
EDITABLE_FIELDS = frozenset(("designation", *ADDRESS_FIELDS, *PARAMETER_FIELDS, "moa", "billing_mandate",
                             "pacage_number", "social_regime", "vat_number", "connection_info"))

FIELD_LABELS = {
    "designation": "Raison sociale", "address": "Adresse", "address_complement_1": "Complément d'adresse 1",
    "address_complement_2": "Complément d'adresse 2", "postal_code": "Code postal", "city": "Ville",
    "country_code": "Pays", "phone": "Téléphone", "fax": "Télécopie", "email": "Courriel",
    "payment_status_not_reported": "Le statut « Mise en paiement » n'est pas remonté au fournisseur",
    "service_code_required": "Le code service doit être renseigné par le fournisseur",
    "engagement_required": "Le numéro d'engagement doit être renseigné par le fournisseur",
    "engagement_or_service_required": "Le numéro d'engagement ou le code service est obligatoire",
    "moa": "Marchés de travaux (MOA)", "billing_mandate": "Mandat de facturation", "pacage_number": "Numéro PACAGE",
    "social_regime": "Régime social", "vat_number": "Numéro de TVA intracommunautaire",
    "connection_info": "Informations de raccordement",
}


@dataclass
class StructureData:
    identifier_type: str
    identifier: str
    designation: str
    address: str
    fields: dict[str, Any] = field(default_factory=dict)  # any other EDITABLE_FIELDS


def _field_problem(name: str, value) -> str | None:
    column = Structure.__table__.c[name]
    if isinstance(column.type, Boolean):
        return None if isinstance(value, bool) else "Valeur non valable."
    if name == "email" and value:
        return email_problem(value)
    if name == "country_code" and not countries.is_country(value or ""):
        return "Choisissez le pays dans la liste."
    if name == "moa":
        return None if value in {m.value for m in MoaMode} else "Valeur non valable."
    return text_problem(value, column.type.length or 2000, multiline=name == "connection_info")


def _check_rules(structure: Structure, changes: dict, *, columns: bool = True) -> list[StructureWarning]:
    """Refuse (StructureError) or return the warnings of the rules, the core's and the plugins'.

    `columns`: the changes are the structure's own columns (False: a plugin block's fields).
    """
    errors: dict[str, str] = {}
    for name, value in changes.items() if columns else ():
        problem = _field_problem(name, value)
        if problem:
            errors[name] = problem
    if errors:
        raise StructureError(errors)
    if changes.get("moa", structure.moa) != MoaMode.NONE and not structure.is_public:
        errors["moa"] = "Seules les structures publiques peuvent être maîtres d'ouvrage (MOA)."
    for name in ("designation", "address"):
        if name in changes and not str(changes[name]).strip():
            errors[name] = f"Le champ « {FIELD_LABELS[name]} » est obligatoire."
    if changes.get("service_code_required") is True and "STR-7" not in replaced_rules():
        errors["service_code_required"] = STR_7_INTERIM
    warnings = []
    for result in hook().validate_structure(structure=structure, changes=changes):
        for item in result or []:
            if isinstance(item, StructureWarning):
                warnings.append(item)
            else:
                field_name, message = item
                errors.setdefault(field_name, message)
    if errors:
        raise StructureError(errors)
    return warnings


def _new_structure(data: StructureData, kind: StructureKind, category: PublicCategory | None) -> Structure:
    id_type = data.identifier_type
    if id_type not in {t.value for t in IdentifierType}:
        raise StructureError({"identifier_type": "Choisissez un type d'identifiant."})
    identifier = identifiers.normalize(id_type, data.identifier)
    problem = identifiers.problem(id_type, identifier)
    if problem:
        raise StructureError({"identifier": problem})
    if kind == StructureKind.PUBLIC and id_type != IdentifierType.SIRET:
        raise StructureError({"identifier_type": "Une structure publique s'identifie par son SIRET."})
    if _exists(id_type, identifier):
        raise StructureError({"identifier": "Une structure existe déjà avec cet identifiant."})
    now = clock.now()
    structure = Structure(
        kind=kind, category=category, identifier_type=id_type, identifier=identifier,
        designation=data.designation.strip(), status=StructureStatus.ACTIVE, address=data.address.strip(),
        edi_receive_lifecycle=False, edi_emitter=False, edi_connection_active=False,
        edi_can_receive=kind == StructureKind.PUBLIC,  # SPEC STR-5: set on public structures
        moa=MoaMode.NONE, created_at=now, updated_at=now,
    )
    # Column defaults only apply at flush: fill them now, so that validation rules see a whole record.
    for name in EDITABLE_FIELDS:
        if getattr(structure, name, None) is None:
            setattr(structure, name, Structure.__table__.c[name].default.arg
                    if Structure.__table__.c[name].default is not None else "")
    extra = {k: v for k, v in data.fields.items() if k in EDITABLE_FIELDS}
    for name, value in extra.items():
        setattr(structure, name, value)
    _check_rules(structure, {"designation": structure.designation, "address": structure.address, **extra})
    return structure


def _exists(id_type: str, identifier: str) -> bool:
    return db.session.execute(
        select(Structure.id).where(Structure.identifier_type == id_type, Structure.identifier == identifier)
    ).first() is not None


def _create(actor: User, data: StructureData, kind: StructureKind, category, manager: User) -> Structure:
    """The structure, its primary manager's membership (with the spaces of ESP-2) and the history."""
    structure = _new_structure(data, kind, category)
    db.session.add(structure)
    _flush_unique(structure)
    now = clock.now()
    membership = Membership(user_id=manager.id, structure_id=structure.id, role=Role.PRIMARY,
                            status=MembershipStatus.VALIDATED, comment="", decision_reason="",
                            start_date=clock.today(), created_at=now, decided_at=now, decided_by_id=actor.id)
    db.session.add(membership)
    db.session.flush()
    kind_text = "publique " if structure.is_public else ""
    history.record(structure.id, actor, "structure.created", subject_user=manager,
                   summary=f"Création de la structure {kind_text}{structure.designation} ; "
                           f"{manager.full_name} en est gestionnaire principal.")
    # Plugins take part here, in this transaction (e.g. the services module adds FACTURES_PUBLIQUES).
    events.emit("structure.created", actor=actor, structure_id=structure.id)
    events.emit("membership.created_with_structure", actor=actor, membership_id=membership.id, user_id=manager.id,
                structure_id=structure.id, role=str(Role.PRIMARY), spaces=default_spaces(structure, Role.PRIMARY))
    return structure


def create_private(actor: User, data: StructureData) -> Structure:
    """"Créer une fiche structure": a private structure whose creator becomes primary manager (STR-2)."""
    if not can(actor, "structure.create_private"):
        raise StructureError("Vous ne pouvez pas créer de structure.")
    with transaction():
        return _create(actor, data, StructureKind.PRIVATE, None, actor)


def create_public(actor: User, data: StructureData, category: str, primary_manager_email: str) -> Structure:
    """A platform administrator creates a public structure and names its primary manager (STR-2, SOL-1)."""
    if not can(actor, "structure.create_public"):
        raise StructureError("Seul un administrateur de la plateforme crée les structures publiques.")
    if category not in {c.value for c in PublicCategory}:
        raise StructureError({"category": "Choisissez la catégorie de la structure publique."})
    with transaction():
        manager = find_by_login(primary_manager_email)
        if manager is None or manager.kind != AccountKind.PERSON or manager.status == AccountStatus.DEACTIVATED:
            raise StructureError({"primary_manager": "Aucun compte utilisateur actif ou en cours d'activation "
                                                     "n'a cette adresse de connexion."})
        return _create(actor, data, StructureKind.PUBLIC, PublicCategory(category), manager)


def _flush_unique(structure: Structure) -> None:
    """Flush, turning a concurrent duplicate identifier into a French refusal."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise StructureError({"identifier": "Une structure existe déjà avec cet identifiant."})


def update(actor: User, structure: Structure, changes: dict[str, Any], *, block: str = "",
           extra: dict | None = None) -> Saved:
    """"Modification de la structure": only managers (STR-4); EDI flags never (STR-5).

    Every changed field is recorded in the history with its value before and after (STR-10).
    `block` names the edit block saved, `extra` the values of the fields plugins added to its form.
    """
    require_on(actor, "structure.edit", structure, visible_with="structure.view")
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:  # mass assignment: a caller tried a field no manager may set
        raise StructureError({"": "Certains champs ne peuvent pas être modifiés."})
    cleaned = {k: v.strip() if isinstance(v, str) else v for k, v in changes.items()}
    with transaction():
        warnings = _check_rules(structure, cleaned)
        applied = {}
        for name, value in cleaned.items():
            before = getattr(structure, name)
            if before != value:
                applied[name] = (before, value)
                setattr(structure, name, value)
        _record_update(actor, structure, applied, FIELD_LABELS, block, extra)
    return Saved(applied, warnings)


def record_blocks(structure: Structure) -> list[RecordBlock]:
    """The blocks of the record, the core's and the plugins', in page order."""
    return sorted(collect(hook().record_blocks(structure=structure)), key=lambda b: b.order)


def save_block(actor: User, structure: Structure, slug: str, values: dict[str, Any],
               extra: dict | None = None) -> Saved:
    """Save one block of « Modification de la structure », the core's or a plugin's (STR-4, STR-10)."""
    block = next((b for b in record_blocks(structure) if b.slug == slug), None)
    if block is None:
        raise Denied(hidden=True)
    if block.save is None:
        return update(actor, structure, values, block=slug, extra=extra)
    require_on(actor, "structure.edit", structure, visible_with="structure.view")
    with transaction():
        before = block.values(structure)
        changed = {k: v for k, v in values.items() if before.get(k) != v}
        warnings = _check_rules(structure, changed, columns=False)
        applied = {k: (before.get(k), v) for k, v in changed.items()}
        if applied:
            block.save(structure, values)
        _record_update(actor, structure, applied, block.labels, slug, extra)
    return Saved(applied, warnings)


def _record_update(actor, structure, applied: dict, labels: dict, block: str, extra: dict | None) -> None:
    """The history entry of a save (STR-10), and its event, also for plugins' fields alone (`extra`)."""
    if not applied and not extra:
        return
    if applied:
        structure.updated_at = clock.now()
        history.record(
        structure.id, actor, "structure.updated",
            summary="Modification de la structure : " + ", ".join(
                labels.get(n, n)[0].lower() + labels.get(n, n)[1:] for n in applied),
            detail={"changes": [{"field": n, "label": labels.get(n, n), "before": jsonable(b),
                                 "after": jsonable(a)} for n, (b, a) in applied.items()]},
        )
    events.emit("structure.updated", actor=actor, structure_id=structure.id, block=block,
                changes={n: (jsonable(b), jsonable(a)) for n, (b, a) in applied.items()}, extra=extra or {})


def space_of(actor: User, structure: Structure) -> str:
    """The space a structure's pages belong to for `actor`: the managers' for its managers, else Mon compte."""
    return "ACTIVITES_GESTIONNAIRE" if can(actor, "structure.edit", structure) else "MON_COMPTE"


def get_for(actor: User, structure_id: int, action: str = "structure.view") -> Structure:
    """The structure if `actor` may `action` it; 404 when they may not even see it (MGR-2)."""
    structure = db.session.get(Structure, structure_id)
    if structure is None or not can(actor, "structure.view", structure):
        raise Denied(hidden=True)
    require(actor, action, structure)
    return structure


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _matching(q: str, wide: bool):
    """The WHERE clause of a search for `q`, cheapest first.

    A SIRET-shaped input (14 digits) is an exact identifier; a SIREN (9 digits) the SIRETs of its
    establishments, by index range. Anything else matches the folded designation ("contains":
    trigram indexes on both databases) or a part of the identifier (a whole one when `q` holds no digit).
    """
    compact = unicodedata.normalize("NFKC", q).upper().replace(" ", "")  # full-width digits too (P6-6)
    if re.fullmatch(r"[0-9]{14}", compact):
        return Structure.identifier == compact
    if re.fullmatch(r"[0-9]{9}", compact):
        return and_(Structure.identifier >= compact, Structure.identifier < compact + ":")  # ":" follows "9"
    if not re.search(r"[0-9]", compact):
        # Letters only: the designation, or a whole identifier of a type that may hold letters only,
        # through the unique index; a "contains" over every identifier would read them all.
        lettered = (IdentifierType.HORS_UE.value, IdentifierType.PARTICULIER.value, IdentifierType.AUTRE.value)
        return or_(_designation_contains(fold(q), wide),
                   and_(Structure.identifier_type.in_(lettered), Structure.identifier == compact))
    return or_(_designation_contains(fold(q), wide),
               Structure.identifier.like(f"%{_escape_like(compact)}%", escape="\\"))


def _designation_contains(folded: str, wide: bool):
    """The folded designation contains `folded`. PostgreSQL's planner picks the pg_trgm index of the
    LIKE when it pays. SQLite's cannot weigh its FTS5 trigram table (revision 0005), so it is used
    for `wide` searches, over every structure, from three characters on; within a manager's
    structures, reading those few rows costs less than listing every structure matching "mairie"."""
    if wide and len(folded) >= 3 and is_sqlite():
        phrase = '"' + folded.replace('"', '""') + '"'  # an FTS5 string: every character taken literally
        return Structure.id.in_(text("SELECT rowid FROM structure_search WHERE structure_search MATCH :phrase")
                                .bindparams(phrase=phrase).columns(column("rowid", Integer)))
    return Structure.designation_folded.like(f"%{_escape_like(folded)}%", escape="\\")


def search(actor: User, action: str, q: str = "", *, page: int = 1, per_page: int = 20) -> Page:
    """Structures `actor` may `action`, matching `q` in the identifier or the designation.

    The permission rules filter in SQL (no list is post-filtered); returns one page and the total.
    """
    scope = allowed(actor, action, Structure)
    stmt = select(Structure).where(scope)
    q = (q or "").strip()[:200]
    if q:
        stmt = stmt.where(_matching(q, wide=isinstance(scope, True_)))
    return paginate(stmt.order_by(Structure.designation_folded, Structure.id), page=page, per_page=per_page)
