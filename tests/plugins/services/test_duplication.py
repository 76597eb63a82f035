"""The services module's part in a change of identifier (SPEC SIR-2, SIR-3): services with their codes, and the
memberships' statuses per service, copied to the successor through `structure.duplicated`."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from chorus import events
from chorus.database import transaction
from chorus.events import Refused
from chorus.extensions import db
from chorus.hookspecs import hookimpl
from chorus.memberships import services as memberships
from chorus.memberships.models import Membership
from chorus.permissions import Denied
from chorus.structures import duplication
from chorus.structures.models import Structure
from helpers import fresh, make_structure, new_siret
from plugins.services import memberships as per_service
from plugins.services import services
from plugins.services.models import MembershipService, Service
from plugins.services.services import ServiceData


class EarlyReader:
    """Reads the services module's per-transaction cache for the successor before the module copies its rows."""

    def __init__(self):
        self.seen = None

    @hookimpl(tryfirst=True)
    def domain_change(self, event):
        if event.name == "structure.duplicated":
            self.seen = set(per_service._with_rows(event.payload["structure_id"]))


@pytest.fixture
def reader():
    return EarlyReader()


@pytest.fixture
def world(make_app, accounts, reader):
    application = make_app(EXTRA_PLUGINS=[reader])
    with application.app_context():
        manager = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
        member = accounts.create("lea@commune.example", first_name="Léa", last_name="Roux")
        requester = accounts.create("lucas@commune.example", first_name="Lucas", last_name="Garnier")
        structure = make_structure(manager, "Atelier Lemoine")
        today = services.today()
        achats = services.create(manager, structure, ServiceData(
            "ACHATS", "Service des achats", today - timedelta(days=3), today + timedelta(days=90),
            description="Commandes et marchés", engagement_required=True))
        voirie = services.create(manager, structure, ServiceData("Voirie", "Voirie", today))
        ferme = services.create(manager, structure, ServiceData("FERME", "Fermé", date(2020, 1, 1), date(2020, 12, 31)))
        request = memberships.request_membership(member, structure, extra={"services": [achats.id, voirie.id]})
        memberships.decide(manager, [request.id], accept=True, extra={"services": [achats.id]})  # VOIRIE: refused
        pending = memberships.request_membership(requester, structure, extra={"services": [voirie.id]})
        yield type("World", (), dict(app=application, manager=manager, member=member, requester=requester,
                                     structure=structure, achats=achats, voirie=voirie, ferme=ferme,
                                     member_membership=request, pending=pending))


def _services(structure_id):
    fresh()
    return db.session.execute(select(Service).where(Service.structure_id == structure_id)
                              .order_by(Service.code_key)).scalars().all()


def _statuses(structure_id):
    """{(user id, service code): status} of a structure's memberships."""
    return {(uid, code): status for uid, code, status in db.session.execute(
        select(Membership.user_id, Service.code, MembershipService.status)
        .join(MembershipService, MembershipService.membership_id == Membership.id)
        .join(Service, MembershipService.service_id == Service.id)
        .where(Membership.structure_id == structure_id)).all()}


def test_services_are_copied_with_their_codes_dates_and_options(world):
    # SPEC SIR-2: field by field, FACTURES_PUBLIQUES included (SRV-3: the successor has it, once).
    new = duplication.duplicate(world.manager, world.structure, new_siret())
    old_rows, new_rows = _services(world.structure.id), _services(new.id)
    assert [s.code for s in new_rows] == ["ACHATS", "FACTURES_PUBLIQUES", "FERME", "Voirie"]
    for a, b in zip(old_rows, new_rows, strict=True):
        for column in Service.__table__.columns:
            if column.key not in ("id", "structure_id"):
                assert getattr(a, column.key) == getattr(b, column.key), column.key
        assert b.structure_id == new.id and b.id != a.id
    assert sum(s.is_default for s in new_rows) == 1


def test_statuses_per_service_are_copied_onto_the_copied_services(world):
    new = duplication.duplicate(world.manager, world.structure, new_siret())
    fresh()
    old, copied = _statuses(world.structure.id), _statuses(new.id)
    assert copied == {(world.member.id, "ACHATS"): "validated", (world.member.id, "Voirie"): "refused",
                      (world.requester.id, "Voirie"): "pending"}
    assert {k: v for k, v in old.items() if k[0] == world.member.id} == {
        (world.member.id, "ACHATS"): "validated", (world.member.id, "Voirie"): "refused"}
    # Every copied row points at a service of the successor, never at one of the old structure.
    own = {s.id for s in _services(new.id)}
    rows = db.session.execute(select(MembershipService.service_id).join(
        Membership, MembershipService.membership_id == Membership.id).where(Membership.structure_id == new.id))
    assert set(rows.scalars()) <= own


def test_the_per_transaction_cache_knows_the_copied_rows(world, reader):
    # WITH_ROWS: read for the successor before the copy (another module), it must not hide the copied rows after.
    with transaction():
        new = duplication.duplicate(world.manager, world.structure, new_siret())
        assert reader.seen == set()
        copies = db.session.execute(select(Membership.id).where(Membership.structure_id == new.id,
                                                                Membership.user_id == world.member.id)).scalar_one()
        assert copies in per_service._with_rows(new.id)
        assert per_service.snapshot(db.session.get(Membership, copies))["services"]


def test_the_copied_request_is_decided_on_the_successor_with_its_services(world):
    new = duplication.duplicate(world.manager, world.structure, new_siret())
    fresh()
    copy = db.session.execute(select(Membership).where(Membership.structure_id == new.id,
                                                       Membership.user_id == world.requester.id)).scalar_one()
    assert copy.status == "pending"
    report = memberships.decide(world.manager, [copy.id], accept=True)
    assert report.decided == [copy.id]
    fresh()
    assert _statuses(new.id)[(world.requester.id, "Voirie")] == "validated"
    assert _statuses(world.structure.id)[(world.requester.id, "Voirie")] == "pending"  # the old, closed request


def test_no_service_changes_on_the_old_structure(world):
    # SPEC SIR-3: the manager's routes are refused (structure.edit), and the module's events whoever emits them.
    duplication.duplicate(world.manager, world.structure, new_siret())
    fresh()
    old = db.session.get(Structure, world.structure.id)
    with pytest.raises(Denied):
        services.create(world.manager, old, ServiceData("NOUVEAU", "Nouveau", services.today()))
    with pytest.raises(Refused, match="inactive"):
        with transaction():
            events.emit("service.created", service_id=world.achats.id, structure_id=old.id)
    assert [s.code for s in _services(old.id)] == ["ACHATS", "FACTURES_PUBLIQUES", "FERME", "Voirie"]
