"""Helpers of the spaces plugin's tests."""
from __future__ import annotations


def subscribe(user, structure, code, right, status="validated"):
    """A subscription written directly (the rules that make them have their own tests)."""
    from sqlalchemy import select

    from chorus import clock
    from chorus.database import transaction
    from chorus.extensions import db
    from chorus.memberships.models import Membership
    from plugins.spaces.models import Subscription

    with transaction():
        membership_id = db.session.execute(select(Membership.id).where(
            Membership.user_id == user.id, Membership.structure_id == structure.id,
            Membership.status == "validated")).scalar_one()
        now = clock.now()
        line = Subscription(user_id=user.id, structure_id=structure.id, membership_id=membership_id,
                            space_code=code, unit_id="", unit_label="", right=right, status=status, origin="user",
                            created_at=now, updated_at=now)
        db.session.add(line)
    return line
