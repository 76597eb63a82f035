"""Demo services (README's run command): a few on the demo commune, one request naming a service."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from chorus.extensions import db

from . import services
from .models import Service


def populate(demo: dict) -> None:
    commune = demo.get("structure:commune")
    if commune is None:
        return
    exists = db.session.execute(select(Service.id).where(Service.structure_id == commune.id,
                                                         Service.is_default.is_(False))).first()
    if exists:
        return
    from chorus.accounts.models import User
    from chorus.memberships.models import Membership, Role

    primary = db.session.execute(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.structure_id == commune.id, Membership.role == Role.PRIMARY,
        Membership.status == "validated")).scalars().first()
    if primary is None:
        return
    for code, label, engagement in (("ACHATS", "Service des achats", True), ("VOIRIE", "Voirie et réseaux", False),
                                    ("ECOLES", "Écoles et périscolaire", False)):
        services.create(primary, commune, services.ServiceData(code, label, date(2026, 1, 1),
                                                               engagement_required=engagement))
    demo["created"] = True
