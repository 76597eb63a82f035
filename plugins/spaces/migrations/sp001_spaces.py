"""spaces: subscriptions to spaces (SPEC ABO, ESP-2, ESP-3); takes over the core's membership.granted_spaces

The core kept the codes of the spaces granted with a membership in membership.granted_spaces (revision 0003).
This revision copies them into space_subscription (validated, with modification) and then drops the column:
the copy and the drop are one step of one branch, so the data is never lost, whatever order the branches run
in. Until this plugin is installed the core leaves the column in place, unused (the models no longer declare
it: chorus.migrations.ADOPTED_COLUMNS). Validated memberships that had no space (nothing granted them before
this module) get the defaults of SPEC ESP-2 now. The downgrade puts the column back with the codes granted by
default.

Revision ID: sp001
Revises: -
Depends on: 0003 (membership.granted_spaces)
"""
import json

import sqlalchemy as sa
from alembic import op

import chorus.database

revision = "sp001"
down_revision = None
branch_labels = ("spaces",)
depends_on = "0003"

# As of this revision (the application's catalogue may move on): SPEC ESP-2.
DEFAULTS_ALL = ["SOLLICITATIONS_EMISES"]
DEFAULTS_PUBLIC = ["SOLLICITATIONS_EMISES", "SOLLICITATIONS_RECUES", "FACTURES_EMISES", "FACTURES_RECUES"]
CHUNK = 5000


def upgrade() -> None:
    op.create_table(
        "subscription_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("structure_id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("origin", sa.String(length=12), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("manager_comment", sa.Text(), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("created_at", chorus.database.UTCDateTime(), nullable=False),
        sa.Column("decided_at", chorus.database.UTCDateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["structure_id"], ["structure.id"]),
        sa.ForeignKeyConstraint(["membership_id"], ["membership.id"]),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subscription_request_structure_status", "subscription_request",
                    ["structure_id", "status", "created_at", "id"])
    op.create_index("ix_subscription_request_user", "subscription_request", ["user_id", "status"])
    subscription = op.create_table(
        "space_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("structure_id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("space_code", sa.String(length=40), nullable=False),
        sa.Column("unit_id", sa.String(length=40), nullable=False),
        sa.Column("unit_label", sa.String(length=200), nullable=False),
        sa.Column("right", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("origin", sa.String(length=12), nullable=False),
        sa.Column("created_at", chorus.database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", chorus.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["structure_id"], ["structure.id"]),
        sa.ForeignKeyConstraint(["membership_id"], ["membership.id"]),
        sa.ForeignKeyConstraint(["request_id"], ["subscription_request.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_space_subscription_user_status", "space_subscription", ["user_id", "status"])
    op.create_index("ix_space_subscription_membership", "space_subscription", ["membership_id"])
    op.create_index("ix_space_subscription_request", "space_subscription", ["request_id"])
    op.create_table(
        "structure_space",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("structure_id", sa.Integer(), nullable=False),
        sa.Column("space_code", sa.String(length=40), nullable=False),
        sa.Column("unit_id", sa.String(length=40), nullable=False),
        sa.Column("unit_label", sa.String(length=200), nullable=False),
        sa.Column("right", sa.String(length=12), nullable=False),
        sa.Column("created_at", chorus.database.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["structure_id"], ["structure.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("structure_id", "space_code", "unit_id", name="uq_structure_space"),
    )
    _copy_granted_spaces(subscription)
    # Native DROP COLUMN on both (SQLite >= 3.35): no copy of the membership table and its partial indexes.
    op.execute("ALTER TABLE membership DROP COLUMN granted_spaces")


def _copy_granted_spaces(subscription) -> None:
    conn = op.get_bind()
    membership = sa.table("membership", sa.column("id", sa.Integer), sa.column("user_id", sa.Integer),
                          sa.column("structure_id", sa.Integer), sa.column("status", sa.String),
                          sa.column("created_at", chorus.database.UTCDateTime()),
                          sa.column("granted_spaces", sa.JSON))
    structure = sa.table("structure", sa.column("id", sa.Integer), sa.column("kind", sa.String))
    last = 0
    while True:  # in chunks: a national directory has about a million memberships
        rows = conn.execute(
            sa.select(membership.c.id, membership.c.user_id, membership.c.structure_id, membership.c.status,
                      membership.c.created_at, membership.c.granted_spaces, structure.c.kind)
            .join(structure, structure.c.id == membership.c.structure_id)
            .where(membership.c.id > last).order_by(membership.c.id).limit(CHUNK)).all()
        if not rows:
            break
        lines = []
        for mid, uid, sid, status, created, granted, kind in rows:
            codes = json.loads(granted) if isinstance(granted, str) else list(granted or [])
            if not codes and status == "validated":
                codes = DEFAULTS_PUBLIC if kind == "public" else DEFAULTS_ALL
            lines += [{"user_id": uid, "structure_id": sid, "membership_id": mid, "request_id": None,
                       "space_code": code, "unit_id": "", "unit_label": "", "right": "modification",
                       "status": "validated", "origin": "default", "created_at": created, "updated_at": created}
                      for code in dict.fromkeys(codes)]
        if lines:
            op.bulk_insert(subscription, lines)
        last = rows[-1][0]


def downgrade() -> None:
    op.add_column("membership", sa.Column("granted_spaces", sa.JSON(), nullable=False, server_default="[]"))
    conn = op.get_bind()
    subscription = sa.table("space_subscription", sa.column("membership_id", sa.Integer),
                            sa.column("space_code", sa.String), sa.column("origin", sa.String),
                            sa.column("id", sa.Integer))
    membership = sa.table("membership", sa.column("id", sa.Integer), sa.column("granted_spaces", sa.JSON))
    granted: dict[int, list[str]] = {}
    for mid, code in conn.execute(sa.select(subscription.c.membership_id, subscription.c.space_code)
                                  .where(subscription.c.origin == "default").order_by(subscription.c.id)):
        granted.setdefault(mid, []).append(code)
    by_codes: dict[tuple, list[int]] = {}
    for mid, codes in granted.items():
        by_codes.setdefault(tuple(codes), []).append(mid)
    for codes, ids in by_codes.items():
        for start in range(0, len(ids), 500):
            conn.execute(sa.update(membership).where(membership.c.id.in_(ids[start:start + 500]))
                         .values(granted_spaces=list(codes)))
    op.drop_table("structure_space")
    op.drop_index("ix_space_subscription_request", table_name="space_subscription")
    op.drop_index("ix_space_subscription_membership", table_name="space_subscription")
    op.drop_index("ix_space_subscription_user_status", table_name="space_subscription")
    op.drop_table("space_subscription")
    op.drop_index("ix_subscription_request_user", table_name="subscription_request")
    op.drop_index("ix_subscription_request_structure_status", table_name="subscription_request")
    op.drop_table("subscription_request")
