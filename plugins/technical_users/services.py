"""Technical user rules (SPEC TEC-1..3, API-1, NOT-1). Plain functions taking the actor; views and the API call them.

Life of the credentials: "Créer un utilisateur technique" makes the account, without a password.
"Exporter les informations de connexion" draws a password, stores its hash only, and hands it out in a file,
once (a guarded update: two clicks at once give one file). "Réinitialiser le mot de passe" removes the password
at once (the old one, open sessions and pending links stop working) and makes a new export possible.
"""
from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from chorus import clock, events
from chorus.accounts import sessions, throttle
from chorus.accounts.models import AccountKind, AccountOrigin, AccountStatus, AccountToken, User
from chorus.accounts.passwords import hash_password, verify_password
from chorus.accounts.services import normalize_email
from chorus.database import insert_ignore, reading, transaction
from chorus.events import Refused
from chorus.extensions import db
from chorus.history import services as history
from chorus.mail.outbox import absolute_url, queue
from chorus.memberships.invitations import spend_invitation
from chorus.memberships.models import Membership, MembershipStatus, Role
from chorus.memberships.spaces import default_spaces
from chorus.permissions import can, require_on
from chorus.structures.models import Structure
from chorus.validation import email_problem

from .models import TechnicalUser

PASSWORD_VALIDITY = timedelta(days=424)  # SPEC TEC-3 (the real system's rule)
ALREADY_EXPORTED = ("Les informations de connexion de l'utilisateur technique ont déjà été exportées : elles ne sont "
                    "délivrées qu'une fois. Pour en obtenir de nouvelles, réinitialisez son mot de passe.")


class TechnicalUserError(Refused):
    """Refused by a technical user rule; `errors` maps form fields ("" for the form) to French messages."""


def of_structure(structure_id: int) -> TechnicalUser | None:
    return db.session.execute(
        select(TechnicalUser).where(TechnicalUser.structure_id == structure_id)
    ).scalar_one_or_none()


def may_manage(actor, structure: Structure) -> bool:
    return can(actor, "technical_user.manage", structure)


def _require(actor, structure: Structure) -> None:
    # Another structure's: 404 (MGR-2); one the actor sees but does not own as primary manager: 403.
    require_on(actor, "technical_user.manage", structure, visible_with="structure.view")


def _existing(structure: Structure) -> TechnicalUser:
    technical = of_structure(structure.id)
    if technical is None:
        raise TechnicalUserError("Cette structure n'a pas d'utilisateur technique.")
    return technical


def create(actor: User, structure: Structure, login_email: str, contact_email: str = "") -> TechnicalUser:
    """"Créer un utilisateur technique" (TEC-1): the API account of `structure`, attached to it, without a
    password until "Exporter les informations de connexion". One per structure."""
    _require(actor, structure)
    login = normalize_email(login_email)
    contact = normalize_email(contact_email) or login
    for field, value in (("login_email", login), ("contact_email", contact)):
        problem = email_problem(value) if value else "Saisissez l'adresse électronique de connexion."
        if problem:
            raise TechnicalUserError({field: problem})
    with transaction():
        if of_structure(structure.id) is not None:
            raise TechnicalUserError("Cette structure a déjà un utilisateur technique : réinitialisez son mot de "
                                     "passe pour obtenir de nouvelles informations de connexion.")
        # A login already taken must be refused, which tells that it exists: counted like the manager's
        # invitations, so that nobody probes addresses in bulk through this screen.
        spend_invitation(actor)
        now = clock.now()
        user_id = db.session.execute(insert_ignore(User, {
            "last_name": "Technique", "first_name": "Utilisateur", "last_name_folded": "technique",
            "first_name_folded": "utilisateur", "login_email": login, "contact_email": contact, "phone": "",
            "status": AccountStatus.PENDING, "kind": AccountKind.TECHNICAL, "origin": AccountOrigin.MANAGER,
            "is_pigp": False, "is_admin": False, "created_at": now}, ["login_email"]).returning(User.id)
        ).scalar_one_or_none()
        if user_id is None:
            raise TechnicalUserError({"login_email": "Cette adresse de connexion est déjà utilisée : choisissez-en "
                                                     "une autre, propre au système d'information."})
        technical = TechnicalUser(user_id=user_id, structure_id=structure.id, created_at=now, created_by_id=actor.id)
        db.session.add(technical)
        # Attached to the structure (TEC-1): the API lists its memberships. A plain role: its rights through the
        # API are the primary manager's (TEC-3), and a SIRET change does not copy it (SIR-2).
        membership = Membership(user_id=user_id, structure_id=structure.id, role=Role.MEMBER,
                                status=MembershipStatus.VALIDATED, comment="Utilisateur technique",
                                decision_reason="", start_date=clock.today(), created_at=now, decided_at=now,
                                decided_by_id=actor.id)
        db.session.add(membership)
        db.session.flush()
        events.emit("membership.attached", actor=actor, membership_id=membership.id, user_id=user_id,
                    structure_id=structure.id, role=str(Role.MEMBER), spaces=default_spaces(structure, Role.MEMBER),
                    extra={})
        events.emit("technical_user.created", actor=actor, user_id=user_id, structure_id=structure.id)
        history.record(structure.id, actor, "technical_user.created", subject_user=user_id,
                       summary=f"Création de l'utilisateur technique {login}", detail={"login_email": login})
    return technical


@dataclass(frozen=True)
class Credentials:
    login_email: str
    password: str
    expires_at: datetime

    @property
    def cpro_account(self) -> str:
        """The `cpro-account` header of the API calls (API.md): base64 of login:password."""
        return base64.b64encode(f"{self.login_email}:{self.password}".encode()).decode()


def export_credentials(actor: User, structure: Structure) -> Credentials:
    """"Exporter les informations de connexion" (TEC-1): a new password, given this once, valid 424 days (TEC-3).

    Refused once done (ALREADY_EXPORTED) until a reset; the password is never stored in clear."""
    _require(actor, structure)
    technical = _existing(structure)
    password = secrets.token_urlsafe(24)  # 192 random bits
    hashed = hash_password(password)  # outside the write lock: a memory-hard hash takes a while
    with transaction():
        now = clock.now()
        expires = now + PASSWORD_VALIDITY
        done = db.session.execute(
            update(TechnicalUser).where(TechnicalUser.id == technical.id,
                                        TechnicalUser.credentials_exported_at.is_(None))
            .values(credentials_exported_at=now, password_set_at=now, password_expires_at=expires)
        ).rowcount
        if done != 1:  # exported already, or by a concurrent click
            raise TechnicalUserError(ALREADY_EXPORTED)
        user = db.session.get(User, technical.user_id)
        user.password_hash = hashed
        if user.status == AccountStatus.PENDING:
            user.status, user.activated_at = AccountStatus.ACTIVE, now
        events.emit("technical_user.credentials_exported", actor=actor, user_id=user.id, structure_id=structure.id)
        history.record(structure.id, actor, "technical_user.credentials_exported", subject_user=user,
                       summary=f"Export des informations de connexion de l'utilisateur technique {user.login_email}",
                       detail={"login_email": user.login_email, "expires_at": expires.date().isoformat()})
        login = user.login_email
    return Credentials(login, password, expires)


def reset_password(actor: User, structure: Structure) -> TechnicalUser:
    """"Réinitialiser le mot de passe de l'utilisateur technique" (TEC-2): the old password stops working at once,
    with every session and pending link of the account; new credentials come from a new export. The primary
    manager is told at their contact address (NOT-1), a trace if the reset was not theirs."""
    _require(actor, structure)
    technical = _existing(structure)
    with transaction():
        user = db.session.get(User, technical.user_id)
        user.password_hash = None
        db.session.execute(update(TechnicalUser).where(TechnicalUser.id == technical.id).values(
            credentials_exported_at=None, password_set_at=None, password_expires_at=None))
        sessions.end_all(user)
        db.session.execute(update(AccountToken).where(AccountToken.user_id == user.id,
                                                      AccountToken.used_at.is_(None)).values(used_at=clock.now()))
        events.emit("technical_user.password_reset", actor=actor, user_id=user.id, structure_id=structure.id)
        history.record(structure.id, actor, "technical_user.password_reset", subject_user=user,
                       summary=f"Réinitialisation du mot de passe de l'utilisateur technique {user.login_email}",
                       detail={"login_email": user.login_email})
        queue(actor.contact_email, "technical_user_password_reset", manager=actor, structure=structure,
              technical=user, link=absolute_url("structures.view", structure_id=structure.id))
    db.session.refresh(technical)
    return technical


# ------------------------------------------------------------------ the API's credential check (API-1)


@dataclass(frozen=True)
class ApiIdentity:
    """Who a `cpro-account` pair names: the technical user, its structure, its password's dates. The API remembers
    a verified pair for an access token keyed with `password_set_at`, so that a reset makes it verify again."""

    user_id: int
    login_email: str
    structure_id: int
    password_set_at: datetime
    password_expires_at: datetime


@dataclass(frozen=True)
class ApiCheck:
    identity: ApiIdentity | None = None
    error: str | None = None  # "throttled", "invalid" or "expired"


def authenticate(login: str, password: str) -> ApiCheck:
    """Check a technical user's login and password for the API (TEC-3, API.md: `cpro-account`).

    Refused alike ("invalid"): unknown login, wrong password, a person's account, a deactivated account, one
    whose credentials were never exported or were reset. A password past its 424 days: "expired". Failures
    are counted per login before any hashing, as for the web login (ACC-7).
    """
    c = current_app.config
    login = normalize_email(login)
    key = f"api:account:{login}"
    with transaction():
        if throttle.hit(key, c["LOGIN_WINDOW"]) > c["LOGIN_MAX_FAILURES_PER_ACCOUNT_UNTRUSTED"]:
            return ApiCheck(error="throttled")
    with reading():
        row = db.session.execute(
            select(User, TechnicalUser).join(TechnicalUser, TechnicalUser.user_id == User.id)
            .where(User.login_email == login)
        ).first()
        user, technical = row if row else (None, None)
        if not verify_password(user.password_hash if user else None, password):
            return ApiCheck(error="invalid")
        if user.kind != AccountKind.TECHNICAL or user.status != AccountStatus.ACTIVE:
            return ApiCheck(error="invalid")
        if technical.password_expires_at is None or technical.password_expires_at <= clock.now():
            return ApiCheck(error="expired")
        identity = ApiIdentity(user.id, user.login_email, technical.structure_id, technical.password_set_at,
                               technical.password_expires_at)
    with transaction():
        throttle.clear(key)
    return ApiCheck(identity=identity)
