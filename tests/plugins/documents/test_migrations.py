"""The documents branch of the migrations: down and up again on a populated database (SQLite and PostgreSQL)."""
from __future__ import annotations

from documents_samples import pdf, upload
from sqlalchemy import inspect as sa_inspect

from chorus import migrations
from chorus.extensions import db
from helpers import core_row_counts


def test_the_documents_branch_goes_down_and_up_again_leaving_the_core_as_it_was(world):
    assert upload(world.manager, world.base, pdf(), "a.pdf").status_code == 303

    db.session.remove()
    before = core_row_counts()
    migrations.downgrade("documents@base")
    tables = set(sa_inspect(db.engine).get_table_names())
    assert {"document", "document_chunk"} & tables == set()
    assert core_row_counts() == before
    migrations.upgrade()
    assert {"document", "document_chunk"} <= set(sa_inspect(db.engine).get_table_names())
    assert core_row_counts() == before
    # The revision depends on the core's structures (0002), and the branch can be added to an existing database.
    assert upload(world.manager, world.base, pdf(), "b.pdf").status_code == 303
