"""national scale: folded search columns, composite indexes, trigram indexes on PostgreSQL, outbox context

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from chorus.folding import fold

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FOLDED = {"structure": {"designation_folded": ("designation", 200)},
          "user_account": {"last_name_folded": ("last_name", 100), "first_name_folded": ("first_name", 100)}}


def _backfill(table: str, columns: dict) -> None:
    """Fill the folded copies with the application's own fold(), in batches of ids."""
    conn = op.get_bind()
    sources = ", ".join(source for source, _ in columns.values())
    last = 0
    while True:
        rows = conn.execute(sa.text(f"SELECT id, {sources} FROM {table} WHERE id > :last ORDER BY id LIMIT 5000"),
                            {"last": last}).all()
        if not rows:
            return
        assignments = ", ".join(f"{target} = :{target}" for target in columns)
        conn.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE id = :id"),
                     [{"id": row[0], **{target: fold(value) for target, value in zip(columns, row[1:], strict=True)}}
                      for row in rows])
        last = rows[-1][0]


# SQLite's "contains" index: an FTS5 trigram table over the folded designation, kept in step with
# `structure` by triggers. A later revision that copies `structure` (batch mode) drops these
# triggers with the old table: it must call this function again, as 0002's history triggers are.
SQLITE_STRUCTURE_SEARCH = [
    "CREATE VIRTUAL TABLE structure_search USING fts5(designation_folded, content='structure', "
    "content_rowid='id', tokenize='trigram')",
    "INSERT INTO structure_search(structure_search) VALUES ('rebuild')",
    "CREATE TRIGGER structure_search_insert AFTER INSERT ON structure BEGIN "
    "INSERT INTO structure_search(rowid, designation_folded) VALUES (new.id, new.designation_folded); END",
    "CREATE TRIGGER structure_search_delete AFTER DELETE ON structure BEGIN "
    "INSERT INTO structure_search(structure_search, rowid, designation_folded) "
    "VALUES ('delete', old.id, old.designation_folded); END",
    "CREATE TRIGGER structure_search_update AFTER UPDATE OF designation_folded ON structure BEGIN "
    "INSERT INTO structure_search(structure_search, rowid, designation_folded) "
    "VALUES ('delete', old.id, old.designation_folded); "
    "INSERT INTO structure_search(rowid, designation_folded) VALUES (new.id, new.designation_folded); END",
]


def create_sqlite_structure_search() -> None:
    for statement in SQLITE_STRUCTURE_SEARCH:
        op.execute(statement)


def drop_sqlite_structure_search() -> None:
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS structure_search_{trigger}")
    op.execute("DROP TABLE IF EXISTS structure_search")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, columns in FOLDED.items():
        for target, (_source, length) in columns.items():
            # NOT NULL with a server default: SQLite adds it in place, no table copy.
            op.add_column(table, sa.Column(target, sa.String(length), nullable=False, server_default=""))
        _backfill(table, columns)
    op.add_column("outbox_message", sa.Column("context", sa.JSON(), nullable=True))
    op.create_index("ix_structure_designation_folded", "structure", ["designation_folded", "id"])
    op.create_index("ix_user_account_name_folded", "user_account", ["last_name_folded", "first_name_folded", "id"])
    op.create_index("ix_membership_structure_status_created", "membership",
                    ["structure_id", "status", "created_at", "id"])
    op.create_index("ix_membership_structure_role_status_created", "membership",
                    ["structure_id", "role", "status", "created_at", "id"])
    op.create_index("ix_membership_status_created", "membership", ["status", "created_at"])
    op.drop_index("ix_membership_structure_id", table_name="membership")  # the composite indexes start with it
    op.create_index("ix_history_entry_structure_action", "history_entry", ["structure_id", "action", "at"])
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index("ix_structure_designation_trgm", "structure", ["designation_folded"],
                        postgresql_using="gin", postgresql_ops={"designation_folded": "gin_trgm_ops"})
        op.create_index("ix_user_account_last_name_trgm", "user_account", ["last_name_folded"],
                        postgresql_using="gin", postgresql_ops={"last_name_folded": "gin_trgm_ops"})
    else:
        create_sqlite_structure_search()
    op.execute("ANALYZE")  # let the planners know the new indexes' selectivity


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_user_account_last_name_trgm", table_name="user_account")
        op.drop_index("ix_structure_designation_trgm", table_name="structure")
    else:
        drop_sqlite_structure_search()
    op.drop_index("ix_history_entry_structure_action", table_name="history_entry")
    op.create_index("ix_membership_structure_id", "membership", ["structure_id"])
    op.drop_index("ix_membership_status_created", table_name="membership")
    op.drop_index("ix_membership_structure_role_status_created", table_name="membership")
    op.drop_index("ix_membership_structure_status_created", table_name="membership")
    op.drop_index("ix_user_account_name_folded", table_name="user_account")
    op.drop_index("ix_structure_designation_folded", table_name="structure")
    op.execute("ALTER TABLE outbox_message DROP COLUMN context")
    for table, columns in FOLDED.items():
        for target in columns:
            # In place on both databases (SQLite >= 3.35): a batch copy could not drop the table
            # that other tables' rows refer to.
            op.execute(f"ALTER TABLE {table} DROP COLUMN {target}")
