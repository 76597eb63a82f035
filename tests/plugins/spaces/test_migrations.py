"""The spaces branch takes over the core's membership.granted_spaces with its data (SQLite and PostgreSQL), and
goes down and up again."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text

from chorus import migrations
from chorus.extensions import db
from helpers import make_structure


def _columns(table):
    return {c["name"] for c in sa_inspect(db.engine).get_columns(table)}


def test_the_branch_moves_granted_spaces_with_their_data_and_back(world, accounts):
    owner = accounts.create("anne@boulangerie.example", last_name="Martin")
    shop = make_structure(owner, "Boulangerie Martin")
    shop_id, commune_id, member_id = shop.id, world.commune.id, world.member.id
    db.session.remove()
    migrations.downgrade("spaces@base")
    assert "space_subscription" not in sa_inspect(db.engine).get_table_names()
    assert "granted_spaces" in _columns("membership")
    membership = sa.table("membership", sa.column("structure_id", sa.Integer), sa.column("user_id", sa.Integer),
                          sa.column("role", sa.String), sa.column("granted_spaces", sa.JSON))
    with db.engine.begin() as conn:
        granted = dict(conn.execute(sa.select(membership.c.structure_id, membership.c.granted_spaces)
                                    .where(membership.c.role == "primary")).all())
        # The defaults granted with the structures went back into the column.
        assert granted[shop_id] == ["SOLLICITATIONS_EMISES"]
        assert len(granted[commune_id]) == 4
        # What the column holds as the branch arrives: codes of any module; a membership with none.
        conn.execute(sa.update(membership).where(membership.c.structure_id == commune_id,
                                                 membership.c.role == "primary")
                     .values(granted_spaces=["FACTURES_RECUES", "ESPACE_D_UN_AUTRE_MODULE"]))
        conn.execute(sa.update(membership).where(membership.c.user_id == member_id).values(granted_spaces=[]))
    migrations.upgrade()
    assert "granted_spaces" not in _columns("membership")
    with db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT m.role, m.structure_id, s.space_code, s.status, s.right FROM space_subscription s "
            "JOIN membership m ON m.id = s.membership_id")).all()
    by = {}
    for role, sid, code, status, right in rows:
        by.setdefault((role, sid), set()).add((code, status, right))
    # Data kept, codes of other modules included.
    assert by[("primary", commune_id)] == {("FACTURES_RECUES", "validated", "modification"),
                                           ("ESPACE_D_UN_AUTRE_MODULE", "validated", "modification")}
    # Validated memberships that had none get the defaults of ESP-2 (public: four, private: one).
    assert {code for code, _, _ in by[("member", commune_id)]} == {
        "FACTURES_EMISES", "FACTURES_RECUES", "SOLLICITATIONS_EMISES", "SOLLICITATIONS_RECUES"}
    assert {code for code, _, _ in by[("primary", shop_id)]} == {"SOLLICITATIONS_EMISES"}

