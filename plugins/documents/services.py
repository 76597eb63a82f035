"""The rules of a structure's documents (SPEC DOC-1..4): plain functions taking the actor.

Managers add and delete (structure.edit); the structure's users list and download (document.download, voted in
__init__); anyone else is told the structure does not exist (404). Contents go in and out in CHUNK_SIZE pieces.
"""
from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, delete, insert, literal, select

from chorus import clock
from chorus.database import insert_returning_ids, transaction
from chorus.events import Refused, emit
from chorus.extensions import db
from chorus.history import services as history
from chorus.pagination import paginate
from chorus.permissions import Denied, can, require_on
from chorus.plugins import hook

from . import content
from .models import CHUNK_SIZE, Document, DocumentChunk

MAX_FILE_SIZE = 4 * 1024 * 1024  # SPEC DOC-2: "4 Mo" per file
MAX_DESIGNATION = 200
MAX_BATCH = 100  # documents deleted or downloaded together
PAGE_SIZE = 20
PARIS = ZoneInfo("Europe/Paris")  # the dates a ZIP carries are local times


def document_types() -> list[tuple[str, str]]:
    """The kinds of document offered, from every plugin's `register_document_types` (first one wins a code)."""
    seen: dict[str, str] = {}
    for result in hook().register_document_types():
        for code, label in result or ():
            seen.setdefault(code, label)
    return list(seen.items())


def type_label(code: str) -> str:
    return dict(document_types()).get(code, code)


def may_manage(actor, structure) -> bool:
    return can(actor, "structure.edit", structure)


def may_download(actor, structure) -> bool:
    return can(actor, "document.download", structure)


def _require_view(actor, structure) -> None:
    if not can(actor, "structure.view", structure):
        raise Denied(hidden=True)


def page(actor, structure, number: int = 1, per_page: int = PAGE_SIZE) -> tuple[list[Document], int]:
    """One page of the structure's documents, newest first, and how many there are."""
    _require_view(actor, structure)
    found = paginate(select(Document).where(Document.structure_id == structure.id)
                     .order_by(Document.created_at.desc(), Document.id.desc()), page=number, per_page=per_page)
    return found.items, found.total  # no second statement for a structure without documents


def _clean_designation(value: str) -> str:
    value = unicodedata.normalize("NFC", value or "")
    value = "".join(c for c in value if unicodedata.category(c) not in ("Cc", "Cf", "Cn", "Co", "Cs"))
    return " ".join(value.split())


def add(actor, structure, stream, raw_name: str | None, designation: str, type_code: str) -> Document:
    """Add a document (SPEC DOC-2): `stream` is the uploaded file (seekable, read in pieces), `raw_name` the name
    the browser sent. Refused (with French messages by field) on a bad type, designation or content."""
    require_on(actor, "structure.edit", structure, visible_with="structure.view")
    errors = {}
    designation = _clean_designation(designation)
    if not designation:
        errors["designation"] = "Saisissez une désignation."
    elif len(designation) > MAX_DESIGNATION:
        errors["designation"] = f"La désignation ne doit pas dépasser {MAX_DESIGNATION} caractères."
    if type_code not in dict(document_types()):
        errors["type_code"] = "Choisissez un type de pièce jointe dans la liste."
    file_name = content.clean_file_name(raw_name)
    if stream is None:
        errors["fichier"] = "Choisissez un fichier."
    else:
        try:
            found = content.inspect(stream, file_name)
        except content.Unacceptable as e:
            errors["fichier"] = str(e)
        else:
            if found.size > MAX_FILE_SIZE:  # the web refuses it earlier (413); other callers here
                errors["fichier"] = "Le fichier dépasse la taille maximale de 4 Mo."
    if errors:
        raise Refused(errors)
    with transaction():
        document = Document(structure_id=structure.id, designation=designation, type_code=type_code,
                            file_name=file_name, media_type=found.media_type, size=found.size, sha256="",
                            created_at=clock.now(), created_by_id=actor.id)
        db.session.add(document)
        db.session.flush()
        digest, seq = hashlib.sha256(), 0
        stream.seek(0)
        while block := stream.read(CHUNK_SIZE):
            digest.update(block)
            # A Core insert: the chunk is not kept in the session, so memory stays at one chunk.
            db.session.execute(insert(DocumentChunk), [{"document_id": document.id, "seq": seq, "data": block}])
            seq += 1
        document.sha256 = digest.hexdigest()
        history.record(structure.id, actor, "document.added", summary=f"Pièce jointe « {designation} » ajoutée "
                       f"({file_name}, {type_label(type_code)}).",
                       detail={"document_id": document.id, "file_name": file_name, "designation": designation,
                               "type": type_code, "size": found.size})
        emit("document.added", actor, document_id=document.id, structure_id=structure.id)
    return document


def selected(actor, structure, ids: Iterable[int], *, for_action: str) -> list[Document]:
    """The documents of `structure` among `ids` (at most MAX_BATCH), for an action the actor may do on them."""
    if for_action == "delete":
        require_on(actor, "structure.edit", structure, visible_with="structure.view")
    else:
        require_on(actor, "document.download", structure, visible_with="structure.view")
    ids = list(dict.fromkeys(ids))[:MAX_BATCH]
    if not ids:
        return []
    return db.session.execute(select(Document).where(Document.id.in_(ids), Document.structure_id == structure.id)
                              .order_by(Document.created_at.desc(), Document.id.desc())).scalars().all()


def one(actor, structure, document_id: int) -> Document:
    """One document to download: 404 when it is not this structure's (or the structure is not the actor's)."""
    found = selected(actor, structure, [document_id], for_action="download")
    if not found:
        raise Denied(hidden=True)
    return found[0]


def delete_documents(actor, structure, ids: Iterable[int]) -> list[Document]:
    """Delete documents of `structure` (SPEC DOC-3, DOC-4: gone for everyone), one history entry each."""
    with transaction():
        documents = selected(actor, structure, ids, for_action="delete")
        if not documents:
            raise Refused("Aucune des pièces jointes choisies n'existe : elles ont peut-être déjà été supprimées.")
        for d in documents:
            history.record(structure.id, actor, "document.deleted", comment=history.REMOVED,
                           summary=f"Pièce jointe « {d.designation} » supprimée ({d.file_name}).",
                           detail={"document_id": d.id, "file_name": d.file_name, "designation": d.designation,
                                   "type": d.type_code, "size": d.size})
            emit("document.deleted", actor, document_id=d.id, structure_id=structure.id, file_name=d.file_name)
        gone = [d.id for d in documents]
        db.session.execute(delete(DocumentChunk).where(DocumentChunk.document_id.in_(gone)))
        db.session.execute(delete(Document).where(Document.id.in_(gone)))
        for d in documents:
            db.session.expunge(d)
    return documents


def copy_documents(source_id: int, structure_id: int) -> dict[int, int]:
    """SPEC SIR-2: the documents of `source_id`, copied to its successor with their contents (chunk by chunk, in
    the database: no content passes through memory), in the change of identifier's transaction."""
    rows = db.session.execute(select(Document.__table__).where(Document.structure_id == source_id)
                              .order_by(Document.id)).mappings().all()
    new_ids = insert_returning_ids(Document.__table__, [{**{k: v for k, v in row.items() if k != "id"},
                                                         "structure_id": structure_id} for row in rows])
    chunk = DocumentChunk.__table__
    for row, new_id in zip(rows, new_ids, strict=True):
        db.session.execute(insert(chunk).from_select(
            ["document_id", "seq", "data"],
            select(literal(new_id, Integer), chunk.c.seq, chunk.c.data).where(chunk.c.document_id == row["id"])))
    return {row["id"]: new_id for row, new_id in zip(rows, new_ids, strict=True)}


def chunks(document_id: int) -> Iterator[bytes]:
    """The content of a document, one chunk at a time (one query each: memory stays at one chunk)."""
    seq = 0
    while True:
        data = db.session.execute(select(DocumentChunk.data).where(
            DocumentChunk.document_id == document_id, DocumentChunk.seq == seq)).scalar_one_or_none()
        if data is None:
            return
        yield data
        seq += 1


class _Pipe(io.RawIOBase):
    """A write-only, non-seekable sink: zipfile then writes data descriptors, and we hand each piece on."""

    def __init__(self):
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def unique_names(documents: list[Document]) -> list[str]:
    """The documents' names in a ZIP, made distinct: "devis.pdf", "devis (2).pdf"..."""
    seen: set[str] = set()
    out = []
    for d in documents:
        stem, ext = d.file_name, ""
        if "." in d.file_name:
            stem, ext = d.file_name.rsplit(".", 1)
            ext = "." + ext
        name, n = d.file_name, 1
        while name.lower() in seen:
            n += 1
            name = f"{stem} ({n}){ext}"
        seen.add(name.lower())
        out.append(name)
    return out


def zip_stream(documents: list[Document]) -> Iterator[bytes]:
    """A ZIP of `documents`, produced while it is sent: at most one chunk of content in memory at a time."""
    pipe = _Pipe()
    entries = [(d.id, name, d.created_at, d.size) for d, name in zip(documents, unique_names(documents), strict=True)]
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED) as archive:
        for document_id, name, created_at, size in entries:
            info = zipfile.ZipInfo(name, date_time=_local(created_at))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = size
            written = 0
            with archive.open(info, "w") as member:
                for block in chunks(document_id):
                    member.write(block)
                    written += len(block)
                    yield pipe.take()
            if written != size:  # deleted while being sent: end the download broken rather than wrong
                raise RuntimeError(f"document {document_id} changed while being sent")
            yield pipe.take()
    yield pipe.take()


def _local(at: datetime) -> tuple:
    stamp = at.astimezone(PARIS).timetuple()[:6]
    return stamp if stamp[0] >= 1980 else (1980, 1, 1, 0, 0, 0)
