"""The database layer: SQLite's locking discipline, no write in a GET, migrations matching models."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Blueprint
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text

from chorus import migrations
from chorus.accounts import throttle
from chorus.accounts.models import ThrottleCounter, User
from chorus.database import transaction
from chorus.extensions import db
from chorus.hookspecs import hookimpl


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite settings")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_concurrent_read_then_write_transactions_all_succeed(app):
    """Threads that read then write the same row: with BEGIN IMMEDIATE none fails with "locked"."""
    threads, per_thread = 6, 15
    errors = []
    window = timedelta(hours=1)

    def worker():
        with app.app_context():
            for _ in range(per_thread):
                try:
                    with transaction():
                        throttle.count("essai", window)  # read first, as real requests do
                        throttle.hit("essai", window)
                except Exception as e:  # pragma: no cover - the failure this test guards against
                    errors.append(repr(e))
            db.session.remove()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    db.session.expire_all()
    assert db.session.get(ThrottleCounter, "essai").count == threads * per_thread


def test_a_get_request_cannot_write(make_app, accounts, caplog):
    bp = Blueprint("writes_in_get", __name__)

    @bp.get("/ecrit")
    def writes():
        user = db.session.execute(select(User)).scalar_one()
        user.first_name = "Modifié"
        db.session.commit()
        return "écrit"

    class Plugin:
        @hookimpl
        def register_blueprints(self):
            return [bp]

    application = make_app(EXTRA_PLUGINS=[Plugin()])
    with application.app_context():
        accounts.create(first_name="Claire")
        client = application.test_client()
        accounts.login(client)
        response = client.get("/ecrit")
        assert response.status_code == 500
        assert "Erreur interne" in response.get_data(as_text=True)
        assert "Traceback" not in response.get_data(as_text=True)
        assert "write attempted during GET" in caplog.text
        db.session.expire_all()
        assert db.session.execute(select(User.first_name)).scalar_one() == "Claire"


def test_models_and_migrations_agree(app):
    """A model changed without its Alembic revision fails here."""
    with db.engine.connect() as conn:
        opts = {"compare_type": True, "include_object": migrations.include_object}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), db.metadata)
    assert diff == []


def test_migrations_downgrade_and_upgrade_again_on_a_populated_database(app, accounts):
    accounts.create()
    db.session.remove()
    migrations.downgrade("base")
    assert "user_account" not in sa_inspect(db.engine).get_table_names()
    migrations.upgrade()
    tables = set(sa_inspect(db.engine).get_table_names())
    assert {"user_account", "user_session", "account_token", "outbox_message", "throttle_counter"} <= tables
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM user_account")).scalar() == 0


def test_revision_0005_fills_the_folded_search_columns_of_existing_rows(app, accounts):
    from helpers import make_structure

    owner = accounts.create("gerant@ecole.example", last_name="Lefèvre", first_name="Élodie")
    make_structure(owner, "École  Saint-Œuvre")
    db.session.remove()
    migrations.downgrade("0003")
    assert "designation_folded" not in {c["name"] for c in sa_inspect(db.engine).get_columns("structure")}
    migrations.upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT designation_folded FROM structure")).scalar() == "ecole saint-oeuvre"
        assert conn.execute(text("SELECT last_name_folded, first_name_folded FROM user_account")).one() == (
            "lefevre", "elodie")
