"""The e-mail outbox (SPEC NOT-1, NOT-2): one row per message, written with the action causing it."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime
from ..extensions import db


class MailStatus(StrEnum):
    PENDING = "pending"  # waiting for (another) attempt
    SENT = "sent"
    FAILED = "failed"  # set aside: permanent refusal or too many attempts

    @property
    def label(self) -> str:
        return {"pending": "En attente", "sent": "Envoyés", "failed": "En échec"}[self.value]


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)  # stable across retries
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))  # "" until the sender renders `context`
    body: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(100))  # which mail, for administrators' screens
    # What to render (plain JSON values), for mails queued in bulk: the sender renders them once,
    # stores subject and body, and sends. None when subject and body were rendered at queue time.
    context: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[MailStatus] = mapped_column(String(20), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(1000), default="")

    @property
    def status_label(self) -> str:
        return MailStatus(self.status).label


Index("ix_outbox_message_due", OutboxMessage.status, OutboxMessage.next_attempt_at)
