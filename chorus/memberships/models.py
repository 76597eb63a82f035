"""Memberships ("rattachements", SPEC RAT): a user's link to a structure, with a role and a status."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..database import UTCDateTime
from ..extensions import db
from ..structures.models import Structure


class Role(StrEnum):
    PRIMARY = "primary"  # gestionnaire principal (exactly one per active structure, SPEC TRF-1)
    SECONDARY = "secondary"  # gestionnaire secondaire
    MEMBER = "member"  # utilisateur simple

    @property
    def label(self) -> str:
        return {"primary": "Gestionnaire principal", "secondary": "Gestionnaire secondaire",
                "member": "Utilisateur simple"}[self.value]


MANAGER_ROLES = (Role.PRIMARY, Role.SECONDARY)


class MembershipStatus(StrEnum):
    """SPEC RAT-2; the API enum names are in `api_code`."""

    PENDING = "pending"
    VALIDATED = "validated"
    REFUSED = "refused"
    DEACTIVATED = "deactivated"
    REMOVED = "removed"
    CANCELLED = "cancelled"  # withdrawn by the requester before any decision

    @property
    def label(self) -> str:
        return {"pending": "En cours de validation", "validated": "Validé", "refused": "Refusé",
                "deactivated": "Désactivé", "removed": "Supprimé", "cancelled": "Annulé"}[self.value]

    @property
    def api_code(self) -> str:
        return {"pending": "EN_COURS_DE_VALIDATION", "validated": "VALIDEE", "refused": "REFUSEE",
                "deactivated": "DESACTIVEE", "removed": "SUPPRIMEE", "cancelled": "SUPPRIMEE"}[self.value]


class Membership(db.Model):
    __tablename__ = "membership"
    __table_args__ = (
        # At most one primary manager per structure, enforced by the database (SPEC TRF-1).
        Index("uq_membership_one_primary", "structure_id", unique=True,
              sqlite_where=text("role = 'primary' AND status = 'validated'"),
              postgresql_where=text("role = 'primary' AND status = 'validated'")),
        # One open (pending or validated) membership per user and structure (SPEC RAT-8).
        Index("uq_membership_open", "structure_id", "user_id", unique=True,
              sqlite_where=text("status IN ('pending', 'validated')"),
              postgresql_where=text("status IN ('pending', 'validated')")),
        # A structure's members or pending requests, in date order (record, requests screen).
        Index("ix_membership_structure_status_created", "structure_id", "status", "created_at", "id"),
        # A structure's managers (role IN primary, secondary), and its members page by page from the latest.
        Index("ix_membership_structure_role_status_created", "structure_id", "role", "status", "created_at", "id"),
        # Pending requests across structures in date order, and the expiry job.
        Index("ix_membership_status_created", "status", "created_at"),
        # The people linked to a manager's structures (user search, attach), read from the index alone.
        Index("ix_membership_structure_user", "structure_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structure.id"))  # indexed first in the indexes below
    role: Mapped[Role] = mapped_column(String(10))
    status: Mapped[MembershipStatus] = mapped_column(String(12))
    comment: Mapped[str] = mapped_column(Text, default="")  # the requester's, or the attaching manager's
    decision_reason: Mapped[str] = mapped_column(Text, default="")  # why it was refused
    start_date: Mapped[date | None] = mapped_column(Date)  # validity start (SPEC RAT-6)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    structure: Mapped[Structure] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def role_label(self) -> str:
        return Role(self.role).label

    @property
    def status_label(self) -> str:
        return MembershipStatus(self.status).label

    @property
    def is_pending(self) -> bool:
        return self.status == MembershipStatus.PENDING


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Invitation(db.Model):
    """A manager's invitation to join a structure, for a person not yet linked to any of their structures
    (SPEC RAT-6 as amended): nobody is attached without saying yes, and the manager's screen answers the
    same whether or not the address has an account. The link's token is kept hashed."""

    __tablename__ = "membership_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structure.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)  # the login address it is for
    role: Mapped[Role] = mapped_column(String(10))
    start_date: Mapped[date | None] = mapped_column(Date)
    comment: Mapped[str] = mapped_column(Text, default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[InvitationStatus] = mapped_column(String(10))
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    membership_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"))

    structure: Mapped[Structure] = relationship()
    invited_by: Mapped[User] = relationship(foreign_keys=[invited_by_id])

    @property
    def role_label(self) -> str:
        return Role(self.role).label
