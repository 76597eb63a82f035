"""Memberships per service (SPEC RAT-2, RAT-3, RAT-4, RAT-6, RAT-7, HIS-3)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from chorus import clock
from chorus.database import transaction
from chorus.events import Refused
from chorus.extensions import db
from chorus.history.models import HistoryEntry
from chorus.memberships import services as memberships
from chorus.memberships.models import Membership
from helpers import attach, fresh, make_structure, page
from plugins.services import services
from plugins.services.models import MembershipService, Service
from plugins.services.services import ServiceData

HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(app, accounts):
    manager = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
    requester = accounts.create("lucas@commune.example", first_name="Lucas", last_name="Garnier")
    other = accounts.create("zoe@commune.example", first_name="Zoé", last_name="Zola")
    outsider = accounts.create("nina@ailleurs.example", first_name="Nina", last_name="Durand")
    structure = make_structure(manager, "Commune de Saint-Exemple")
    elsewhere = make_structure(outsider, "Atelier Durand")
    today = services.today()

    def add(code, start=today, end=None, owner=manager, where=structure):
        return services.create(owner, where, ServiceData(code, f"Service {code}", start, end))

    w = type("World", (), {})()
    w.manager, w.requester, w.other, w.outsider = manager, requester, other, outsider
    w.structure, w.elsewhere = structure, elsewhere
    w.achats, w.voirie = add("ACHATS"), add("VOIRIE")
    w.closed = add("FERME", today - timedelta(days=9), today - timedelta(days=1))
    w.foreign = add("VENTES", owner=outsider, where=elsewhere)
    w.default = db.session.execute(select(Service).where(Service.structure_id == structure.id,
                                                         Service.is_default.is_(True))).scalar_one()
    return w


def _client(app, accounts, email):
    client = app.test_client()
    accounts.login(client, email)
    return client


def _statuses(membership_id):
    fresh()
    return dict(db.session.execute(
        select(Service.code, MembershipService.status).join(Service, MembershipService.service_id == Service.id)
        .where(MembershipService.membership_id == membership_id)).all())


def _membership(user, structure):
    fresh()
    return db.session.execute(select(Membership).where(Membership.user_id == user.id,
                                                       Membership.structure_id == structure.id)
                              .order_by(Membership.id.desc())).scalars().first()


def _request(world, user=None, ids=()):
    return memberships.request_membership(user or world.requester, world.structure,
                                          extra={"services": [s.id for s in ids]})


# ------------------------------------------------------------------ asking (RAT-1, RAT-2)


def test_the_request_form_names_the_active_services_or_the_whole_structure(app, accounts, world):
    client = _client(app, accounts, "lucas@commune.example")
    url = f"/mon-compte/rattachements/nouveau?identifier_type=SIRET&identifier={world.structure.identifier}"
    shown = page(client.get(url))
    assert "Services demandés" in shown and "ne cochez rien pour demander un rattachement à toute la structure" in shown
    assert "ACHATS — Service ACHATS" in shown and "FACTURES_PUBLIQUES" in shown and "FERME" not in shown
    response = client.post("/mon-compte/rattachements/nouveau", data={
        "identifier_type": "SIRET", "identifier": world.structure.identifier, "role": "member",
        "services": [str(world.achats.id)]})
    assert response.status_code == 303
    assert _statuses(_membership(world.requester, world.structure).id) == {"ACHATS": "pending"}


def test_a_structure_with_only_factures_publiques_offers_no_choice(app, accounts, world):
    # Decision: FACTURES_PUBLIQUES alone does not make "a structure with services" (every structure has it).
    client = _client(app, accounts, "lucas@commune.example")
    url = f"/mon-compte/rattachements/nouveau?identifier_type=SIRET&identifier={world.elsewhere.identifier}"
    services.delete_many(world.outsider, world.elsewhere, [world.foreign.id])
    assert "Services demandés" not in page(client.get(url))


def test_a_service_id_the_requester_could_not_choose_is_refused(app, accounts, world):
    # Ids posted must be ones the form offered: another structure's service, an ended one.
    client = _client(app, accounts, "lucas@commune.example")
    for bad in (world.foreign.id, world.closed.id, 999999):
        response = client.post("/mon-compte/rattachements/nouveau", data={
            "identifier_type": "SIRET", "identifier": world.structure.identifier, "role": "member",
            "services": [str(bad)]})
        assert response.status_code == 422
    assert _membership(world.requester, world.structure) is None
    # The service layer holds the same rule, whatever the entry point.
    with pytest.raises(Refused) as refused:
        _request(world, ids=[world.foreign])
    assert refused.value.errors == {"services": "Choisissez parmi les services actifs de la structure."}
    assert _membership(world.requester, world.structure) is None


# ------------------------------------------------------------------ deciding one (RAT-3, RAT-4)


def test_the_decision_screen_ticks_the_services_asked_and_grants_those_ticked(app, accounts, world):
    # SPEC RAT-3: boxes of "En cours de validation" checked by default; the checked ones are granted.
    m = _request(world, ids=[world.achats])
    client = _client(app, accounts, "sophie@commune.example")
    url = f"/gestionnaire/rattachements/{m.id}"
    for headers in ({}, HTMX):
        shown = page(client.get(url, headers=headers))
        assert "Services attribués" in shown
        assert f'value="{world.achats.id}" id="services-' in shown
        assert "ACHATS — Service ACHATS (En cours de validation)" in shown
    box = shown.split(f'value="{world.achats.id}"')[1].split(">")[0]
    assert "checked" in box
    assert "checked" not in shown.split(f'value="{world.voirie.id}"')[1].split(">")[0]
    response = client.post(url, data={"action": "valider", "role": "member", "services": [str(world.voirie.id)]})
    assert response.status_code == 303
    assert _statuses(m.id) == {"ACHATS": "refused", "VOIRIE": "validated"}
    # SPEC HIS-3: the history detail shows the services of the decision.
    entry = db.session.execute(select(HistoryEntry).where(HistoryEntry.action == "membership.validated")).scalar_one()
    detail = page(client.get(f"/structures/{world.structure.id}/historique/{entry.id}"))
    assert "Services de la demande" in detail and "VOIRIE" in detail and "Validé" in detail and "Refusé" in detail


def test_validated_services_are_checked_greyed_and_kept(app, accounts, world):
    # SPEC RAT-3: a service already validated is checked, greyed, and stays whatever is posted.
    m = _request(world, ids=[world.achats])
    with transaction():
        db.session.add(MembershipService(membership_id=m.id, service_id=world.voirie.id, status="validated",
                                         updated_at=clock.now()))
    client = _client(app, accounts, "sophie@commune.example")
    url = f"/gestionnaire/rattachements/{m.id}"
    box = page(client.get(url)).split(f'value="{world.voirie.id}"')[1].split(">")[0]
    assert "checked" in box and "disabled" in box
    client.post(url, data={"action": "valider", "role": "member"})  # nothing ticked: VOIRIE stays
    assert _statuses(m.id) == {"ACHATS": "refused", "VOIRIE": "validated"}


def test_a_foreign_service_posted_to_the_decision_is_refused(app, accounts, world):
    m = _request(world, ids=[world.achats])
    client = _client(app, accounts, "sophie@commune.example")
    response = client.post(f"/gestionnaire/rattachements/{m.id}", data={
        "action": "valider", "role": "member", "services": [str(world.foreign.id)]})
    assert response.status_code == 422
    assert _membership(world.requester, world.structure).status == "pending"
    # And through the service layer.
    with pytest.raises(Refused):
        memberships.decide(world.manager, [m.id], accept=True, extra={"services": [world.foreign.id]})
    assert _membership(world.requester, world.structure).status == "pending"


def test_refusing_refuses_the_services_asked(world):
    m = _request(world, ids=[world.achats, world.voirie])
    memberships.decide(world.manager, [m.id], accept=False, reason="Inconnu")
    assert _statuses(m.id) == {"ACHATS": "refused", "VOIRIE": "refused"}


# ------------------------------------------------------------------ bulk (RAT-4)


def test_a_bulk_validation_grants_what_each_requester_asked(app, accounts, world):
    # Decision: in bulk, each requester gets the services they asked (or the whole structure); said on the page.
    lucas = _request(world, ids=[world.achats])
    zoe = _request(world, user=world.other)
    client = _client(app, accounts, "sophie@commune.example")
    listing = page(client.get("/gestionnaire/rattachements"))
    assert "valider en masse accorde à chaque demandeur les services qu'il a demandés" in listing
    assert "ACHATS" in listing and "Toute la structure" in listing  # the "Services" column
    only = page(client.get("/gestionnaire/rattachements?service=achats"))
    assert "Lucas Garnier" in only and "Zoé Zola" not in only and "1 demande en attente" in only
    client.post("/gestionnaire/rattachements", data={"ids": [str(lucas.id), str(zoe.id)], "action": "valider"})
    assert _statuses(lucas.id) == {"ACHATS": "validated"} and _statuses(zoe.id) == {}


def test_a_bulk_validation_refuses_a_service_ended_since_the_request(app, accounts, world):
    """SRV-4 with RAT-4: the decision screen no longer offers a service that ended; the bulk decision does not grant
    it either. A request left with no active service is not widened to the whole structure unseen."""
    both = _request(world, ids=[world.achats, world.voirie])
    only = _request(world, user=world.other, ids=[world.achats])
    yesterday = services.today() - timedelta(days=1)
    services.update(world.manager, world.structure, world.achats,
                    ServiceData("ACHATS", "Service ACHATS", yesterday - timedelta(days=5), yesterday))
    client = _client(app, accounts, "sophie@commune.example")
    assert f'value="{world.achats.id}"' not in page(client.get(f"/gestionnaire/rattachements/{both.id}"))
    memberships.decide(world.manager, [both.id], accept=True)
    assert _statuses(both.id) == {"ACHATS": "refused", "VOIRIE": "validated"}
    answer = client.post("/gestionnaire/rattachements", data={"ids": [str(only.id)], "action": "valider"},
                         follow_redirects=True)
    assert "Zoé Zola porte sur des services qui ne sont plus actifs" in page(answer)
    assert _membership(world.other, world.structure).status == "pending" and _statuses(only.id) == {"ACHATS": "pending"}


def test_validated_with_no_box_ticked_works_for_the_whole_structure(app, accounts, world):
    """RAT-3: "aucun service coché : toute la structure". The services asked are refused, and the membership then
    works in every service (it gets their space requests), as the lists say."""
    from chorus.structures.units import memberships_of_units

    m = _request(world, ids=[world.achats])
    client = _client(app, accounts, "sophie@commune.example")
    client.post(f"/gestionnaire/rattachements/{m.id}", data={"action": "valider", "role": "member"})
    assert _statuses(m.id) == {"ACHATS": "refused"}
    assert "Toute la structure" in page(client.get(f"/structures/{world.structure.id}"))
    fresh()
    units = memberships_of_units(world.structure, [str(world.voirie.id), str(world.achats.id)])
    assert all(m.id in members for members in units.values())


def test_a_bulk_decision_costs_the_services_module_one_query_not_one_per_request(app, accounts, world):
    # P5: a bulk of 1,000 requests answered each event with an UPDATE and a SELECT (1,000 of each). Requests
    # that name no service cost nothing: which memberships have service rows is read once per transaction.
    from sqlalchemy import event

    from helpers import many_requests

    asked = _request(world, ids=[world.achats])
    plain = many_requests(world.structure, 30)
    statements = []

    def count(conn, cursor, statement, *args):
        if "membership_service" in statement:
            statements.append(statement.split()[0])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        memberships.decide(world.manager, [asked.id, *plain], accept=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 4, statements  # the rows of the structure, then the one request that asked
    assert _statuses(asked.id) == {"ACHATS": "validated"}
    assert all(_statuses(i) == {} for i in plain)


def test_a_bulk_refusal_refuses_the_services(app, accounts, world):
    lucas = _request(world, ids=[world.achats])
    client = _client(app, accounts, "sophie@commune.example")
    client.post("/gestionnaire/rattachements", data={"ids": [str(lucas.id)], "action": "refuser", "reason": "Non"})
    assert _statuses(lucas.id) == {"ACHATS": "refused"}


# ------------------------------------------------------------------ attaching, removing, cancelling (RAT-6, RAT-7)


def test_attach_to_chosen_services_then_remove(app, accounts, world):
    attach(world.structure, world.other, status="refused")  # linked once: the search offers her (RAT-6)
    client = _client(app, accounts, "sophie@commune.example")
    url = f"/structures/{world.structure.id}/rattacher"
    shown = page(client.get(url + "?last_name=zola"))
    assert "« Rattacher à la structure », toute la structure" in shown and "VOIRIE" in shown
    response = client.post(url, data={"user_id": str(world.other.id), "role": "member",
                                      "services": [str(world.voirie.id)]})
    assert response.status_code == 303
    m = _membership(world.other, world.structure)
    assert _statuses(m.id) == {"VOIRIE": "validated"}
    # The record's users list and the service's page show it (SRV-6).
    record = page(client.get(f"/structures/{world.structure.id}"))
    users = record.split("Utilisateurs rattachés à la structure")[1]
    assert "VOIRIE" in users and "Toute la structure" in users  # Zoé: VOIRIE; Sophie: the whole structure
    filtered = page(client.get(f"/structures/{world.structure.id}?service=VOIRIE")).split(
        "Utilisateurs rattachés à la structure")[1]
    assert "Zoé Zola" in filtered and "Sophie Lemoine" not in filtered
    service_page = page(client.get(f"/structures/{world.structure.id}/services/{world.voirie.id}"))
    assert "Zoé Zola" in service_page.split("Utilisateurs rattachés au service")[1]
    # The user search (RAT-6): a "Service" criterion and a "Services sur cette structure" column.
    found = page(client.get(url + "?service=VOIRIE"))
    assert "Zoé Zola" in found and "Services sur cette structure : VOIRIE" in found
    assert "Lucas" not in page(client.get(url + "?service=ACHATS"))
    # Mon compte (RAT-2).
    zoe = _client(app, accounts, "zoe@commune.example")
    account = page(zoe.get("/mon-compte"))
    assert "Mes rattachements aux services" in account and "VOIRIE — Service VOIRIE" in account
    # RAT-7: removal at structure level; the services go with it.
    client.post(f"/structures/{world.structure.id}/rattachements/supprimer", data={"ids": [str(m.id)],
                                                                                "confirme": "oui"})
    assert _statuses(m.id) == {"VOIRIE": "deactivated"}
    assert "Zoé Zola" not in page(client.get(f"/structures/{world.structure.id}/services/{world.voirie.id}"))


def test_cancelling_a_request_drops_the_services_asked(world):
    m = _request(world, ids=[world.achats])
    memberships.cancel_request(world.requester, m)
    assert _statuses(m.id) == {}


def test_an_expired_request_refuses_its_services(world, travel):
    m = _request(world, ids=[world.achats])
    travel(days=400)
    memberships.expire_pending()
    assert _statuses(m.id) == {"ACHATS": "refused"}


def test_deleting_a_service_deletes_its_memberships(world):
    m = _request(world, ids=[world.achats, world.voirie])
    services.delete_many(world.manager, world.structure, [world.achats.id])
    assert _statuses(m.id) == {"VOIRIE": "pending"}


def test_a_service_cannot_be_deleted_while_someone_works_only_in_it(world):
    """Without a service, a membership is for the whole structure (RAT-3): deleting the only service of a member
    would widen their access unseen. Refused; once the member has another service, the deletion goes through."""
    m = _request(world, ids=[world.achats])
    memberships.decide(world.manager, [m.id], accept=True, extra={"services": [world.achats.id]})
    fresh()
    structure = db.session.get(type(world.structure), world.structure.id)
    with pytest.raises(Refused, match="1 utilisateur ne travaille que dans ACHATS"):
        services.delete_many(world.manager, structure, [world.achats.id])
    assert _statuses(m.id) == {"ACHATS": "validated"}
    with transaction():
        db.session.add(MembershipService(membership_id=m.id, service_id=world.voirie.id, status="validated",
                                         updated_at=clock.now()))
    assert services.delete_many(world.manager, structure, [world.achats.id]) == 1
    assert _statuses(m.id) == {"VOIRIE": "validated"}


def test_creating_an_account_attaches_it_to_the_chosen_services(app, accounts, world):
    # SPEC USR-4 with RAT-6: "Créer le compte utilisateur" offers the structure's services (the core form's hook).
    client = _client(app, accounts, "sophie@commune.example")
    url = f"/gestionnaire/comptes/nouveau?structure={world.structure.id}"
    shown = page(client.get(url))
    assert "ACHATS" in shown and "VOIRIE" in shown and "VENTES" not in shown and "FERME" not in shown
    person = {"last_name": "Roux", "first_name": "Emma", "login_email": "emma@commune.example", "contact_email": "",
              "phone": "", "role": "member", "start_date": "", "comment": ""}
    # Another structure's service is refused, nothing written.
    response = client.post(url, data={**person, "services": [str(world.foreign.id)]})
    assert response.status_code == 422
    from chorus.accounts.models import User

    fresh()
    assert db.session.execute(select(User.id).where(User.login_email == "emma@commune.example")).first() is None
    response = client.post(url, data={**person, "services": [str(world.achats.id)]})
    assert response.status_code == 303, page(response)
    fresh()
    emma = db.session.execute(select(User).where(User.login_email == "emma@commune.example")).scalar_one()
    [m] = db.session.execute(select(Membership).where(Membership.user_id == emma.id)).scalars().all()
    rows = db.session.execute(select(MembershipService.service_id, MembershipService.status).where(
        MembershipService.membership_id == m.id)).all()
    assert rows == [(world.achats.id, "validated")]


# ------------------------------------------------------------------ Rechercher un utilisateur, export (USR-1, USR-2)


def _grant(membership, *services_, status="validated"):
    with transaction():
        for service in services_:
            db.session.add(MembershipService(membership_id=membership.id, service_id=service.id, status=status,
                                             updated_at=clock.now()))


def test_the_user_search_has_a_service_criterion_and_column(app, world, accounts):
    # SPEC USR-2: "Concernant la structure : Désignation et service", across the manager's structures.
    _grant(attach(world.structure, world.requester), world.achats, world.voirie)
    _grant(attach(world.structure, world.other), world.voirie)
    _grant(attach(world.elsewhere, accounts.create("x@ailleurs.example", last_name="Ailleurs")), world.foreign)
    client = _client(app, accounts, "sophie@commune.example")
    found = page(client.get("/gestionnaire/utilisateurs", query_string={"service": "voirie"})).split("<tbody>")[-1]
    whole = page(client.get("/gestionnaire/utilisateurs"))
    assert 'for="filtre-service"' in whole and '<th scope="col">Services</th>' in whole
    assert "Garnier" in found and "Zola" in found and "Lemoine" not in found
    assert "ACHATS, VOIRIE" in found
    only = page(client.get("/gestionnaire/utilisateurs", query_string={"service": "ACHATS"})).split("<tbody>")[-1]
    assert "Garnier" in only and "Zola" not in only
    assert "Aucun utilisateur" in page(client.get("/gestionnaire/utilisateurs", query_string={"service": "VENTES"}))
    assert "Toute la structure" in whole  # Sophie, the primary manager, on the whole structure


def test_the_export_has_one_line_per_membership_and_service(app, world, accounts):
    """USR-1: one row per membership and service (when the csv_export plugin runs too)."""
    if app.extensions["chorus.plugins"].get_plugin("plugins.csv_export") is None:
        pytest.skip("the csv_export plugin is switched off for this run")
    _grant(attach(world.structure, world.requester), world.achats, world.voirie)
    client = _client(app, accounts, "sophie@commune.example")
    text = client.get("/gestionnaire/utilisateurs/export.csv").get_data().decode("utf-8-sig")
    rows = [line.split(";") for line in text.split("\r\n") if line]
    header = rows[0]
    assert header[2] == "Service"  # after the structure's identifier and designation
    lines = sorted((r[header.index("Nom")], r[2]) for r in rows[1:])
    assert lines == [("Garnier", "ACHATS"), ("Garnier", "VOIRIE"), ("Lemoine", "Toute la structure")]
    filtered = client.get("/gestionnaire/utilisateurs/export.csv", query_string={"service": "achats"})
    assert filtered.get_data().decode("utf-8-sig").count("\r\n") == 1 + 2  # Garnier's membership, both services
