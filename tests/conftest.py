"""Fixtures: a migrated database per test (SQLite by default, PostgreSQL with CHORUS_TEST_DATABASE_URL),
an app per test with its own plugin manager, a client, and helpers to make accounts and read mails."""
from __future__ import annotations

import os
import re
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from chorus import clock, create_app
from chorus.extensions import db

PASSWORD = "correct horse battery staple"
PG_URL = os.environ.get("CHORUS_TEST_DATABASE_URL", "")


def base_config(database_url: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_DIR": str(tmp_path / "mail"),
        "BASE_URL": "http://localhost",
        "SERVER_NAME": None,
    }


def _migrate(database_url: str, tmp_path) -> None:
    from chorus import migrations

    app = create_app(base_config(database_url, tmp_path))
    with app.app_context():
        migrations.upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory, worker_id):
    """Migrate once per test process; each test then gets a fresh copy (SQLite) or a clean one (PG)."""
    tmp = tmp_path_factory.mktemp("db")
    if PG_URL:
        url = make_url(PG_URL)
        name = f"{url.database}_{worker_id}"
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{url.username}"'))
        admin.dispose()
        worker_url = url.set(database=name).render_as_string(hide_password=False)
        _migrate(worker_url, tmp)
        return worker_url
    path = tmp / "template.sqlite3"
    _migrate(f"sqlite:///{path}", tmp)
    return str(path)


@pytest.fixture
def database_url(template_database, tmp_path):
    if PG_URL:
        engine = create_engine(template_database)
        with engine.begin() as conn:
            tables = conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )).scalars().all()
            if tables:
                conn.execute(text("SET session_replication_role = replica"))  # append-only triggers off
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return template_database
    target = tmp_path / "chorus.sqlite3"
    src, dst = sqlite3.connect(template_database), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{target}"


class CSRFClient(FlaskClient):
    """A test client that sends a valid CSRF token with every form, as a browser would.

    `csrf=False` sends none (to test the refusal); the token is made the way Flask-WTF makes it.
    """

    def open(self, *args, **kwargs):
        send_token = kwargs.pop("csrf", True)
        method = kwargs.get("method", "GET").upper()
        if send_token and method not in ("GET", "HEAD", "OPTIONS") and "json" not in kwargs:
            data = kwargs.setdefault("data", {})
            if isinstance(data, dict) and "csrf_token" not in data:
                data["csrf_token"] = self.csrf_token()
        # A fresh app context per request, as in production: its own `g` and database session,
        # even though the test itself holds an app context to query the database.
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", os.urandom(20).hex())
        serializer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw)


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app on the test database; extra config (plugins...) as keyword arguments."""
    apps = []

    def factory(**overrides):
        config = base_config(database_url, tmp_path)
        config.update(overrides)
        application = create_app(config)
        application.test_client_class = CSRFClient
        apps.append(application)
        return application

    yield factory
    for application in apps:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    application = make_app()
    with application.app_context():
        yield application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def travel():
    return lambda **kw: clock.travel(timedelta(**kw))


# ------------------------------------------------------------------ helpers


class Accounts:
    """Make accounts and log them in through the real screens."""

    def __init__(self, app):
        self.app = app

    def create(self, email="agent@mairie.example", *, last_name="Martin", first_name="Claire", password=PASSWORD,
               is_admin=False, status="active", kind="person"):
        from chorus.accounts.models import User
        from chorus.accounts.passwords import hash_password
        from chorus.database import transaction

        with transaction():
            now = clock.now()
            user = User(last_name=last_name, first_name=first_name, login_email=email.lower(),
                        contact_email=email.lower(), phone="", status=status, kind=kind, origin="self",
                        is_pigp=False, is_admin=is_admin,
                        password_hash=hash_password(password) if password else None,
                        created_at=now, activated_at=now if status == "active" else None)
            db.session.add(user)
        return user

    def login(self, client, email="agent@mairie.example", password=PASSWORD, **kw):
        response = client.post("/connexion", data={"email": email, "password": password, **kw})
        assert response.status_code == 303, response.get_data(as_text=True)
        return response


@pytest.fixture
def accounts(app):
    return Accounts(app)


@pytest.fixture
def logged_in(client, accounts):
    """A client logged in as an active person without memberships."""
    user = accounts.create()
    accounts.login(client)
    client.user = user
    return client


class Outbox:
    """The e-mails written to the outbox, as a user would read them."""

    def all(self, to=None):
        from chorus.mail.models import OutboxMessage

        db.session.expire_all()
        query = db.select(OutboxMessage).order_by(OutboxMessage.id)
        if to:
            query = query.where(OutboxMessage.to_addr == to)
        return db.session.execute(query).scalars().all()

    def last(self, to=None):
        messages = self.all(to)
        assert messages, f"no e-mail to {to or 'anyone'}"
        return messages[-1]

    def link(self, to=None) -> str:
        """The path of the first link in the last mail to `to`."""
        match = re.search(r"https?://[^/\s]+(/\S+)", self.last(to).body)
        assert match, "no link in the e-mail"
        return match.group(1)


@pytest.fixture
def outbox(app):
    return Outbox()
