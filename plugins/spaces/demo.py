"""Demo data: the spaces of the demo memberships (ESP-2), and a subscription request waiting for the commune's
managers (Julie Perrin asks for "Factures reçues", in consultation)."""
from __future__ import annotations

from sqlalchemy import select

from chorus.database import transaction
from chorus.extensions import db
from chorus.memberships.models import Membership, MembershipStatus
from chorus.structures.models import Structure

from . import services
from .catalogue import defaults
from .models import Subscription, SubscriptionRequest


def populate(demo: dict) -> None:
    commune, agent = demo.get("structure:commune"), demo.get("agent")
    if commune is None or agent is None:
        return
    if db.session.execute(select(SubscriptionRequest.id).where(SubscriptionRequest.user_id == agent.id)).first():
        return
    with transaction():  # memberships the demo wrote directly, without their spaces yet
        granted = select(Subscription.membership_id)
        for m, structure in db.session.execute(
                select(Membership, Structure).join(Structure, Structure.id == Membership.structure_id)
                .where(Membership.status == MembershipStatus.VALIDATED, Membership.id.not_in(granted))).all():
            codes = defaults(structure.is_public)
            if m.user_id == agent.id and structure.id == commune.id:
                codes = [c for c in codes if c != "FACTURES_RECUES"]
            services.grant_defaults(m.id, m.user_id, structure.id, codes)
    services.request_subscription(agent, commune, [services.Line("FACTURES_RECUES", "consultation")],
                                  "Je dois consulter les factures reçues pour préparer les mandats.")
    demo["created"] = True
