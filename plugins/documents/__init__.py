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

    # SPEC SIR-3: an inactive structure's documents stay as they are (chorus.events refuses these there).
    return [EventType("document.added", ("document_id", "structure_id"), "a manager added a document (DOC-2)",
                      requires_active_structure=True),
            EventType("document.deleted", ("document_id", "structure_id", "file_name"),
                      "a manager deleted a document (DOC-3)", requires_active_structure=True)]


@hookimpl
def domain_change(event):
    if event.name == "structure.duplicated":  # SPEC SIR-2: the successor gets the documents, contents included
        from .services import copy_documents

        copy_documents(event.payload["source_id"], event.payload["structure_id"])


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


@hookimpl
def populate_demo(demo):
    """Two documents on the demo commune's record, added by its primary manager (once)."""
    import io

    from sqlalchemy import select

    from chorus.extensions import db

    from . import services
    from .models import Document

    commune, manager = demo.get("structure:commune"), demo.get("gestionnaire")
    if commune is None or manager is None:
        return
    if db.session.execute(select(Document.id).where(Document.structure_id == commune.id)).first():
        return
    samples = [
        ("procedure-achats.txt", "Procédure d'achat de la commune", "procedure",
         "Procédure d'achat\n1. Demande de devis\n2. Bon de commande signé\n3. Service fait\n"),
        ("fournisseurs.csv", "Liste des fournisseurs référencés", "autre",
         "raison sociale;siret\nAtelier Dupont;\nBoulangerie Martin;\n"),
    ]
    for name, designation, type_code, text in samples:
        services.add(manager, commune, io.BytesIO(text.encode()), name, designation, type_code)
    demo["created"] = True
