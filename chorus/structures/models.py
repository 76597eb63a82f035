"""Structures ("fiche structure", SPEC STR-1..9)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime
from ..extensions import db
from ..folding import folded_default, keep_folded


class LabelledEnum(StrEnum):
    """A stored code with its French label (LABELS on the class)."""

    @property
    def label(self) -> str:
        return self.LABELS[self.value]  # type: ignore[attr-defined]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]


class StructureKind(LabelledEnum):
    PUBLIC = "public"
    PRIVATE = "private"


StructureKind.LABELS = {"public": "Publique", "private": "Privée"}


class PublicCategory(LabelledEnum):
    STATE = "etat"
    LOCAL_AUTHORITY = "collectivite"
    EPN = "epn"
    EPLE = "eple"
    OTHER = "autre"


PublicCategory.LABELS = {
    "etat": "État",
    "collectivite": "Collectivité locale",
    "epn": "Établissement public national (EPN)",
    "eple": "Établissement public local d'enseignement (EPLE)",
    "autre": "Autre structure publique",
}


class IdentifierType(LabelledEnum):
    SIRET = "SIRET"
    UE_HORS_FRANCE = "UE_HORS_FRANCE"
    HORS_UE = "HORS_UE"
    RIDET = "RIDET"
    TAHITI = "TAHITI"
    PARTICULIER = "PARTICULIER"
    AUTRE = "AUTRE"


IdentifierType.LABELS = {
    "SIRET": "SIRET",
    "UE_HORS_FRANCE": "Structure européenne hors France (TVA intracommunautaire)",
    "HORS_UE": "Structure hors Union européenne",
    "RIDET": "RIDET (Nouvelle-Calédonie)",
    "TAHITI": "Numéro Tahiti (Polynésie française)",
    "PARTICULIER": "Particulier",
    "AUTRE": "Autre",
}


class StructureStatus(LabelledEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


StructureStatus.LABELS = {"active": "Active", "inactive": "Inactive"}


class MoaMode(LabelledEnum):
    """Works contracts (SPEC STR-8); only public structures may be MOA."""

    NONE = "none"
    WITH = "with"
    ONLY = "only"


MoaMode.LABELS = {"none": "Sans MOA", "with": "Avec MOA", "only": "Exclusivement MOA"}


class Structure(db.Model):
    __tablename__ = "structure"
    __table_args__ = (UniqueConstraint("identifier_type", "identifier", name="uq_structure_identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[StructureKind] = mapped_column(String(10))
    category: Mapped[PublicCategory | None] = mapped_column(String(20))  # public structures only
    identifier_type: Mapped[IdentifierType] = mapped_column(String(20))
    identifier: Mapped[str] = mapped_column(String(80))
    designation: Mapped[str] = mapped_column(String(200))  # "raison sociale"
    # Folded copy of the designation (chorus.folding): what searches compare and lists sort by.
    designation_folded: Mapped[str] = mapped_column(String(200), default=folded_default("designation"),
                                                    server_default="")
    status: Mapped[StructureStatus] = mapped_column(String(10), default=StructureStatus.ACTIVE)

    # Postal address of the head office (SPEC STR-3).
    address: Mapped[str] = mapped_column(String(200))
    address_complement_1: Mapped[str] = mapped_column(String(200), default="")
    address_complement_2: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country_code: Mapped[str] = mapped_column(String(2), default="FR")
    phone: Mapped[str] = mapped_column(String(30), default="")
    fax: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(254), default="")

    # EDI flags (SPEC STR-5): set by the system, read-only for managers.
    edi_receive_lifecycle: Mapped[bool] = mapped_column(Boolean, default=False)
    edi_emitter: Mapped[bool] = mapped_column(Boolean, default=False)
    edi_connection_active: Mapped[bool] = mapped_column(Boolean, default=False)
    edi_can_receive: Mapped[bool] = mapped_column(Boolean, default=False)

    # What suppliers must provide on invoices (SPEC STR-6 a-d).
    payment_status_not_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    service_code_required: Mapped[bool] = mapped_column(Boolean, default=False)
    engagement_required: Mapped[bool] = mapped_column(Boolean, default=False)
    engagement_or_service_required: Mapped[bool] = mapped_column(Boolean, default=False)

    moa: Mapped[MoaMode] = mapped_column(String(10), default=MoaMode.NONE)

    # Fields that a SIRET change does not carry over (SPEC STR-9, SIR-2).
    billing_mandate: Mapped[bool] = mapped_column(Boolean, default=False)
    pacage_number: Mapped[str] = mapped_column(String(20), default="")
    social_regime: Mapped[str] = mapped_column(String(100), default="")
    vat_number: Mapped[str] = mapped_column(String(20), default="")
    connection_info: Mapped[str] = mapped_column(Text, default="")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # SPEC SIR-4: the structure this one succeeds after a change of identifier ("Structure d'origine"); its
    # successor is the structure whose predecessor it is (at most one: unique index below).
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("structure.id"))

    @property
    def is_public(self) -> bool:
        return self.kind == StructureKind.PUBLIC

    @property
    def is_active(self) -> bool:
        return self.status == StructureStatus.ACTIVE

    @property
    def kind_label(self) -> str:
        return StructureKind(self.kind).label

    @property
    def category_label(self) -> str:
        return PublicCategory(self.category).label if self.category else ""

    @property
    def status_label(self) -> str:
        return StructureStatus(self.status).label

    @property
    def moa_label(self) -> str:
        return MoaMode(self.moa).label

    @property
    def identifier_type_label(self) -> str:
        return IdentifierType(self.identifier_type).label

    def __repr__(self) -> str:
        return f"<Structure {self.id} {self.identifier_type}:{self.identifier}>"


keep_folded(Structure.designation, "designation_folded")
# At most one successor per structure (SIR-4), found by this index.
Index("uq_structure_predecessor", Structure.predecessor_id, unique=True)
# Lists sorted by designation walk this index; "contains" searches use the trigram one on PostgreSQL.
Index("ix_structure_designation_folded", Structure.designation_folded, Structure.id)
Index("ix_structure_designation_trgm", Structure.designation_folded, postgresql_using="gin",
      postgresql_ops={"designation_folded": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
