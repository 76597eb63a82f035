"""structure.predecessor_id: the structure a change of identifier duplicated (SPEC SIR-2, SIR-4)

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: no batch copy of `structure` (other tables refer to it, and its FTS5
    # search triggers of revision 0005 would be lost). Alembic's SQLite dialect cannot add the constraint
    # separately; SQLite takes it in the column's definition when the default is NULL.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE structure ADD COLUMN predecessor_id INTEGER "
                   "CONSTRAINT fk_structure_predecessor_id_structure REFERENCES structure (id)")
    else:
        op.add_column("structure", sa.Column("predecessor_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_structure_predecessor_id_structure", "structure", "structure",
                              ["predecessor_id"], ["id"])
    op.create_index("uq_structure_predecessor", "structure", ["predecessor_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_structure_predecessor", table_name="structure")
    # In place on both databases (SQLite >= 3.35): a batch copy could not drop the table other tables refer to.
    op.execute("ALTER TABLE structure DROP COLUMN predecessor_id")
