"""Accounts (SPEC ACC-1): people and technical users, their one-time links, sessions and throttles."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime
from ..extensions import db
from ..folding import folded_default, keep_folded


class AccountStatus(StrEnum):
    PENDING = "pending"  # "En cours d'activation"
    ACTIVE = "active"  # "Actif"
    DEACTIVATED = "deactivated"  # "Désactivé"

    @property
    def label(self) -> str:
        return {"pending": "En cours d'activation", "active": "Actif", "deactivated": "Désactivé"}[self.value]


class AccountKind(StrEnum):
    PERSON = "person"
    TECHNICAL = "technical"  # API only (SPEC TEC-3)


class AccountOrigin(StrEnum):
    SELF = "self"  # "Créer votre compte"
    MANAGER = "manager"  # created by a structure's manager (SPEC USR-4)
    ADMIN = "admin"  # created by a platform administrator ("PIGP" when flagged)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    # Folded copies of the names (chorus.folding), for searches by name.
    last_name_folded: Mapped[str] = mapped_column(String(100), default=folded_default("last_name"),
                                                  server_default="")
    first_name_folded: Mapped[str] = mapped_column(String(100), default=folded_default("first_name"),
                                                   server_default="")
    login_email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    contact_email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(30), default="")
    status: Mapped[AccountStatus] = mapped_column(String(20), default=AccountStatus.PENDING)
    kind: Mapped[AccountKind] = mapped_column(String(20), default=AccountKind.PERSON)
    origin: Mapped[AccountOrigin] = mapped_column(String(20), default=AccountOrigin.SELF)
    is_pigp: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)  # platform administrator
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def status_label(self) -> str:
        return AccountStatus(self.status).label

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.status == AccountStatus.ACTIVE

    def __repr__(self) -> str:
        return f"<User {self.id} {self.login_email}>"


class TokenPurpose(StrEnum):
    ACTIVATION = "activation"
    RESET = "reset"


class AccountToken(db.Model):
    """A single-use, expiring link sent by e-mail; only its SHA-256 is stored.

    "Mot de passe oublié" issues one whether or not the address has an account, so that both cases do the same
    work (P6-7); a token without a user opens nothing.
    """

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()


class UserSession(db.Model):
    """The server side of a login: the cookie holds a random id whose hash is kept here."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # absolute timeout
    address: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship()


class ThrottleCounter(db.Model):
    """Failures counted per key ("login:account:…", "login:address:…") in a fixed window.

    Kept in the database so that the limit holds across workers (QUALITY.md).
    """

    __tablename__ = "throttle_counter"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer, default=0)


keep_folded(User.last_name, "last_name_folded")
keep_folded(User.first_name, "first_name_folded")
Index("ix_user_account_name_folded", User.last_name_folded, User.first_name_folded, User.id)
# The attach screen's search tests thousands of linked people by id: on PostgreSQL from this index alone (an
# index-only scan), not their rows. SQLite reads a row by its rowid whatever the indexes: none there.
Index("ix_user_account_search", User.id, User.kind, User.status, User.last_name_folded, User.first_name_folded,
      User.login_email).ddl_if(dialect="postgresql")
# The few technical users (SPEC TEC-3): "not a technical user" tested against their ids (user directory's count).
Index("ix_user_account_technical", User.id, sqlite_where=text("kind = 'technical'"),
      postgresql_where=text("kind = 'technical'"))
Index("ix_user_account_last_name_trgm", User.last_name_folded, postgresql_using="gin",
      postgresql_ops={"last_name_folded": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
Index("ix_account_token_user_purpose", AccountToken.user_id, AccountToken.purpose)
