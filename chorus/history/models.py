"""The append-only history of managers' actions on a structure (SPEC HIS-1..4, STR-10).

The database refuses UPDATE and DELETE on this table (triggers, see the migration).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..database import UTCDateTime
from ..extensions import db


class HistoryEntry(db.Model):
    __tablename__ = "history_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structure.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: the system
    action: Mapped[str] = mapped_column(String(60))  # e.g. "structure.updated", "membership.validated"
    comment: Mapped[str] = mapped_column(String(30), default="")  # "Validée", "Refusée", "Désactivée"...
    summary: Mapped[str] = mapped_column(Text, default="")  # one French sentence
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # the user concerned
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # what the detail view (HIS-3) shows

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    subject_user: Mapped[User | None] = relationship(foreign_keys=[subject_user_id])


Index("ix_history_entry_structure_at", HistoryEntry.structure_id, HistoryEntry.at)
# The "Action" filter of the list.
Index("ix_history_entry_structure_action", HistoryEntry.structure_id, HistoryEntry.action, HistoryEntry.at)
