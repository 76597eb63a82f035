"""structures, memberships and history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:55:14.145224
"""
import sqlalchemy as sa
from alembic import op

import chorus.database

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('structure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('identifier_type', sa.String(length=20), nullable=False),
    sa.Column('identifier', sa.String(length=80), nullable=False),
    sa.Column('designation', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('address_complement_1', sa.String(length=200), nullable=False),
    sa.Column('address_complement_2', sa.String(length=200), nullable=False),
    sa.Column('postal_code', sa.String(length=20), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('fax', sa.String(length=30), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('edi_receive_lifecycle', sa.Boolean(), nullable=False),
    sa.Column('edi_emitter', sa.Boolean(), nullable=False),
    sa.Column('edi_connection_active', sa.Boolean(), nullable=False),
    sa.Column('edi_can_receive', sa.Boolean(), nullable=False),
    sa.Column('payment_status_not_reported', sa.Boolean(), nullable=False),
    sa.Column('service_code_required', sa.Boolean(), nullable=False),
    sa.Column('engagement_required', sa.Boolean(), nullable=False),
    sa.Column('engagement_or_service_required', sa.Boolean(), nullable=False),
    sa.Column('moa', sa.String(length=10), nullable=False),
    sa.Column('billing_mandate', sa.Boolean(), nullable=False),
    sa.Column('pacage_number', sa.String(length=20), nullable=False),
    sa.Column('social_regime', sa.String(length=100), nullable=False),
    sa.Column('vat_number', sa.String(length=20), nullable=False),
    sa.Column('connection_info', sa.Text(), nullable=False),
    sa.Column('created_at', chorus.database.UTCDateTime(), nullable=False),
    sa.Column('updated_at', chorus.database.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_structure')),
    sa.UniqueConstraint('identifier_type', 'identifier', name='uq_structure_identifier')
    )
    op.create_table('history_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('at', chorus.database.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('comment', sa.String(length=30), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('subject_user_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_history_entry_actor_id_user_account')),
    sa.ForeignKeyConstraint(['structure_id'], ['structure.id'], name=op.f('fk_history_entry_structure_id_structure')),
    sa.ForeignKeyConstraint(['subject_user_id'], ['user_account.id'], name=op.f('fk_history_entry_subject_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_entry'))
    )
    with op.batch_alter_table('history_entry', schema=None) as batch_op:
        batch_op.create_index('ix_history_entry_structure_at', ['structure_id', 'at'], unique=False)

    op.create_table('membership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('created_at', chorus.database.UTCDateTime(), nullable=False),
    sa.Column('decided_at', chorus.database.UTCDateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_membership_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['structure_id'], ['structure.id'], name=op.f('fk_membership_structure_id_structure')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_membership_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership'))
    )
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_structure_id'), ['structure_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_membership_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_membership_one_primary', ['structure_id'], unique=True, sqlite_where=sa.text("role = 'primary' AND status = 'validated'"), postgresql_where=sa.text("role = 'primary' AND status = 'validated'"))
        batch_op.create_index('uq_membership_open', ['structure_id', 'user_id'], unique=True, sqlite_where=sa.text("status IN ('pending', 'validated')"), postgresql_where=sa.text("status IN ('pending', 'validated')"))

    # SPEC HIS-4: the database itself refuses to change or delete the history.
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER history_entry_no_{verb.lower()} BEFORE {verb} ON history_entry
                BEGIN SELECT RAISE(ABORT, 'history_entry is append-only'); END
            """)
    else:
        op.execute("""
            CREATE FUNCTION history_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'history_entry is append-only'; END $$
        """)
        op.execute("""CREATE TRIGGER history_entry_no_change BEFORE UPDATE OR DELETE ON history_entry
                      FOR EACH ROW EXECUTE FUNCTION history_entry_append_only()""")
        op.execute("""CREATE TRIGGER history_entry_no_truncate BEFORE TRUNCATE ON history_entry
                      FOR EACH STATEMENT EXECUTE FUNCTION history_entry_append_only()""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER history_entry_no_update")
        op.execute("DROP TRIGGER history_entry_no_delete")
    else:
        op.execute("DROP TRIGGER history_entry_no_truncate ON history_entry")
        op.execute("DROP TRIGGER history_entry_no_change ON history_entry")
        op.execute("DROP FUNCTION history_entry_append_only()")
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_index('uq_membership_open', sqlite_where=sa.text("status IN ('pending', 'validated')"), postgresql_where=sa.text("status IN ('pending', 'validated')"))
        batch_op.drop_index('uq_membership_one_primary', sqlite_where=sa.text("role = 'primary' AND status = 'validated'"), postgresql_where=sa.text("role = 'primary' AND status = 'validated'"))
        batch_op.drop_index(batch_op.f('ix_membership_user_id'))
        batch_op.drop_index(batch_op.f('ix_membership_structure_id'))

    op.drop_table('membership')
    with op.batch_alter_table('history_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_history_entry_structure_at')

    op.drop_table('history_entry')
    op.drop_table('structure')
