"""The documents module's part in a change of identifier (SPEC SIR-2, SIR-3): documents and their contents copied to
the successor through `structure.duplicated`; the old structure's stay downloadable and unchanged."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from chorus import events
from chorus.database import transaction
from chorus.events import Refused
from chorus.extensions import db
from chorus.permissions import Denied
from chorus.structures import duplication
from chorus.structures.models import Structure
from helpers import PASSWORD, attach, fresh, make_structure, new_siret
from plugins.documents import services
from plugins.documents.models import CHUNK_SIZE, Document, DocumentChunk


@pytest.fixture
def world(app, accounts):
    manager = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
    member = accounts.create("lea@commune.example", first_name="Léa", last_name="Roux")
    structure = make_structure(manager, "Atelier Lemoine")
    attach(structure, member, "member")
    big = b"".join(f"ligne {i};{'x' * 40}\n".encode() for i in range(2 * CHUNK_SIZE // 40))  # three chunks
    small = services.add(manager, structure, io.BytesIO(b"Procedure d'achat\n"), "achats.txt", "Procédure",
                         "procedure")
    large = services.add(manager, structure, io.BytesIO(big), "fournisseurs.csv", "Fournisseurs", "autre")
    return type("World", (), dict(manager=manager, member=member, structure=structure, small=small, large=large,
                                  big=big))


def _documents(structure_id):
    fresh()
    return db.session.execute(select(Document).where(Document.structure_id == structure_id)
                              .order_by(Document.id)).scalars().all()


def test_documents_and_their_contents_are_copied(world):
    new = duplication.duplicate(world.manager, world.structure, new_siret())
    old_docs, new_docs = _documents(world.structure.id), _documents(new.id)
    assert len(new_docs) == 2
    for a, b in zip(old_docs, new_docs, strict=True):
        for column in Document.__table__.columns:
            if column.key not in ("id", "structure_id"):
                assert getattr(a, column.key) == getattr(b, column.key), column.key
        assert b"".join(services.chunks(b.id)) == b"".join(services.chunks(a.id))
    assert b"".join(services.chunks(new_docs[1].id)) == world.big
    chunks = db.session.execute(select(func.count()).select_from(DocumentChunk).where(
        DocumentChunk.document_id == new_docs[1].id)).scalar_one()
    assert chunks == 3


def test_the_successors_users_download_the_copies_and_the_old_ones_stay(world, app):
    new = duplication.duplicate(world.manager, world.structure, new_siret())
    copy = _documents(new.id)[0]
    client = app.test_client()
    assert client.post("/connexion", data={"email": "lea@commune.example", "password": PASSWORD}).status_code == 303
    response = client.get(f"/structures/{new.id}/pieces-jointes/{copy.id}")
    assert response.status_code == 200 and response.data == b"Procedure d'achat\n"
    old = client.get(f"/structures/{world.structure.id}/pieces-jointes/{world.small.id}")
    assert old.status_code == 200 and old.data == b"Procedure d'achat\n"  # SIR-3: still readable
    # Another structure's id in the successor's URL: 404.
    assert client.get(f"/structures/{new.id}/pieces-jointes/{world.small.id}").status_code == 404


def test_no_document_is_added_or_deleted_on_the_old_structure(world):
    duplication.duplicate(world.manager, world.structure, new_siret())
    fresh()
    old = db.session.get(Structure, world.structure.id)
    with pytest.raises(Denied):
        services.add(world.manager, old, io.BytesIO(b"texte\n"), "note.txt", "Note", "autre")
    with pytest.raises(Denied):
        services.delete_documents(world.manager, old, [world.small.id])
    for name, payload in (("document.added", {}), ("document.deleted", {"file_name": "achats.txt"})):
        with pytest.raises(Refused, match="inactive"):
            with transaction():
                events.emit(name, document_id=world.small.id, structure_id=old.id, **payload)
    assert len(_documents(old.id)) == 2
