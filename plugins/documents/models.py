"""Documents of a structure's record ("pièces jointes", SPEC DOC-1..4).

The content lives in the database, in chunks of CHUNK_SIZE bytes, so that several application instances share it
with no shared disk, and so that it goes in and out in bounded memory. The name shown and given back at download
is a cleaned copy of the uploaded one, kept apart from the content, which is known by the document's id only.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from chorus.database import UTCDateTime
from chorus.extensions import db

CHUNK_SIZE = 256 * 1024


class Document(db.Model):
    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structure.id"))
    designation: Mapped[str] = mapped_column(String(200))
    type_code: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(255))  # cleaned (content.clean_file_name)
    media_type: Mapped[str] = mapped_column(String(100))  # found from the content, never the browser's claim
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


Index("ix_document_structure_created", Document.structure_id, Document.created_at, Document.id)


class DocumentChunk(db.Model):
    __tablename__ = "document_chunk"

    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
