"""Structures ("fiches structure", SPEC STR) and who may do what on them (MGR-2)."""
from ..hookspecs import hookimpl
from ..permissions import is_active_person
from . import models  # noqa: F401  (tables known to Alembic)

# Actions on one structure that only its primary and secondary managers may do.
MANAGER_ACTIONS = frozenset({"structure.edit", "structure.history", "structure.members"})
# Refused on an inactive structure, whoever asks (SIR-3): every module's "manage" buttons and routes ask
# structure.edit, so they disappear with it; the events flagged `requires_active_structure` are the last guard.
INACTIVE_REFUSED = frozenset({"structure.edit"})


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def permission_vote(actor, action, obj):
    from ..memberships.models import MANAGER_ROLES
    from ..memberships.queries import role_of
    from .models import Structure

    if not is_active_person(actor):
        return None
    if action == "structure.create_private":
        return True
    if action == "structure.create_public":
        return True if actor.is_admin else None
    if isinstance(obj, Structure):
        if action in INACTIVE_REFUSED and not obj.is_active:
            return False  # SPEC SIR-3: an inactive structure stays readable, nothing on it changes
        if action == "structure.view":
            # Its users see the record; platform administrators see every record, read-only.
            return True if actor.is_admin or role_of(actor, obj.id) is not None else None
        if action in MANAGER_ACTIONS:
            return True if role_of(actor, obj.id) in MANAGER_ROLES else None  # SPEC STR-4, MGR-2
    return None


@hookimpl
def permission_filter(actor, action, model):
    from sqlalchemy import true

    from ..memberships.queries import managed_structure_ids, structure_ids
    from ..permissions import QueryRule
    from .models import Structure, StructureStatus

    if model is not Structure or not is_active_person(actor):
        return None
    if action == "structure.view":
        return QueryRule(allow=true() if actor.is_admin else Structure.id.in_(structure_ids(actor)))
    if action in MANAGER_ACTIONS:
        return QueryRule(allow=Structure.id.in_(managed_structure_ids(actor)),
                         deny=Structure.status != StructureStatus.ACTIVE if action in INACTIVE_REFUSED else None)
    return None


@hookimpl
def record_blocks(structure):
    """The core's blocks: the structure's own columns, saved by `services.update` (STR-3..9)."""
    from .blocks import RecordBlock
    from .forms import EDIT_BLOCKS

    def columns_of(form_class):
        names = [n for n in dir(form_class) if hasattr(getattr(form_class, n, None), "field_class")]
        return lambda s: {n: getattr(s, n) for n in names}

    return [RecordBlock(slug, title, form_class, columns_of(form_class), order=i * 10)
            for i, (slug, title, form_class) in enumerate(EDIT_BLOCKS)
            if slug != "moa" or structure.is_public]  # SPEC STR-8: only public structures may be MOA


@hookimpl
def register_history_actions():
    return {"structure.created": "Création de la structure", "structure.updated": "Modification de la structure",
            "structure.duplicated": "Création par changement d'identifiant",
            "structure.identifier_changed": "Changement d'identifiant (structure désactivée)"}



@hookimpl
def populate_demo(demo):
    from .demo import populate

    populate(demo)
