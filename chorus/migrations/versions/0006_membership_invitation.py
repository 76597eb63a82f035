"""membership_invitation: a manager invites a person not yet linked to their structures (SPEC RAT-6)

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import chorus.database

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "membership_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("structure_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", chorus.database.UTCDateTime(), nullable=False),
        sa.Column("expires_at", chorus.database.UTCDateTime(), nullable=False),
        sa.Column("answered_at", chorus.database.UTCDateTime(), nullable=True),
        sa.Column("membership_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["invited_by_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["membership_id"], ["membership.id"]),
        sa.ForeignKeyConstraint(["structure_id"], ["structure.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_membership_invitation_email", "membership_invitation", ["email"])
    op.create_index("ix_membership_invitation_structure_id", "membership_invitation", ["structure_id"])


def downgrade() -> None:
    op.drop_index("ix_membership_invitation_structure_id", table_name="membership_invitation")
    op.drop_index("ix_membership_invitation_email", table_name="membership_invitation")
    op.drop_table("membership_invitation")
