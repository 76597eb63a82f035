"""membership(structure_id, user_id): the people linked to a manager's structures from the index alone

The user search of the attach screen and the check of the person attached read every user id of the
manager's structures (6,000 for a manager of a 5,000-member structure); without this index each one
was a read of the membership row.

Revision ID: 0011
Revises: 0006
"""
from alembic import op

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_membership_structure_user", "membership", ["structure_id", "user_id"])


def downgrade() -> None:
    op.drop_index("ix_membership_structure_user", table_name="membership")
