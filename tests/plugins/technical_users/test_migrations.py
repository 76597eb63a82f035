"""The technical users branch of the migrations: down and up again on a populated database (SQLite and PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import inspect as sa_inspect

from chorus import migrations
from chorus.extensions import db
from helpers import core_row_counts, make_structure
from plugins.technical_users import services


def test_the_branch_goes_down_and_up_again_leaving_the_core_as_it_was(app, accounts):
    manager = accounts.create("sophie@commune.example")
    structure = make_structure(manager, "Commune de Saint-Exemple")
    services.create(manager, structure, "si@commune.example")
    manager_id = manager.id

    db.session.remove()
    before = core_row_counts()
    migrations.downgrade("technical_users@base")
    assert "technical_user" not in set(sa_inspect(db.engine).get_table_names())
    assert core_row_counts() == before
    migrations.upgrade()
    assert "technical_user" in set(sa_inspect(db.engine).get_table_names())
    assert core_row_counts() == before
    # The branch can be added to an existing database: a technical user can be created again.
    from chorus.accounts.models import User

    manager = db.session.get(User, manager_id)
    other = make_structure(manager, "Atelier Lemoine")
    assert services.create(manager, other, "si@atelier.example").structure_id == other.id
