"""documents of the structure record (SPEC DOC-1..4): metadata and content in chunks

Revision ID: d001
Revises:
Depends on: 0002 (structure, user_account)
"""
import sqlalchemy as sa
from alembic import op

import chorus.database

revision = "d001"
down_revision = None
branch_labels = ("documents",)
depends_on = "0002"


def upgrade() -> None:
    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("structure_id", sa.Integer(), nullable=False),
        sa.Column("designation", sa.String(length=200), nullable=False),
        sa.Column("type_code", sa.String(length=40), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", chorus.database.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["structure_id"], ["structure.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_document_structure_created", "document", ["structure_id", "created_at", "id"])
    op.create_table(
        "document_chunk",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("document_chunk")
    op.drop_index("ix_document_structure_created", table_name="document")
    op.drop_table("document")
