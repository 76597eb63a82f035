"""Test helpers shared by every test module (import them with `from helpers import ...`)."""
from __future__ import annotations

import html
import os
import re

from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from chorus import clock
from chorus.extensions import db

PASSWORD = "correct horse battery staple"


def page(response) -> str:
    """The response's HTML with entities decoded (d&#39;activation → d'activation)."""
    return html.unescape(response.get_data(as_text=True))


def without_tokens(text: str) -> str:
    """A page without its CSRF tokens, which carry the second they were made in: two pages compared."""
    return re.sub(r'("X-CSRFToken": "|name="csrf_token" value=")[^"]+', r"\1", text)


class CSRFClient(FlaskClient):
    """A test client that sends a valid CSRF token with every form, as a browser would.

    `csrf=False` sends none (to test the refusal); the token is made the way Flask-WTF makes it.
    """

    def open(self, *args, **kwargs):
        send_token = kwargs.pop("csrf", True)
        method = kwargs.get("method", "GET").upper()
        if send_token and method not in ("GET", "HEAD", "OPTIONS") and "json" not in kwargs:
            data = kwargs.get("data") or {}
            if isinstance(data, dict) and "csrf_token" not in data:
                kwargs["data"] = {**data, "csrf_token": self.csrf_token()}  # a copy: callers reuse their dicts
        # A fresh app context per request, as in production: its own `g` and database session,
        # even though the test itself holds an app context to query the database.
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", os.urandom(20).hex())
        serializer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw)


class Accounts:
    """Make accounts (in the current app context) and log them in through the real screens."""

    def create(self, email="agent@mairie.example", *, last_name="Martin", first_name="Claire", password=PASSWORD,
               is_admin=False, status="active", kind="person", contact_email=None):
        """An account; its contact address differs from its login address unless said otherwise, so that a
        mail sent to the wrong one is caught (NOT-1: links to the login address, the rest to the contact)."""
        from chorus.accounts.models import User
        from chorus.accounts.passwords import hash_password
        from chorus.database import transaction

        with transaction():
            now = clock.now()
            user = User(last_name=last_name, first_name=first_name, login_email=email.lower(),
                        contact_email=(contact_email or contact_address(email)).lower(), phone="", status=status,
                        kind=kind, origin="self",
                        is_pigp=False, is_admin=is_admin,
                        password_hash=hash_password(password) if password else None,
                        created_at=now, activated_at=now if status == "active" else None)
            db.session.add(user)
        return user

    def login(self, client, email="agent@mairie.example", password=PASSWORD, **kw):
        response = client.post("/connexion", data={"email": email, "password": password, **kw})
        assert response.status_code == 303, response.get_data(as_text=True)
        return response


def disabled_plugins(*more: str) -> list[str]:
    """The feature plugins switched off for this run (CHORUS_TEST_DISABLED_PLUGINS), and `more` besides: a test
    that switches one plugin off must not switch on one the run left off (its tables are not in the database)."""
    from chorus.config import Defaults

    value = os.environ.get("CHORUS_TEST_DISABLED_PLUGINS", "")
    names = list(Defaults.PLUGINS) if value == "all" else [n.strip() for n in value.split(",") if n.strip()]
    return names + [n for n in more if n not in names]


def contact_address(login_email: str) -> str:
    """The contact address the test accounts get by default: another mailbox than the login's."""
    local, _, domain = login_email.partition("@")
    return f"{local}.contact@{domain}"


def core_row_counts() -> dict[str, int]:
    """Rows of the core's main tables, read on a connection of its own (a plugin's migration branch, going down
    and up again, must leave them as they were)."""
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("user_account", "structure", "membership", "history_entry")}


def fresh():
    """End the test's own read transaction, so that the next query sees what requests committed."""
    db.session.rollback()


def _as_sent(message):
    """A mail queued in bulk (rendered by the sender) reads here as it will be sent."""
    from types import SimpleNamespace

    from chorus.mail.outbox import rendered

    if message.context is None:
        return message
    values = {c.key: getattr(message, c.key) for c in message.__table__.columns}
    values["subject"], values["body"] = rendered(message)
    return SimpleNamespace(**values)


class Outbox:
    """The e-mails written to the outbox, as a user would read them."""

    def all(self, to=None):
        from chorus.mail.models import OutboxMessage

        fresh()
        query = db.select(OutboxMessage).order_by(OutboxMessage.id)
        if to:
            query = query.where(OutboxMessage.to_addr == to)
        return [_as_sent(m) for m in db.session.execute(query).scalars().all()]

    def last(self, to=None):
        messages = self.all(to)
        assert messages, f"no e-mail to {to or 'anyone'}"
        return messages[-1]

    def link(self, to=None) -> str:
        """The path of the first link in the last mail to `to`."""
        match = re.search(r"https?://[^/\s]+(/\S+)", self.last(to).body)
        assert match, "no link in the e-mail"
        return match.group(1)


SIRETS = iter(f"{n:08d}" for n in range(10_000_000, 99_999_999, 7_919))


def new_siret() -> str:
    """A fresh valid SIRET for each call."""
    from chorus.structures.identifiers import make_siret

    return make_siret(next(SIRETS), "0001")


def make_structure(owner, designation="Atelier Test", *, public=False, admin=None, category="collectivite",
                   siret=None, **fields):
    """A structure made through the services: private (owner = creator = primary manager), or public
    (made by `admin`, owner named primary manager)."""
    from chorus.structures import services

    data = services.StructureData("SIRET", siret or new_siret(), designation, fields.pop("address", "1 rue Test"),
                                  {"postal_code": "56000", "city": "Vannes", "country_code": "FR", **fields})
    if public:
        return services.create_public(admin, data, category, owner.login_email)
    return services.create_private(owner, data)


def attach(structure, user, role="member", status="validated"):
    """A membership written directly (the memberships services come with their own tests)."""
    from chorus.database import transaction
    from chorus.memberships.models import Membership

    with transaction():
        now = clock.now()
        membership = Membership(user_id=user.id, structure_id=structure.id, role=role, status=status, comment="",
                                decision_reason="", start_date=clock.today(), created_at=now)
        db.session.add(membership)
    return membership


def many_requests(structure, n, tag="masse"):
    """n new people with a pending request each to `structure`, written in bulk; returns their ids.

    For the bulk tests and the benchmark: thousands of rows without thousands of service calls.
    """
    from sqlalchemy import insert, select

    from chorus.accounts.models import User
    from chorus.database import transaction
    from chorus.memberships.models import Membership

    now = clock.now()
    domain = f"@{tag}.example"
    with transaction():
        db.session.execute(insert(User), [
            {"last_name": f"Demandeur{i:05d}", "first_name": "Agent", "login_email": f"d{i}{domain}",
             "contact_email": f"d{i}{domain}", "phone": "", "status": "active", "kind": "person",
             "origin": "self", "is_pigp": False, "is_admin": False, "created_at": now} for i in range(n)])
        user_ids = select(User.id).where(User.login_email.like(f"%{domain}"))
        db.session.execute(insert(Membership), [
            {"user_id": uid, "structure_id": structure.id, "role": "member", "status": "pending", "comment": "",
             "decision_reason": "", "created_at": now}
            for uid in db.session.execute(user_ids).scalars()])
    return db.session.execute(select(Membership.id).where(
        Membership.status == "pending", Membership.user_id.in_(user_ids))).scalars().all()
