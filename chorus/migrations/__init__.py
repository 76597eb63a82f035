"""Alembic, configured from code: the core's revisions plus every plugin's (register_migrations)."""
from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import current_app

from ..plugins import collect, hook

HERE = Path(__file__).parent


# Tables the models do not declare: SQLite's FTS5 "contains" index of structures and its shadow
# tables (revision 0005), kept by triggers.
UNMODELLED_TABLES = ("structure_search",)

# Columns of core tables the core's models no longer declare, whose data a plugin's revision adopts (copies into
# its own tables, then drops the column): until that plugin is installed the column stays, unused, so that nothing
# is lost. (table, column): the spaces plugin's sp001 takes membership.granted_spaces (core revision 0003).
ADOPTED_COLUMNS = {("membership", "granted_spaces")}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate's filter: an index declared for one dialect only (`Index.ddl_if(dialect=...)`,
    e.g. PostgreSQL's trigram indexes) is not expected on the others; SQLite's FTS5 tables are not
    modelled."""
    if type_ == "table" and reflected and name.startswith(UNMODELLED_TABLES):
        return False
    if type_ == "column" and reflected and compare_to is None and (obj.table.name, name) in ADOPTED_COLUMNS:
        return False
    ddl_if = getattr(obj, "_ddl_if", None)
    if type_ == "index" and not reflected and ddl_if is not None and ddl_if.dialect:
        from ..extensions import db

        dialects = {ddl_if.dialect} if isinstance(ddl_if.dialect, str) else set(ddl_if.dialect)
        return db.engine.dialect.name in dialects
    return True


def alembic_config(app=None) -> Config:
    app = app or current_app
    locations = [str(Path(p)) for p in collect(hook(app).register_migrations())]
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    cfg.attributes["flask_app"] = app
    return cfg


def upgrade(revision: str = "heads", app=None) -> None:
    """Apply the revisions up to `revision`. On SQLite, a database that already held rows is then analysed:
    the indexes just created have no statistics, and without them SQLite may plan a scan and a sort of a
    million rows where an index serves them (bench/REPORT.md, P11 CSV export: 34 s instead of 14 s).
    PostgreSQL's autovacuum gathers its statistics by itself; a new, empty database has nothing to analyse."""
    from ..database import is_sqlite
    from ..extensions import db

    held_rows = is_sqlite() and _holds_rows(db.engine)
    before = _heads(db.engine)
    command.upgrade(alembic_config(app), revision)
    if held_rows and _heads(db.engine) != before:  # something was applied (not at every start)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def _heads(engine) -> set[str]:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def _holds_rows(engine) -> bool:
    from sqlalchemy import inspect, text

    if "membership" not in inspect(engine).get_table_names():
        return False
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1 FROM membership LIMIT 1")).first() is not None


def downgrade(revision: str, app=None) -> None:
    command.downgrade(alembic_config(app), revision)


def revision(message: str, head: str = "core@head", version_path: str | None = None, app=None) -> None:
    command.revision(alembic_config(app), message=message, autogenerate=True, head=head,
                     version_path=version_path)
