"""Services of a structure (SPEC SRV-1..4) and a membership's status per service (SPEC RAT-2)."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chorus.database import UTCDateTime
from chorus.extensions import db

# SPEC SRV-3: every structure has it; it receives invoices from other public structures.
DEFAULT_CODE = "FACTURES_PUBLIQUES"
DEFAULT_LABEL = "Factures publiques"
MAX_CODE = MAX_LABEL = 100  # SPEC SRV-2


def code_key(code: str) -> str:
    """What makes two codes the same (SPEC SRV-2): case, width and surrounding spaces do not count."""
    return unicodedata.normalize("NFKC", code or "").strip().casefold()


class Service(db.Model):
    __tablename__ = "service"
    # The database keeps codes unique within a structure, whatever their case (SPEC SRV-2).
    __table_args__ = (UniqueConstraint("structure_id", "code_key", name="uq_service_structure_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structure.id"), index=True)
    code: Mapped[str] = mapped_column(String(MAX_CODE))
    code_key: Mapped[str] = mapped_column(String(4 * MAX_CODE))  # NFKC and casefold may lengthen it
    label: Mapped[str] = mapped_column(String(MAX_LABEL))  # "libellé"
    description: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date] = mapped_column(Date)  # validity start, required (SPEC SRV-1)
    end_date: Mapped[date | None] = mapped_column(Date)
    engagement_required: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)  # FACTURES_PUBLIQUES, locked (SRV-3)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def is_active_on(self, day: date) -> bool:
        """SPEC SRV-4: active from its start date to its end date, both included."""
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


class ServiceStatus(StrEnum):
    """A membership's status on one service (SPEC RAT-2)."""

    PENDING = "pending"
    VALIDATED = "validated"
    REFUSED = "refused"
    DEACTIVATED = "deactivated"

    @property
    def label(self) -> str:
        return {"pending": "En cours de validation", "validated": "Validé", "refused": "Refusé",
                "deactivated": "Désactivé"}[self.value]

    @property
    def api_code(self) -> str:
        return {"pending": "EN_COURS_DE_VALIDATION", "validated": "VALIDEE", "refused": "REFUSEE",
                "deactivated": "DESACTIVEE"}[self.value]


class MembershipService(db.Model):
    """The status of one membership on one service of its structure (SPEC RAT-2)."""

    __tablename__ = "membership_service"
    __table_args__ = (UniqueConstraint("membership_id", "service_id", name="uq_membership_service"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    status: Mapped[ServiceStatus] = mapped_column(String(12))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def status_label(self) -> str:
        return ServiceStatus(self.status).label


Index("ix_service_structure_code", Service.structure_id, Service.code)
Index("ix_service_code_key", Service.code_key)  # the "Service" criterion across a manager's structures
