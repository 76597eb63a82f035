"""services: the services of each structure (SPEC SRV) and memberships per service (SPEC RAT-2);
FACTURES_PUBLIQUES for every structure that exists already (SPEC SRV-3)

Revision ID: s001
Revises: -
"""
import sqlalchemy as sa
from alembic import op

import chorus.database

revision = "s001"
down_revision = None
branch_labels = ("services",)
depends_on = "0002"  # the structure and membership tables


def upgrade() -> None:
    service = op.create_table(
        "service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("structure_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("code_key", sa.String(length=400), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("engagement_required", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", chorus.database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", chorus.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["structure_id"], ["structure.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("structure_id", "code_key", name="uq_service_structure_code"),
    )
    op.create_index("ix_service_structure_id", "service", ["structure_id"])
    op.create_index("ix_service_structure_code", "service", ["structure_id", "code"])
    op.create_index("ix_service_code_key", "service", ["code_key"])
    op.create_table(
        "membership_service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("updated_at", chorus.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["membership_id"], ["membership.id"]),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("membership_id", "service_id", name="uq_membership_service"),
    )
    op.create_index("ix_membership_service_service_id", "membership_service", ["service_id"])

    # SPEC SRV-3: the structures made before this module get their FACTURES_PUBLIQUES now, valid from the
    # day each was created. Plain SQL: the application's models may have moved on since this revision.
    conn = op.get_bind()
    structure = sa.table("structure", sa.column("id", sa.Integer),
                         sa.column("created_at", chorus.database.UTCDateTime()))
    last = 0
    while True:  # in chunks: a national directory has some 150,000 structures
        rows = conn.execute(sa.select(structure.c.id, structure.c.created_at).where(structure.c.id > last)
                            .order_by(structure.c.id).limit(5000)).all()
        if not rows:
            break
        op.bulk_insert(service, [
            {"structure_id": sid, "code": "FACTURES_PUBLIQUES", "code_key": "factures_publiques",
             "label": "Factures publiques", "description": "Réception des factures des autres structures publiques.",
             "start_date": created.date(), "end_date": None, "engagement_required": False, "is_default": True,
             "created_at": created, "updated_at": created} for sid, created in rows])
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_membership_service_service_id", table_name="membership_service")
    op.drop_table("membership_service")
    op.drop_index("ix_service_code_key", table_name="service")
    op.drop_index("ix_service_structure_code", table_name="service")
    op.drop_index("ix_service_structure_id", table_name="service")
    op.drop_table("service")
