"""Demo membership requests waiting for the managers (README's run command)."""
from __future__ import annotations

from sqlalchemy import select

from ..demo import demo_user
from ..extensions import db
from .models import Membership
from .services import request_membership


def populate(demo: dict) -> None:
    from ..database import transaction

    with transaction():
        requester = demo_user(demo, "demandeur", "Lucas", "Garnier",
                              "a demandé à être rattaché à la Commune de Saint-Exemple")
    for key, comment in (("structure:commune", "Agent du service des finances, arrivé le mois dernier."),
                         ("structure:lycee", "Intendant adjoint.")):
        structure = demo[key]
        exists = db.session.execute(select(Membership.id).where(
            Membership.user_id == requester.id, Membership.structure_id == structure.id)).first()
        if not exists:
            request_membership(requester, structure, comment=comment)
            demo["created"] = True
