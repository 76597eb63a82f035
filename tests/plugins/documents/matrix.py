"""The documents plugin's rows of the permission matrix (tests/test_permission_matrix.py loads this file while the
plugin is switched on). A: the actors' structure; B: another one; each holds one document."""
from __future__ import annotations

import io

# Stand-in values for the routing check (test_every_route_is_in_the_matrix).
VALUES = {"doc_A": 10, "doc_B": 11}


def populate(world) -> dict:
    """A document on A and one on B, written directly (no history entry: the core's rows count A's history)."""
    from chorus import clock
    from chorus.database import transaction
    from chorus.extensions import db
    from plugins.documents.models import Document, DocumentChunk

    ids = {}
    content = b"%PDF-1.4\n%%EOF\n"
    for name in ("A", "B"):
        with transaction():
            document = Document(structure_id=world.values[name], designation=f"Pièce de {name}", type_code="contrat",
                                file_name=f"piece-{name}.pdf", media_type="application/pdf", size=len(content),
                                sha256="", created_at=clock.now(), created_by_id=None)
            db.session.add(document)
            db.session.flush()
            db.session.add(DocumentChunk(document_id=document.id, seq=0, data=content))
        ids[f"doc_{name}"] = document.id
    return ids


def _new_document(w):
    return {"fichier": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "nouvelle.pdf"), "designation": "Nouvelle pièce",
            "type_code": "contrat"}


def _archive(name):
    return lambda w: {"ids": [str(w.values[f"doc_{name}"])]}


def _delete(name):
    return lambda w: {"ids": [str(w.values[f"doc_{name}"])], "confirme": "oui"}


def rows(m) -> list:
    """`m`: the matrix module (Row, roles, LOGIN, manager_post)."""
    Row, roles, LOGIN = m.Row, m.roles, m.LOGIN
    base_a, base_b = "/structures/{A}/pieces-jointes", "/structures/{B}/pieces-jointes"
    # Users of A list and download; administrators see every list but no content (403); others: 404 (SPEC DOC-4).
    return [
        Row("GET", base_a, "documents.index", "A", roles(LOGIN, 200, 200, 200, 200)),
        Row("GET", base_b, "documents.index", "B", roles(LOGIN, 404, 404, 404, 200)),
        Row("GET", base_a + "/{doc_A}", "documents.download", "A", roles(LOGIN, 200, 200, 200, 403), page=False),
        Row("GET", base_a + "/{doc_B}", "documents.download", "A", roles(LOGIN, 404, 404, 404, 403)),
        Row("GET", base_b + "/{doc_B}", "documents.download", "B", roles(LOGIN, 404, 404, 404, 403)),
        Row("POST", base_a + "/archive", "documents.download_many", "A", roles(LOGIN, 200, 200, 200, 403),
            _archive("A"), page=False),
        Row("POST", base_b + "/archive", "documents.download_many", "B", roles(LOGIN, 404, 404, 404, 403),
            _archive("B")),
        Row("GET", base_a + "/supprimer?ids={doc_A}", "documents.delete", "A", roles(LOGIN, 403, 200, 200, 403)),
        Row("GET", base_b + "/supprimer?ids={doc_B}", "documents.delete", "B", roles(LOGIN, 404, 404, 404, 403)),
        Row("POST", base_b, "documents.add", "B", m.manager_post(False), _new_document),
        Row("POST", base_a, "documents.add", "A", m.manager_post(True), _new_document, changes=True),
        Row("POST", base_b + "/supprimer", "documents.delete", "B", m.manager_post(False), _delete("B")),
        Row("POST", base_a + "/supprimer", "documents.delete", "A", m.manager_post(True), _delete("A"),
            changes=True),
    ]
