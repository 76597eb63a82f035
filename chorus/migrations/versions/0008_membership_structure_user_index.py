"""The people linked to a manager's structures, and their names, from indexes alone

The user search of the attach screen and the check of the person attached read every user id of the
manager's structures (6,000 for a manager of a 5,000-member structure): membership(structure_id, user_id)
gives them without a read of each membership row, and on PostgreSQL user_account(id, kind, status,
last_name_folded, first_name_folded, login_email) lets the search test each one without a read of each
account's row (an index-only scan; SQLite reads rows by rowid whatever the indexes).

Revision ID: 0008
Revises: 0007
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_membership_structure_user", "membership", ["structure_id", "user_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_user_account_search", "user_account",
                        ["id", "kind", "status", "last_name_folded", "first_name_folded", "login_email"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_user_account_search", table_name="user_account")
    op.drop_index("ix_membership_structure_user", table_name="membership")
