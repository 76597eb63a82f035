"""Account rules (SPEC ACC-1..5, ACC-7). Plain functions taking the actor; views only call them."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select

from .. import clock, events
from ..database import insert_ignore, reading, transaction
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


def _check_new_person(data: AccountData) -> None:
    emails = {"login_email": data.login_email.strip()}
    if data.contact_email:
        emails["contact_email"] = data.contact_email.strip()
    _check_person(last_name=data.last_name, first_name=data.first_name, emails=emails, phone=data.phone)


def _send_activation(user: User, **more) -> None:
    """The activation link goes to the login address: following it proves the address belongs to the
    person, so nobody can take someone else's login (the other mails go to the contact address).
    `more`: what the mail also tells (e.g. `attached_to`, the structures a manager attached the account to)."""
    token = tokens.issue(user, TokenPurpose.ACTIVATION)
    queue(
        user.login_email,
        "activation",
        user=user,
        link=absolute_url("accounts.activate", token=token),
        lifetime=current_app.config["ACTIVATION_TOKEN_LIFETIME"],
        **more,
    )


def _mail_budget_left(address: str) -> bool:
    key = f"mail:address:{address}"
    window = current_app.config["MAIL_REQUESTS_WINDOW"]
    if throttle.count(key, window) >= current_app.config["MAIL_REQUESTS_PER_ADDRESS"]:
        return False
    throttle.hit(key, window)
    return True


def _recipient_budget_left(login: str) -> bool:
    """P6-8: mails asked for one recipient, from whatever addresses. Counted for every address typed, with or
    without an account, by the same statement (a refusal says nothing about the account)."""
    c = current_app.config
    return throttle.hit(f"mail:to:{login}", c["MAIL_REQUESTS_WINDOW"]) <= c["MAIL_REQUESTS_PER_RECIPIENT"]


def resend_activation(actor: User, user: User, *, limit: int, window) -> bool:
    """A manager sends a pending account a new activation link (USR-3, NOT-1: to the login address); earlier
    links stop working. False, and nothing sent, when `actor` has sent `limit` of them in `window` or the
    recipient's own mail limit (P6-8) is reached. The caller checked that `actor` may reach `user`."""
    if user.status != AccountStatus.PENDING or user.kind != AccountKind.PERSON:
        return False
    key = f"activation:manager:{actor.id}"
    with transaction():
        # Counted then compared in one statement (throttle.hit): two resends at once cannot both pass the limit.
        if throttle.hit(key, window) > limit:
            return False
        if not _recipient_budget_left(user.login_email):
            throttle.forgive(key)  # nothing sent: not counted against the manager
            return False
        _send_activation(user)
        events.emit("account.activation_resent", actor=actor, user_id=user.id)
    return True


TOO_MANY_MAIL_REQUESTS = "Trop de demandes depuis votre poste. Réessayez dans une heure."


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
    _check_new_person(data)
    with transaction():
        if actor is None:
            if address and not _mail_budget_left(address):
                raise AccountError(TOO_MANY_MAIL_REQUESTS)
            return _register_anonymously(data, origin, extra or {})
        if find_by_login(data.login_email) is not None:
            # An administrator (or a manager) is told plainly, and nobody is mailed: the neutral answer
            # of anonymous registration is there to prevent account enumeration.
            raise AccountError("Un compte existe déjà avec cette adresse de connexion.", field="login_email")
        user = User(**_new_user_values(data, origin, is_pigp))
        db.session.add(user)
        db.session.flush()
        _send_activation(user)
        events.emit("account.created", actor=actor, user_id=user.id, origin=str(origin), extra=extra or {})
    return user


def _new_user_values(data: AccountData, origin: AccountOrigin, is_pigp: bool = False) -> dict:
    return {
        "last_name": data.last_name.strip(), "first_name": data.first_name.strip(),
        "login_email": normalize_email(data.login_email),
        "contact_email": normalize_email(data.contact_email or data.login_email), "phone": data.phone.strip(),
        "status": AccountStatus.PENDING, "kind": AccountKind.PERSON, "origin": origin, "is_pigp": is_pigp,
        "is_admin": False, "created_at": clock.now(),
    }


def _register_anonymously(data: AccountData, origin: AccountOrigin, extra: dict) -> User | None:
    """"Créer votre compte" by anyone: the same statements whether or not the address has an account (P6-7,
    timing told them apart): one INSERT ... ON CONFLICT DO NOTHING, one SELECT, one link, one mail (the
    activation link for a new or pending account, "votre compte existe déjà" with a reset link otherwise)."""
    login = normalize_email(data.login_email)
    mail_allowed = _recipient_budget_left(login)
    created_id = db.session.execute(
        insert_ignore(User, _new_user_values(data, origin), ["login_email"]).returning(User.id)
    ).scalar_one_or_none()
    user = find_by_login(login)
    # A new account always gets its activation link: requests for a free address must not prevent its creation.
    if mail_allowed or created_id is not None:
        # A technical user's password comes from "Exporter les informations de connexion" only (TEC-1): never an
        # activation link, even before that export (its account is then pending too).
        if user.status == AccountStatus.PENDING and user.kind == AccountKind.PERSON:
            _send_activation(user)
        else:
            token = tokens.issue(user, TokenPurpose.RESET)
            queue(user.login_email, "account_exists", user=user,
                  reset_link=absolute_url("accounts.reset_password", token=token),
                  lifetime=current_app.config["RESET_TOKEN_LIFETIME"])
    if created_id is None:
        return None
    events.emit("account.created", actor=None, user_id=created_id, origin=str(origin), extra=extra)
    return user


def create_for_person(actor: User, data: AccountData, **mail) -> User | None:
    """"Créer le compte utilisateur" (USR-4, ACC-3): a manager creates the account of a person they want to
    attach; it is "En cours d'activation", of origin MANAGER, and its activation link goes to the login address.

    Returns None, and neither writes nor mails anything, when the login already has an account: the caller
    gives the same answer either way and invites the owner instead (RAT-6: no account enumeration, nobody
    attached without their consent). `mail`: what the activation mail also tells (see `_send_activation`).
    Call it inside the caller's transaction, which also attaches the new account.
    """
    from ..permissions import can

    if not can(actor, "account.create_for_person"):
        raise AccountError("Seul un gestionnaire de structure peut créer le compte d'une personne.")
    _check_new_person(data)
    with transaction():
        # INSERT ... ON CONFLICT DO NOTHING: a login taken meanwhile by another request is "already exists" too.
        created_id = db.session.execute(
            insert_ignore(User, _new_user_values(data, AccountOrigin.MANAGER), ["login_email"]).returning(User.id)
        ).scalar_one_or_none()
        if created_id is None:
            return None
        user = db.session.get(User, created_id)
        _send_activation(user, **mail)
        events.emit("account.created", actor=actor, user_id=user.id, origin=str(AccountOrigin.MANAGER), extra={})
    return user


def usable_link(token: str, purpose: TokenPurpose):
    """The token row of a link a person may follow (activation of a pending account, reset of an active one), or
    None. A technical user's password comes from its export only (TEC-1): no link ever works for it."""
    row = tokens.find_valid(token, purpose)
    wanted = AccountStatus.PENDING if purpose == TokenPurpose.ACTIVATION else AccountStatus.ACTIVE
    if row is None or row.user.kind != AccountKind.PERSON or row.user.status != wanted:
        return None
    return row


def activate(token: str, password: str) -> User:
    """Follow the activation link: choose a password, the account becomes "Actif" (ACC-2)."""
    with transaction():
        row = usable_link(token, TokenPurpose.ACTIVATION)
        if row is None:
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
    device: str | None = None  # after a success: the device cookie to give the browser


GENERIC_LOGIN_ERROR = "Adresse de connexion ou mot de passe incorrect."
THROTTLED_LOGIN_ERROR = "Trop de tentatives de connexion. Réessayez dans quelques minutes."


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="chorus-device")


def _trusted_device(device: str | None, login: str) -> str | None:
    """The id of a device cookie given to `login` at a successful login, or None (an untrusted client)."""
    if not device or len(device) > 300:
        return None
    try:
        data = _device_serializer().loads(
            device, max_age=current_app.config["DEVICE_COOKIE_LIFETIME"].total_seconds())
    except BadData:
        return None
    if not isinstance(data, list) or len(data) != 2 or data[0] != login:
        return None
    return str(data[1])[:40]


def _alert_owner(login: str) -> None:
    user = find_by_login(login)
    if user is not None and user.kind == AccountKind.PERSON and user.status == AccountStatus.ACTIVE:
        queue(user.login_email, "login_attempts", user=user, window=current_app.config["LOGIN_WINDOW"],
              reset_link=absolute_url("accounts.forgot_password"))


def log_in(email: str, password: str, address: str, device: str | None = None) -> LoginResult:
    """Check the credentials and open a session (ACC-7: throttled before any hashing).

    Each attempt is counted first, atomically; a success takes its count back. A stranger must not lock the
    owner out (ASVS 6.1.1, P6-2), so failures count per account AND address, or per trusted device (`device`:
    the cookie given at a previous success on this browser); untrusted clients together have a larger
    allowance per account, which slows a guessing attack spread over many addresses without stopping the
    owner's own devices, and the owner is mailed when it is being used up. The per-address limit stays.
    The hash is verified outside any write lock. An unknown account and a wrong password get the same answer
    and cost the same time.
    """
    c = current_app.config
    window = c["LOGIN_WINDOW"]
    login = normalize_email(email)
    device_id = _trusted_device(device, login)
    if device_id:
        limits = {f"login:device:{device_id}": c["LOGIN_MAX_FAILURES_PER_ACCOUNT"]}
    else:
        limits = {f"login:account:{login}:address:{address}": c["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
                  f"login:account:{login}": c["LOGIN_MAX_FAILURES_PER_ACCOUNT_UNTRUSTED"]}
    address_key = f"login:address:{address}"
    with transaction():
        counts = {key: throttle.hit(key, window) for key in limits}
        per_address = throttle.hit(address_key, window)
        if not device_id and counts[f"login:account:{login}"] == c["LOGIN_ALERT_AFTER"]:
            _alert_owner(login)
    if any(counts[key] > limit for key, limit in limits.items()) or per_address > c["LOGIN_MAX_FAILURES_PER_ADDRESS"]:
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
        for key in limits:
            throttle.clear(key)
        throttle.forgive(address_key)
        user = db.session.get(User, user_id)
        if new_hash:
            user.password_hash = new_hash
        sessions.start(user)
        events.emit("account.logged_in", actor=user, user_id=user.id)
    # This browser is now a trusted device of the account (a new id at each success).
    return LoginResult(user=user, device=_device_serializer().dumps([login, secrets.token_urlsafe(16)]))


def log_out(user: User) -> None:
    with transaction():
        sessions.end()


def request_password_reset(email: str, address: str) -> None:
    """"Mot de passe oublié": mail a reset link if the account exists; the answer never says.

    Both cases do the same work (P6-7: timing told them apart): one link issued and one mail queued, a reset
    link for an active person, a new activation link for a pending one, and otherwise a mail saying that
    this address has no account to reset (with a link that opens nothing). Mails per recipient are limited
    too (P6-8).
    """
    login = normalize_email(email)
    with transaction():
        if not _mail_budget_left(address):
            raise AccountError(TOO_MANY_MAIL_REQUESTS)
        if not _recipient_budget_left(login):
            return
        user = find_by_login(login)
        person = user is not None and user.kind == AccountKind.PERSON
        if person and user.status == AccountStatus.PENDING:
            _send_activation(user)
        elif person and user.status == AccountStatus.ACTIVE:
            token = tokens.issue(user, TokenPurpose.RESET)
            # To the login address, proven at activation: changing the contact address cannot divert it.
            queue(user.login_email, "password_reset", user=user,
                  link=absolute_url("accounts.reset_password", token=token),
                  lifetime=current_app.config["RESET_TOKEN_LIFETIME"])
        else:
            tokens.issue(None, TokenPurpose.RESET)
            queue(login, "password_reset_unavailable", user=user, address=login,
                  register_link=absolute_url("accounts.register"))


def reset_password(token: str, password: str) -> User:
    with transaction():
        row = usable_link(token, TokenPurpose.RESET)
        if row is None:
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
                   phone: str) -> dict:
    """"Mon compte": a person edits their own information; or a manager edits a person of their structures
    (SPEC USR-3, the vote `account.edit`). The login e-mail is never changed here. Returns the changes
    ({field: (before, after)}).

    A manager's change is mailed to the person (the new contact address); a changed contact address is
    announced to the previous one, which is how a stolen session or a mistaken manager shows."""
    from ..permissions import can

    if not can(actor, "account.edit", target):
        raise AccountError("Vous ne pouvez pas modifier ce compte.")
    _check_person(last_name=last_name, first_name=first_name, emails={"contact_email": contact_email.strip()},
                  phone=phone)
    by_manager = actor.id != target.id
    with transaction():
        changes = {}
        for name, value in (("last_name", last_name.strip()), ("first_name", first_name.strip()),
                            ("contact_email", normalize_email(contact_email)), ("phone", phone.strip())):
            if getattr(target, name) != value:
                changes[name] = (getattr(target, name), value)
                setattr(target, name, value)
        if "contact_email" in changes:
            queue(changes["contact_email"][0], "contact_changed", user=target, new=changes["contact_email"][1],
                  by=actor if by_manager else None)
        if changes and by_manager:
            queue(target.contact_email, "account_updated_by_manager", user=target, by=actor,
                  fields=[PROFILE_LABELS[name] for name in changes])
        if changes:
            events.emit("account.updated", actor=actor, user_id=target.id, changes=changes)
    return changes


# The fields of update_profile(), as the person reads them in an e-mail or a history entry.
PROFILE_LABELS = {"last_name": "nom", "first_name": "prénom", "contact_email": "adresse de contact",
                  "phone": "téléphone"}


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

