"""Account rules (SPEC ACC-1..5, ACC-7). Plain functions taking the actor; views only call them."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from .. import clock, events
from ..database import reading, transaction
from ..events import Refused
from ..extensions import db
from ..mail.outbox import absolute_url, queue
from ..validation import email_problem, text_problem
from . import sessions, throttle, tokens
from .models import AccountKind, AccountOrigin, AccountStatus, TokenPurpose, User
from .passwords import hash_password, needs_rehash, password_problem, verify_password


class AccountError(Refused):
    """A rule refused the action; `field` names the form field the message belongs to, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__({field or "": message})
        self.message = message
        self.field = field


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def find_by_login(email: str) -> User | None:
    return db.session.execute(
        select(User).where(User.login_email == normalize_email(email))
    ).scalar_one_or_none()


@dataclass
class AccountData:
    last_name: str
    first_name: str
    login_email: str
    contact_email: str = ""
    phone: str = ""


def _check_person(*, last_name: str, first_name: str, emails: dict[str, str], phone: str = "") -> None:
    """The rules of a person's data, for every caller (forms check them first, for the messages)."""
    for field, value, max_length in (("last_name", last_name, 100), ("first_name", first_name, 100),
                                     ("phone", phone, 30)):
        problem = text_problem(value, max_length)
        if not problem and field != "phone" and not value.strip():
            problem = "Ce champ est obligatoire."
        if problem:
            raise AccountError(problem, field=field)
    for field, value in emails.items():
        problem = email_problem(value)
        if problem:
            raise AccountError(problem, field=field)


def _send_activation(user: User) -> None:
    """The activation link goes to the login address: following it proves the address belongs to the
    person, so nobody can take someone else's login (the other mails go to the contact address)."""
    token = tokens.issue(user, TokenPurpose.ACTIVATION)
    queue(
        user.login_email,
        "activation",
        user=user,
        link=absolute_url("accounts.activate", token=token),
        lifetime=current_app.config["ACTIVATION_TOKEN_LIFETIME"],
    )


def _mail_budget_left(address: str) -> bool:
    key = f"mail:address:{address}"
    window = current_app.config["MAIL_REQUESTS_WINDOW"]
    if throttle.count(key, window) >= current_app.config["MAIL_REQUESTS_PER_ADDRESS"]:
        return False
    throttle.hit(key, window)
    return True


def register(data: AccountData, *, actor: User | None = None, origin: AccountOrigin = AccountOrigin.SELF,
             is_pigp: bool = False, address: str = "", extra: dict | None = None) -> User | None:
    """Create an account "En cours d'activation" and mail its activation link (ACC-2, ACC-3).

    Anyone may register themselves or another person. When the login e-mail is taken the answer
    is the same (no account enumeration): the owner is mailed instead, or sent a fresh activation
    link if the account is still waiting for it. Returns the new user, or None in that case.
    `extra`: the values of the fields plugins added to the form, handed on in "account.created".
    """
    if is_pigp and not (actor and actor.is_admin):
        raise AccountError("Seul un administrateur de la plateforme peut créer un compte PIGP.")
    emails = {"login_email": data.login_email.strip()}
    if data.contact_email:
        emails["contact_email"] = data.contact_email.strip()
    _check_person(last_name=data.last_name, first_name=data.first_name, emails=emails, phone=data.phone)
    with transaction():
        if address and actor is None and not _mail_budget_left(address):
            raise AccountError("Trop de demandes depuis votre poste. Réessayez dans une heure.")
        existing = find_by_login(data.login_email)
        if existing is not None and actor is not None:
            # An administrator (or a manager) is told plainly, and nobody is mailed: the neutral answer
            # below is for anonymous registration, where it prevents account enumeration.
            raise AccountError("Un compte existe déjà avec cette adresse de connexion.", field="login_email")
        if existing is not None:
            if existing.status == AccountStatus.PENDING:
                _send_activation(existing)
            else:
                queue(existing.login_email, "account_exists", user=existing,
                      reset_link=absolute_url("accounts.forgot_password"))
            return None
        now = clock.now()
        user = User(
            last_name=data.last_name.strip(),
            first_name=data.first_name.strip(),
            login_email=normalize_email(data.login_email),
            contact_email=normalize_email(data.contact_email or data.login_email),
            phone=data.phone.strip(),
            status=AccountStatus.PENDING,
            kind=AccountKind.PERSON,
            origin=origin,
            is_pigp=is_pigp,
            is_admin=False,
            created_at=now,
        )
        db.session.add(user)
        db.session.flush()
        _send_activation(user)
        events.emit("account.created", actor=actor, user_id=user.id, origin=str(origin), extra=extra or {})
    return user


def activate(token: str, password: str) -> User:
    """Follow the activation link: choose a password, the account becomes "Actif" (ACC-2)."""
    with transaction():
        row = tokens.find_valid(token, TokenPurpose.ACTIVATION)
        if row is None or row.user.status != AccountStatus.PENDING:
            raise AccountError("Ce lien d'activation n'est plus valable. Demandez-en un nouveau.")
        user = row.user
        problem = password_problem(password, personal=(user.login_email, user.last_name, user.first_name))
        if problem:
            raise AccountError(problem, field="password")
        if not tokens.consume(row):
            raise AccountError("Ce lien d'activation a déjà été utilisé.")
        user.password_hash = hash_password(password)
        user.status = AccountStatus.ACTIVE
        user.activated_at = clock.now()
        events.emit("account.activated", actor=user, user_id=user.id)
    return user


@dataclass
class LoginResult:
    user: User | None = None
    error: str | None = None


GENERIC_LOGIN_ERROR = "Adresse de connexion ou mot de passe incorrect."
THROTTLED_LOGIN_ERROR = "Trop de tentatives de connexion. Réessayez dans quelques minutes."


def log_in(email: str, password: str, address: str) -> LoginResult:
    """Check the credentials and open a session (ACC-7: throttled before any hashing).

    Each attempt is counted first, atomically, per account and per address; a success takes its count
    back. The hash is verified outside any write lock. An unknown account and a wrong password get the
    same answer and cost the same time.
    """
    c = current_app.config
    window = c["LOGIN_WINDOW"]
    account_key = f"login:account:{normalize_email(email)}"
    address_key = f"login:address:{address}"
    with transaction():
        per_account = throttle.hit(account_key, window)
        per_address = throttle.hit(address_key, window)
    if per_account > c["LOGIN_MAX_FAILURES_PER_ACCOUNT"] or per_address > c["LOGIN_MAX_FAILURES_PER_ADDRESS"]:
        return LoginResult(error=THROTTLED_LOGIN_ERROR)
    with reading():
        user = find_by_login(email)
        ok = verify_password(user.password_hash if user else None, password)
        if not ok:
            return LoginResult(error=GENERIC_LOGIN_ERROR)
        user_id, kind, status = user.id, user.kind, user.status
        new_hash = hash_password(password) if needs_rehash(user.password_hash) else None
    if kind == AccountKind.TECHNICAL:
        return LoginResult(error="Un utilisateur technique ne peut se connecter qu'à l'API, pas au portail.")
    if status == AccountStatus.PENDING:
        return LoginResult(error="Ce compte n'est pas encore activé : suivez le lien reçu par courriel.")
    if status != AccountStatus.ACTIVE:
        return LoginResult(error="Ce compte est désactivé.")
    with transaction():
        throttle.clear(account_key)
        throttle.forgive(address_key)
        user = db.session.get(User, user_id)
        if new_hash:
            user.password_hash = new_hash
        sessions.start(user)
        events.emit("account.logged_in", actor=user, user_id=user.id)
    return LoginResult(user=user)


def log_out(user: User) -> None:
    with transaction():
        sessions.end()


def request_password_reset(email: str, address: str) -> None:
    """"Mot de passe oublié": mail a reset link if the account exists; the answer never says."""
    with transaction():
        if not _mail_budget_left(address):
            raise AccountError("Trop de demandes depuis votre poste. Réessayez dans une heure.")
        user = find_by_login(email)
        if user is None or user.kind == AccountKind.TECHNICAL or user.status == AccountStatus.DEACTIVATED:
            return
        if user.status == AccountStatus.PENDING:
            _send_activation(user)
            return
        token = tokens.issue(user, TokenPurpose.RESET)
        # To the login address, proven at activation: changing the contact address cannot divert it.
        queue(user.login_email, "password_reset", user=user,
              link=absolute_url("accounts.reset_password", token=token),
              lifetime=current_app.config["RESET_TOKEN_LIFETIME"])


def reset_password(token: str, password: str) -> User:
    with transaction():
        row = tokens.find_valid(token, TokenPurpose.RESET)
        if row is None or row.user.status != AccountStatus.ACTIVE:
            raise AccountError("Ce lien de réinitialisation n'est plus valable. Demandez-en un nouveau.")
        user = row.user
        problem = password_problem(password, personal=(user.login_email, user.last_name, user.first_name))
        if problem:
            raise AccountError(problem, field="password")
        if not tokens.consume(row):
            raise AccountError("Ce lien de réinitialisation a déjà été utilisé.")
        user.password_hash = hash_password(password)
        sessions.end_all(user)  # every open session, a stolen one included, ends here
        events.emit("account.password_changed", actor=user, user_id=user.id)
    return user


def change_password(actor: User, current_password: str, new_password: str) -> None:
    """"Modifier mon mot de passe" from Mon compte; the other sessions end, this one goes on."""
    with transaction():
        if not verify_password(actor.password_hash, current_password):
            raise AccountError("Le mot de passe actuel est incorrect.", field="current_password")
        problem = password_problem(new_password, personal=(actor.login_email, actor.last_name, actor.first_name))
        if problem:
            raise AccountError(problem, field="new_password")
        actor.password_hash = hash_password(new_password)
        sessions.end_all(actor)
        sessions.start(actor)
        events.emit("account.password_changed", actor=actor, user_id=actor.id)


def update_profile(actor: User, target: User, *, last_name: str, first_name: str, contact_email: str,
                   phone: str) -> None:
    """"Mon compte": a person edits their own information (the login e-mail is not changed here)."""
    from ..permissions import can

    if not can(actor, "account.edit", target):
        raise AccountError("Vous ne pouvez pas modifier ce compte.")
    _check_person(last_name=last_name, first_name=first_name, emails={"contact_email": contact_email.strip()},
                  phone=phone)
    with transaction():
        changes = {}
        for name, value in (("last_name", last_name.strip()), ("first_name", first_name.strip()),
                            ("contact_email", normalize_email(contact_email)), ("phone", phone.strip())):
            if getattr(target, name) != value:
                changes[name] = (getattr(target, name), value)
                setattr(target, name, value)
        if "contact_email" in changes:  # the previous address hears of it: a stolen session shows
            queue(changes["contact_email"][0], "contact_changed", user=target, new=changes["contact_email"][1])
        if changes:
            events.emit("account.updated", actor=actor, user_id=target.id, changes=changes)


def create_admin(*, email: str, last_name: str, first_name: str, password: str) -> User:
    """A platform administrator, active at once (CLI `flask chorus create-admin`)."""
    _check_person(last_name=last_name, first_name=first_name, emails={"login_email": email.strip()})
    with transaction():
        if find_by_login(email):
            raise AccountError("Un compte existe déjà avec cette adresse de connexion.")
        problem = password_problem(password, personal=(email, last_name, first_name))
        if problem:
            raise AccountError(problem)
        now = clock.now()
        user = User(last_name=last_name, first_name=first_name, login_email=normalize_email(email),
                    contact_email=normalize_email(email), phone="", status=AccountStatus.ACTIVE,
                    kind=AccountKind.PERSON, origin=AccountOrigin.ADMIN, is_pigp=False, is_admin=True,
                    password_hash=hash_password(password), created_at=now, activated_at=now)
        db.session.add(user)
        db.session.flush()
        events.emit("account.created", actor=None, user_id=user.id, origin="admin", extra={})
    return user

