"""technical users (SPEC TEC-1..3): which structure each serves, its password's dates, its credentials' export

Revision ID: t001
Revises: -
Depends on: 0002 (structure, user_account)
"""
import sqlalchemy as sa
from alembic import op

import chorus.database

revision = "t001"
down_revision = None
branch_labels = ("technical_users",)
depends_on = "0002"


def upgrade() -> None:
    op.create_table(
        "technical_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("structure_id", sa.Integer(), nullable=False),
        sa.Column("created_at", chorus.database.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("credentials_exported_at", chorus.database.UTCDateTime(), nullable=True),
        sa.Column("password_set_at", chorus.database.UTCDateTime(), nullable=True),
        sa.Column("password_expires_at", chorus.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["structure_id"], ["structure.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
        sa.UniqueConstraint("structure_id"),
    )


def downgrade() -> None:
    op.drop_table("technical_user")
