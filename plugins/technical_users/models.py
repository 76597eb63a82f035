"""Technical users (SPEC TEC-1..3, STR-9): the one API account of a structure, and the state of its credentials.

The account itself is a core `User` of kind TECHNICAL, attached to the structure by a membership; this table says
which structure it serves (one per structure), when its password was set and until when it is valid (424 days),
and whether its credentials were handed out: they are given once, and never stored in clear.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chorus.accounts.models import User
from chorus.database import UTCDateTime
from chorus.extensions import db


class TechnicalUser(db.Model):
    __tablename__ = "technical_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structure.id"), unique=True)  # one per structure
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Set when "Exporter les informations de connexion" hands out a password; cleared by a reset.
    credentials_exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
