"""Documents of the structure record ("Pièces jointes", SPEC DOC-1..4): this plugin's hook implementations.

Managers (structure.edit) add and delete; users attached to the structure list and download (document.download);
platform administrators see the list, read-only, without the contents; anyone else gets 404.
"""
from pathlib import Path

from chorus.hookspecs import hookimpl

from . import models  # noqa: F401  (tables known to Alembic)

BASE_TYPES = [
    ("contrat", "Contrat"),
    ("procedure", "Procédure"),
    ("justificatif_facture", "Pièce justificative d'une facture"),
    ("mandat_facturation", "Mandat de facturation"),
    ("rib", "RIB / coordonnées bancaires"),
    ("autre", "Autre"),
]


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def register_migrations():
    return str(Path(__file__).parent / "migrations")


@hookimpl
def register_document_types():
    return BASE_TYPES


@hookimpl
def register_event_types():
    from chorus.events import EventType

    return [EventType("document.added", ("document_id", "structure_id"), "a manager added a document (DOC-2)"),
            EventType("document.deleted", ("document_id", "structure_id", "file_name"),
                      "a manager deleted a document (DOC-3)")]


@hookimpl
def register_history_actions():
    return {"document.added": "Ajout d'une pièce jointe", "document.deleted": "Suppression d'une pièce jointe"}


@hookimpl
def permission_vote(actor, action, obj):
    # The contents are for the structure's own users (SPEC DOC-1): an administrator, who sees every record
    # read-only, sees the list but not the files, unless attached to the structure.
    if action != "document.download":
        return None
    from chorus.memberships.queries import role_of
    from chorus.permissions import is_active_person
    from chorus.structures.models import Structure

    if isinstance(obj, Structure) and is_active_person(actor) and role_of(actor, obj.id) is not None:
        return True
    return None


@hookimpl
def template_slot(name, context):
    if name != "structure_sections":
        return None
    from .views import record_section

    return record_section(context["structure"])
