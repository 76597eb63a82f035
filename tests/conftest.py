"""Fixtures: a migrated database per test (SQLite by default, PostgreSQL with CHORUS_TEST_DATABASE_URL),
an app per test with its own plugin manager, a client, and helpers to make accounts and read mails."""
from __future__ import annotations

import os
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from chorus import clock, create_app
from chorus.extensions import db
from helpers import Accounts, CSRFClient, Outbox, disabled_plugins

PG_URL = os.environ.get("CHORUS_TEST_DATABASE_URL", "")
# CHORUS_TEST_DISABLED_PLUGINS ("all" or a comma-separated list) runs with feature plugins switched off, to show
# that the core works without them (scripts/test.sh does a run so); their own tests (tests/plugins/) are left out.


def base_config(database_url: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_DIR": str(tmp_path / "mail"),
        "BASE_URL": "http://localhost",
        "SERVER_NAME": None,
        "DISABLED_PLUGINS": disabled_plugins(),
    }


def pytest_ignore_collect(collection_path, config):
    """Leave out a plugin's own tests (tests/plugins/<name>/) when that plugin is switched off for the run.

    Not collected rather than skipped: importing them would import the plugin's models, whose tables would then
    be in the metadata of a run without the plugin's migrations (tests/test_database.py compares the two).
    """
    off = {name.rsplit(".", 1)[-1] for name in disabled_plugins()}
    parts = collection_path.parts
    if "plugins" in parts and parts.index("plugins") + 1 < len(parts) and parts[parts.index("plugins") - 1] == "tests":
        return parts[parts.index("plugins") + 1] in off or None
    return None


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


@pytest.fixture
def accounts():
    """Uses whichever app context is current: `app`'s, or one a test pushed for an app of its own."""
    return Accounts()


@pytest.fixture
def logged_in(client, accounts):
    """A client logged in as an active person without memberships."""
    user = accounts.create()
    accounts.login(client)
    client.user = user
    return client


@pytest.fixture
def outbox(app):
    return Outbox()
