"""Subscriptions to spaces (SPEC ABO, ESP-3): requests, their lines, and the spaces set up on a structure."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chorus.accounts.models import User
from chorus.database import UTCDateTime
from chorus.extensions import db
from chorus.structures.models import Structure

ALL_UNITS = ""  # "Tous les services": the space on the whole structure (ESP-3)


class Status(StrEnum):
    PENDING = "pending"
    VALIDATED = "validated"
    REFUSED = "refused"  # a refused line, or a refused request: "Désactivée" in the history (HIS-2)
    REMOVED = "removed"  # taken back by its user (ABO-6)

    @property
    def label(self) -> str:
        return {"pending": "En cours de validation", "validated": "Validée", "refused": "Désactivée",
                "removed": "Retirée"}[self.value]


class Origin(StrEnum):
    DEFAULT = "default"  # with the membership (ESP-2)
    USER = "user"  # asked by the user (ABO-1)
    STRUCTURE = "structure"  # the manager set up the structure's spaces (ABO-1, ESP-3)
    SELF = "self"  # added by the user without validation (ABO-6)
    COPY = "copy"  # copied with a duplicated structure (SIR-2)


class SubscriptionRequest(db.Model):
    """A subscription request ("demande d'abonnement", ABO-2): a user, a structure, the spaces asked."""

    __tablename__ = "subscription_request"
    __table_args__ = (Index("ix_subscription_request_structure_status", "structure_id", "status", "created_at", "id"),
                      Index("ix_subscription_request_user", "user_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    structure_id: Mapped[int] = mapped_column(ForeignKey("structure.id"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    status: Mapped[Status] = mapped_column(String(12))
    origin: Mapped[Origin] = mapped_column(String(12))
    comment: Mapped[str] = mapped_column(Text, default="")  # the user's (ABO-2)
    manager_comment: Mapped[str] = mapped_column(Text, default="")  # added when validating (ABO-3)
    decision_reason: Mapped[str] = mapped_column(Text, default="")  # why it was refused (ABO-3)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    structure: Mapped[Structure] = relationship()
    lines: Mapped[list[Subscription]] = relationship(back_populates="request", order_by="Subscription.id")

    @property
    def status_label(self) -> str:
        return Status(self.status).label


class Subscription(db.Model):
    """A user's right on one space of a structure, for all its services or one (ABO-2), asked or in force."""

    __tablename__ = "space_subscription"
    __table_args__ = (Index("ix_space_subscription_user_status", "user_id", "status"),
                      Index("ix_space_subscription_membership", "membership_id"),
                      Index("ix_space_subscription_request", "request_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    structure_id: Mapped[int] = mapped_column(ForeignKey("structure.id"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("subscription_request.id"))
    space_code: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[str] = mapped_column(String(40), default=ALL_UNITS)  # ALL_UNITS or a sub-unit's id
    unit_label: Mapped[str] = mapped_column(String(200), default="")
    right: Mapped[str] = mapped_column(String(12))  # consultation | modification
    status: Mapped[Status] = mapped_column(String(12))
    origin: Mapped[Origin] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    request: Mapped[SubscriptionRequest | None] = relationship(back_populates="lines")
    structure: Mapped[Structure] = relationship()


class StructureSpace(db.Model):
    """A space a manager opened on the structure, for all its services or one (ESP-3), with its right."""

    __tablename__ = "structure_space"
    __table_args__ = (UniqueConstraint("structure_id", "space_code", "unit_id", name="uq_structure_space"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structure.id"))
    space_code: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[str] = mapped_column(String(40), default=ALL_UNITS)
    unit_label: Mapped[str] = mapped_column(String(200), default="")
    right: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
