"""The database layer: SQLite's locking discipline, no write in a GET, migrations matching models."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Blueprint
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text, update

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


@pytest.mark.parametrize("how", ["orm", "core", "raw"])
def test_a_get_request_cannot_write(make_app, accounts, caplog, how):
    # "GET never writes": an ORM change, a Core update() and raw SQL alike, committed or not.
    bp = Blueprint("writes_in_get", __name__)

    @bp.get("/ecrit")
    def writes():
        if how == "orm":
            user = db.session.execute(select(User)).scalar_one()
            user.first_name = "Modifié"
        elif how == "core":
            db.session.execute(update(User).values(first_name="Modifié"))
        else:
            db.session.execute(text("UPDATE user_account SET first_name = 'Modifié'"))
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
        assert client.head("/ecrit").status_code == 500
        db.session.expire_all()
        assert db.session.execute(select(User.first_name)).scalar_one() == "Claire"


def test_models_and_migrations_agree(app):
    """A model changed without its Alembic revision fails here."""
    with db.engine.connect() as conn:
        opts = {"compare_type": True, "include_object": migrations.include_object}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), db.metadata)
    assert diff == []


def test_migrations_downgrade_to_nothing_and_upgrade_again(app, accounts):
    accounts.create()
    db.session.remove()
    migrations.downgrade("base")
    assert "user_account" not in sa_inspect(db.engine).get_table_names()
    migrations.upgrade()
    tables = set(sa_inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables  # every model's table is back (the data: see the next test)


def test_migrations_carry_accounts_structures_memberships_and_history_down_and_up(app, accounts):
    """Every revision since the structures exist, down one step at a time and up again, keeps the rows."""
    from alembic.script import ScriptDirectory

    from chorus.memberships import services as memberships
    from helpers import make_structure

    owner = accounts.create("sophie@commune.example", last_name="Lemoine")
    requester = accounts.create("lucas@commune.example", last_name="Garnier")
    structure = make_structure(owner, "Commune de Saint-Exemple", city="Vannes")
    memberships.request_membership(requester, structure, comment="Agent comptable")
    from chorus.structures import services as structures

    structures.update(owner, structure, {"city": "Lorient"})
    tables = ("user_account", "structure", "membership", "history_entry")

    def rows():
        with db.engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT * FROM {t} ORDER BY id")).mappings().all() for t in tables}

    def essentials(snapshot):
        # What every revision keeps: who, which structure, which membership, which history entry.
        return {"users": [(r["id"], r["login_email"], r["last_name"]) for r in snapshot["user_account"]],
                "structures": [(r["id"], r["identifier"], r["designation"], r["city"]) for r in snapshot["structure"]],
                "memberships": [(r["id"], r["user_id"], r["structure_id"], r["role"], r["status"], r["comment"])
                                for r in snapshot["membership"]],
                "history": [(r["id"], r["structure_id"], r["action"], r["summary"]) for r in snapshot["history_entry"]]}

    db.session.remove()
    before = essentials(rows())
    assert len(before["users"]) == 2 and len(before["memberships"]) == 2 and len(before["history"]) == 2
    script = ScriptDirectory.from_config(migrations.alembic_config())
    core = [r.revision for r in script.walk_revisions("base", "core@head")][::-1]  # oldest first
    since = core[core.index("0002"):]  # the structures' tables exist from 0002 on
    for revision in reversed(since[:-1]):
        migrations.downgrade(revision)
        assert essentials(rows()) == before, f"down to {revision}"
    for revision in since[1:]:
        migrations.upgrade(revision)
        assert essentials(rows()) == before, f"up to {revision}"
    migrations.upgrade()
    assert essentials(rows()) == before


def test_upgrading_a_sqlite_database_that_holds_rows_analyses_it(app, accounts):
    """New indexes get their statistics at once: without them SQLite sorted a million rows on disk (bench/REPORT.md,
    P11 CSV export)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite statistics (PostgreSQL's autovacuum analyses by itself)")
    from helpers import make_structure

    def statistics():
        with db.engine.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
                return set()
            return {r[0] for r in conn.execute(text("SELECT idx FROM sqlite_stat1"))}

    assert "ix_membership_structure_user" not in statistics()  # the fixture's database was created empty
    make_structure(accounts.create("sophie@commune.example"), "Commune de Saint-Exemple")
    db.session.remove()
    migrations.downgrade("0007")
    migrations.upgrade()
    assert "ix_membership_structure_user" in statistics()
    with db.engine.begin() as conn:  # an upgrade with nothing to apply (each start) leaves the statistics be
        conn.exec_driver_sql("DELETE FROM sqlite_stat1")
    migrations.upgrade()
    assert statistics() == set()


def test_revision_0005_fills_the_folded_search_columns_of_existing_rows(app, accounts):
    from helpers import make_structure

    owner = accounts.create("gerant@ecole.example", last_name="Lefèvre", first_name="Élodie")
    make_structure(owner, "École  Saint-Œuvre")
    db.session.remove()
    migrations.downgrade("0004")
    assert "designation_folded" not in {c["name"] for c in sa_inspect(db.engine).get_columns("structure")}
    migrations.upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT designation_folded FROM structure")).scalar() == "ecole saint-oeuvre"
        assert conn.execute(text("SELECT last_name_folded, first_name_folded FROM user_account")).one() == (
            "lefevre", "elodie")
