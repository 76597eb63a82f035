"""The spaces module and a change of identifier (SPEC SIR-2, SIR-3): the successor keeps the structure's spaces and
the subscriptions in force; the old structure opens no space any more, while its pending requests can be refused."""
from __future__ import annotations

import pytest
from spaces_helpers import subscribe
from sqlalchemy import select

from chorus.database import transaction
from chorus.events import Refused
from chorus.extensions import db
from chorus.structures import duplication
from helpers import fresh, new_siret, page
from plugins.spaces import services
from plugins.spaces.models import Subscription


def _held(user, structure):
    fresh()
    return {(s.space_code, s.right) for s in db.session.execute(select(Subscription).where(
        Subscription.user_id == user.id, Subscription.structure_id == structure.id,
        Subscription.status == "validated")).scalars()}


def test_the_successor_keeps_the_spaces_and_the_subscriptions_in_force(world):
    # SPEC SIR-2: "spaces" and "subscriptions" are carried, through the core's structure.duplicated.
    services.add_structure_spaces(world.manager, world.commune, [""], {"FACTURES_EMISES": "consultation"})
    subscribe(world.member, world.commune, "FACTURES_RECUES", "consultation")
    before = _held(world.member, world.commune)
    successor = duplication.duplicate(world.manager, world.commune, new_siret())
    assert ("FACTURES_RECUES", "consultation") in before
    assert _held(world.member, successor) == before
    assert _held(world.manager, successor) == _held(world.manager, world.commune)
    assert [s.space_code for s in services.structure_spaces(successor.id)] == ["FACTURES_EMISES"]


def test_the_old_structure_opens_no_space_but_its_requests_can_be_refused(world):
    # SPEC SIR-3: no new subscription request nor space on an inactive structure; answering "no" stays possible.
    waiting = services.request_subscription(world.member, world.commune,
                                            [services.Line("FACTURES_RECUES", "consultation")], "Merci")
    duplication.duplicate(world.manager, world.commune, new_siret())
    fresh()
    old = db.session.get(type(world.commune), world.commune.id)
    with pytest.raises(Refused):
        services.request_subscription(world.second, old, [services.Line("FACTURES_RECUES", "consultation")], "")
    with pytest.raises(Refused):
        services.set_self_service(world.second, old, "FACTURES_EMISES", True)
    assert services.decide(world.manager, [waiting.id], accept=True).skipped == 1  # not validated
    services.decide(world.manager, [waiting.id], accept=False, reason="La structure a changé d'identifiant.")
    fresh()
    assert db.session.execute(select(Subscription.status).where(
        Subscription.request_id == waiting.id)).scalars().all() == ["refused"]


def test_the_users_export_names_each_membership_spaces(world, client_as):
    # SPEC USR-1 with ABO-2: "Exporter utilisateurs" gains the spaces in force, per membership (list_columns hook).
    if world.app.extensions["chorus.plugins"].get_plugin("plugins.csv_export") is None:
        pytest.skip("the csv_export plugin is switched off for this run")
    subscribe(world.member, world.commune, "FACTURES_RECUES", "consultation")
    subscribe(world.member, world.departement, "SOLLICITATIONS_EMISES", "modification")
    text = client_as("sophie@commune.example").get("/gestionnaire/utilisateurs/export.csv").get_data()
    rows = [line.split(";") for line in text.decode("utf-8-sig").split("\r\n") if line]
    column = rows[0].index("Espaces")
    [lucas] = [r for r in rows[1:] if "lucas@commune.example" in r]
    assert lucas[column] == "Factures reçues (Tous les services, consultation)"  # not the Département's


def test_spaces_for_one_service_follow_the_copy_of_that_service(world, client_as):
    # SPEC SIR-2 with ESP-3: a space opened for one service names, on the successor, the copy of that service
    # (core event structure.units_carried, units matched by their label).
    if world.app.extensions["chorus.plugins"].get_plugin("plugins.services") is None:
        pytest.skip("the services plugin is switched off for this run")
    from datetime import date

    from plugins.services import services as service_rules
    from plugins.services.models import Service
    from plugins.spaces.models import StructureSpace, SubscriptionRequest

    achats = service_rules.create(world.manager, world.commune,
                                  service_rules.ServiceData("ACHATS", "Achats", date(2026, 1, 1)))
    services.add_structure_spaces(world.manager, world.commune, [str(achats.id)], {"FACTURES_RECUES": "consultation"})
    [asked] = db.session.execute(select(SubscriptionRequest.id).where(
        SubscriptionRequest.user_id == world.member.id)).scalars().all()
    services.decide(world.manager, [asked], accept=True)
    successor = duplication.duplicate(world.manager, world.commune, new_siret())
    fresh()
    copy = db.session.execute(select(Service.id).where(Service.structure_id == successor.id,
                                                       Service.code == "ACHATS")).scalar_one()
    assert copy != achats.id
    assert db.session.execute(select(StructureSpace.unit_id).where(
        StructureSpace.structure_id == successor.id)).scalars().all() == [str(copy)]
    assert db.session.execute(select(Subscription.unit_id).where(
        Subscription.structure_id == successor.id, Subscription.user_id == world.member.id,
        Subscription.status == "validated")).scalars().all() == [str(copy)]
    shown = client_as("sophie@commune.example").get(f"/structures/{successor.id}/services/{copy}")
    assert "Factures reçues" in shown.get_data(as_text=True).split("Espaces ouverts pour ce service")[1]


def test_the_export_column_names_the_spaces_whatever_the_units_labels(world):
    # SPEC USR-1: the spaces' column joins each membership's lines in the database, with control characters
    # between fields and lines; a unit's label holding one of them is still described as it is.
    from plugins.spaces.services import spaces_by_membership

    subscribe(world.member, world.commune, "FACTURES_RECUES", "consultation")
    odd = subscribe(world.member, world.commune, "SOLLICITATIONS_EMISES", "modification")
    plain = spaces_by_membership([odd.membership_id])[odd.membership_id]
    assert plain == "Factures reçues (Tous les services, consultation), " \
                    "Sollicitations émises (Tous les services, modification)"
    for label in ("Voirie\x1fx\x1eFACTURES_EMISES\x1f\x1fy", "Voirie\x1fx"):  # as many lines / fields as expected
        with transaction():
            db.session.get(Subscription, odd.id).unit_label = label
        fresh()
        assert spaces_by_membership([odd.membership_id])[odd.membership_id] == \
            f"Factures reçues (Tous les services, consultation), Sollicitations émises ({label}, modification)"


def test_a_bulk_validation_skips_the_requests_of_an_old_structure_and_decides_the_others(world, client_as):
    """SIR-3 with ABO-4: one request on the structure a SIRET change left inactive does not block the others; the
    dashboard offers no "Valider" for it, and Mes abonnements no longer offers that structure."""
    from helpers import attach, make_structure

    other = make_structure(world.manager, "Atelier Charlie", public=True, admin=world.admin)
    attach(other, world.member, "member")
    stale = services.request_subscription(world.member, world.commune,
                                          [services.Line("FACTURES_RECUES", "consultation")], "")
    duplication.duplicate(world.manager, world.commune, new_siret())
    good = services.request_subscription(world.member, other, [services.Line("FACTURES_RECUES", "consultation")], "")
    manager = client_as("sophie@commune.example")
    dashboard = manager.get("/gestionnaire/").get_data(as_text=True)
    assert "Valider la demande d'abonnement de Lucas Garnier pour Atelier Charlie" in dashboard
    assert "Valider la demande d'abonnement de Lucas Garnier pour Commune de Saint-Exemple" not in dashboard
    answer = manager.post("/gestionnaire/abonnements", data={"ids": [stale.id, good.id], "action": "valider"},
                          follow_redirects=True)
    assert answer.status_code == 200 and "1 demande d'abonnement validée" in page(answer)
    fresh()
    statuses = dict(db.session.execute(select(type(stale).id, type(stale).status)
                                       .where(type(stale).id.in_([stale.id, good.id]))).all())
    assert statuses == {stale.id: "pending", good.id: "validated"}
    assert world.commune.id not in [s.id for s in services.my_structures(world.member)]


def test_a_removed_members_pending_request_is_not_decided(world, client_as, outbox):
    """RAT-7: a membership removed, its pending subscription request is no longer listed nor validated."""
    from chorus.memberships import services as memberships
    from chorus.memberships.models import Membership

    waiting = services.request_subscription(world.member, world.commune,
                                            [services.Line("FACTURES_RECUES", "modification")], "")
    fresh()
    mid = db.session.execute(select(Membership.id).where(Membership.user_id == world.member.id,
                                                         Membership.structure_id == world.commune.id)).scalar_one()
    memberships.remove(world.manager, world.commune, [mid])
    manager = client_as("sophie@commune.example")
    assert "Lucas Garnier" not in manager.get("/gestionnaire/abonnements").get_data(as_text=True)
    manager.post("/gestionnaire/abonnements", data={"ids": [waiting.id], "action": "valider"})
    fresh()
    assert db.session.get(type(waiting), waiting.id).status == "pending"
    assert not [m for m in outbox.all() if "validée" in m.subject.lower()]
