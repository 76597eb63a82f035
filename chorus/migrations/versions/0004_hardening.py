"""hardening (P6): identifiers stored normalised; history_entry refuses REPLACE INTO on SQLite; account_token
without a user (a reset link asked for an address that has no account, P6-7)

Revision ID: 0004
Revises: 0003
"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The normalisation of chorus.structures.identifiers as of this revision (a migration keeps its own copy).
_COMPACT_TYPES = {"SIRET", "RIDET", "TAHITI", "UE_HORS_FRANCE"}


def _normalize(identifier_type: str, value: str) -> str:
    value = unicodedata.normalize("NFKC", value or "").strip().upper()
    if identifier_type in _COMPACT_TYPES:
        value = re.sub(r"[\s.\-]", "", value)
    return value


def _normalize_identifiers() -> None:
    """P6-6: before, "１２３…" (full-width digits) passed the checks and was stored as typed. Store every
    identifier in its normalised form; a row whose normalised form is already another structure's is the
    same entity twice: it is left as it is and named in the output, for an administrator to settle."""
    bind = op.get_bind()
    structure = sa.table("structure", sa.column("id", sa.Integer), sa.column("identifier_type", sa.String),
                         sa.column("identifier", sa.String))
    rows = bind.execute(sa.select(structure.c.id, structure.c.identifier_type, structure.c.identifier)).all()
    taken = {(t, i) for _, t, i in rows}
    for row_id, id_type, identifier in rows:
        wanted = _normalize(id_type, identifier)
        if wanted == identifier:
            continue
        if (id_type, wanted) in taken:
            print(f"structure {row_id}: identifier {identifier!r} is {wanted!r}, which another structure has;"
                  " left unchanged (a duplicate to settle by hand)")
            continue
        bind.execute(sa.update(structure).where(structure.c.id == row_id).values(identifier=wanted))
        taken.discard((id_type, identifier))
        taken.add((id_type, wanted))


def upgrade() -> None:
    _normalize_identifiers()
    with op.batch_alter_table("account_token") as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
    if op.get_bind().dialect.name == "sqlite":
        # P6-10: REPLACE INTO (INSERT OR REPLACE) deletes the existing row without firing the DELETE trigger
        # (SQLite fires it only with PRAGMA recursive_triggers). Refuse an insert that reuses an id, whatever
        # its conflict clause. PostgreSQL has no REPLACE, and its ON CONFLICT DO UPDATE fires the UPDATE
        # trigger of revision 0002. A batch migration that recreates history_entry must recreate this one too.
        op.execute("""
            CREATE TRIGGER history_entry_no_replace BEFORE INSERT ON history_entry
            WHEN EXISTS (SELECT 1 FROM history_entry WHERE id = NEW.id)
            BEGIN SELECT RAISE(ABORT, 'history_entry is append-only'); END
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER history_entry_no_replace")
    op.execute("DELETE FROM account_token WHERE user_id IS NULL")
    with op.batch_alter_table("account_token") as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
    # Normalised identifiers are valid in the previous revision too: nothing to undo.
