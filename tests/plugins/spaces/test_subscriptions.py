"""Subscriptions: the defaults of a membership (ESP-2), requests and decisions (ABO-1..6), the structure's spaces
(ESP-3, ESP-4), history (HIS-1, HIS-2), e-mails (ABO-5, NOT-1) and a duplicated structure's copy (SIR-2)."""
from __future__ import annotations

import re

import pytest
from spaces_helpers import subscribe
from sqlalchemy import select

from chorus.events import Refused
from chorus.extensions import db
from chorus.history.models import HistoryEntry
from chorus.hookspecs import hookimpl
from helpers import attach, contact_address, fresh, make_structure, page
from plugins.spaces import services
from plugins.spaces.models import StructureSpace, Subscription, SubscriptionRequest


def held(user, structure=None):
    """{(space, structure id): right} of the user's validated subscriptions."""
    fresh()
    clauses = [Subscription.user_id == user.id, Subscription.status == "validated"]
    if structure is not None:
        clauses.append(Subscription.structure_id == structure.id)
    return {(s.space_code, s.structure_id): s.right for s in db.session.execute(
        select(Subscription).where(*clauses)).scalars()}


# ------------------------------------------------------------------ ESP-2: defaults, in the membership's transaction


def test_a_new_public_structure_opens_the_four_spaces_to_its_primary_manager(world):
    # SPEC ESP-2: on public structures the invoices spaces too; the dashboard follows the role (core).
    assert set(held(world.manager, world.commune)) == {(c, world.commune.id) for c in (
        "FACTURES_EMISES", "FACTURES_RECUES", "SOLLICITATIONS_EMISES", "SOLLICITATIONS_RECUES")}


def test_a_private_structure_opens_only_sollicitations_emises(world, accounts):
    # SPEC ESP-2: "Factures reçues" and "Sollicitations reçues" exist only on public structures.
    owner = accounts.create("anne@boulangerie.example", last_name="Martin")
    shop = make_structure(owner, "Boulangerie Martin")
    assert held(owner, shop) == {("SOLLICITATIONS_EMISES", shop.id): "modification"}


def test_a_validated_membership_request_grants_the_defaults(world, accounts):
    from chorus.memberships import services as memberships

    newcomer = accounts.create("nina@commune.example", last_name="Morvan")
    m = memberships.request_membership(newcomer, world.commune, comment="Arrivée")
    assert held(newcomer) == {}
    memberships.decide(world.manager, [m.id], accept=True)
    assert set(held(newcomer, world.commune)) == {(c, world.commune.id) for c in (
        "FACTURES_EMISES", "FACTURES_RECUES", "SOLLICITATIONS_EMISES", "SOLLICITATIONS_RECUES")}


class RefusesValidation:
    """A module that refuses every validation after the spaces module wrote its grants."""

    @hookimpl(trylast=True)
    def domain_change(self, event):
        if event.name == "membership.validated":
            raise Refused("Refusé par un autre module.")


def test_default_grants_roll_back_with_the_membership(make_app, accounts):
    # The grants are written in the membership's transaction: refused there, neither exists.
    from chorus.memberships import services as memberships

    with make_app(EXTRA_PLUGINS=[RefusesValidation()]).app_context():
        admin = accounts.create("admin@dgfip.example", is_admin=True)
        manager = accounts.create("sophie@commune.example")
        newcomer = accounts.create("nina@commune.example")
        commune = make_structure(manager, "Commune", public=True, admin=admin)
        m = memberships.request_membership(newcomer, commune)
        with pytest.raises(Refused):
            memberships.decide(manager, [m.id], accept=True)
        fresh()
        assert held(newcomer) == {}
        assert db.session.execute(select(Subscription.id).where(Subscription.user_id == newcomer.id)).first() is None


# ------------------------------------------------------------------ ABO-1, ABO-2, ACC-5: the user's request


def test_mon_compte_lists_the_subscriptions_and_a_request_reaches_the_managers(world, client_as):
    client = client_as("lucas@commune.example")
    account = page(client.get("/mon-compte"))
    assert "Mes abonnements aux espaces" in account and "Aucun abonnement à un espace." in account
    form = page(client.get(f"/mon-compte/abonnements?structure={world.commune.id}"))
    assert "Factures reçues" in form and "Tous les services" in form
    assert '<option value="FACTURES_EMISES"' not in form  # ABO-6: added without a request
    response = client.post("/mon-compte/abonnements", data={
        "structure": world.commune.id, "space": "FACTURES_RECUES", "right": "consultation", "unit": "",
        "comment": "Pour préparer les mandats"})
    assert response.status_code == 303
    fresh()
    [request] = db.session.execute(select(SubscriptionRequest)).scalars().all()
    assert (request.user_id, request.structure_id, request.comment, request.status) == (
        world.member.id, world.commune.id, "Pour préparer les mandats", "pending")
    assert "En cours de validation" in page(client.get("/mon-compte"))
    again = client.post("/mon-compte/abonnements", data={
        "structure": world.commune.id, "space": "FACTURES_RECUES", "right": "modification", "unit": ""})
    assert again.status_code == 422 and "déjà en cours" in page(again)


def test_a_request_names_only_the_users_structures_spaces_and_units(world, client_as, accounts):
    client = client_as("lucas@commune.example")
    owner = accounts.create("anne@boulangerie.example", last_name="Martin")
    shop = make_structure(owner, "Boulangerie Martin")
    # A structure the user does not belong to: not found, nothing made.
    assert client.post("/mon-compte/abonnements", data={"structure": shop.id, "space": "SOLLICITATIONS_EMISES",
                                                       "right": "consultation"}).status_code == 404
    bad = [{"space": "INCONNU", "right": "consultation"}, {"space": "FACTURES_RECUES", "right": "tout"},
           {"space": "FACTURES_RECUES", "right": "consultation", "unit": "999999"}]
    for data in bad:
        response = client.post("/mon-compte/abonnements", data={"structure": world.commune.id, **data})
        assert response.status_code == 422, data
    fresh()
    assert db.session.execute(select(SubscriptionRequest.id)).first() is None


def test_factures_emises_is_added_and_removed_without_validation(world, client_as):
    # SPEC ABO-6: no request, no manager; the history keeps it.
    client = client_as("lucas@commune.example")
    data = {"structure": world.commune.id, "space": "FACTURES_EMISES"}
    assert client.post("/mon-compte/abonnements/sans-validation", data={**data, "action": "ajouter"}).status_code == 303
    assert held(world.member, world.commune) == {("FACTURES_EMISES", world.commune.id): "modification"}
    assert client.get("/factures-emises/").status_code == 200
    assert client.post("/mon-compte/abonnements/sans-validation", data={**data, "action": "retirer"}).status_code == 303
    assert held(world.member, world.commune) == {}
    assert client.get("/factures-emises/").status_code == 403
    actions = db.session.execute(select(HistoryEntry.action).where(
        HistoryEntry.structure_id == world.commune.id, HistoryEntry.action.like("subscription.%"))).scalars().all()
    assert actions == ["subscription.self_added", "subscription.self_removed"]
    # Any other space goes through a request.
    other = client.post("/mon-compte/abonnements/sans-validation",
                        data={**data, "space": "FACTURES_RECUES", "action": "ajouter"})
    assert other.status_code == 400 and held(world.member, world.commune) == {}


# ------------------------------------------------------------------ ABO-2..5, HIS-2: the managers' decisions


def ask(user, structure, code="FACTURES_RECUES", right="modification", comment="Merci"):
    return services.request_subscription(user, structure, [services.Line(code, right)], comment)


def test_the_manager_grants_consultation_only_and_the_user_is_told(world, client_as, outbox):
    # SPEC ABO-3: Modification unticked, Consultation kept, a comment; ABO-5: the e-mail; HIS-2: "Validée".
    request = ask(world.member, world.commune)
    [line] = request.lines
    manager = client_as("sophie@commune.example")
    screen = page(manager.get(f"/gestionnaire/abonnements/{request.id}"))
    assert "Lucas Garnier" in screen and "Factures reçues" in screen and "Tous les services" in screen
    assert "Merci" in screen and "Consultation" in screen and "Modification" in screen
    response = manager.post(f"/gestionnaire/abonnements/{request.id}", data={
        "action": "valider", f"droit-{line.id}": "consultation", "comment": "La consultation suffit"})
    assert response.status_code == 303
    assert held(world.member, world.commune) == {("FACTURES_RECUES", world.commune.id): "consultation"}
    mail = outbox.last(contact_address("lucas@commune.example"))
    assert "validée" in mail.subject and "Factures reçues (Tous les services, consultation)" in mail.body
    assert "La consultation suffit" in mail.body
    entry = db.session.execute(select(HistoryEntry).where(HistoryEntry.action == "subscription.validated")
                               ).scalar_one()
    assert (entry.comment, entry.structure_id, entry.subject_user_id) == ("Validée", world.commune.id,
                                                                          world.member.id)
    member = client_as("lucas@commune.example")
    assert member.get("/factures-recues/").status_code == 200
    assert member.post("/factures-recues/").status_code in (403, 405)


def test_unticking_every_right_is_not_a_validation(world, client_as):
    request = ask(world.member, world.commune)
    response = client_as("sophie@commune.example").post(f"/gestionnaire/abonnements/{request.id}",
                                                        data={"action": "valider"})
    assert response.status_code == 422 and "ou refusez la demande" in page(response)
    fresh()
    assert db.session.get(SubscriptionRequest, request.id).status == "pending"


def test_refusing_needs_a_reason_which_the_user_receives(world, client_as, outbox):
    request = ask(world.member, world.commune)
    manager = client_as("karim@commune.example")  # a secondary manager decides too
    empty = manager.post(f"/gestionnaire/abonnements/{request.id}/refuser", data={"reason": " "})
    assert empty.status_code == 422 and "Le motif du refus est obligatoire." in page(empty)
    assert manager.post(f"/gestionnaire/abonnements/{request.id}/refuser",
                        data={"reason": "Hors de vos missions"}).status_code == 303
    assert held(world.member) == {}
    mail = outbox.last(contact_address("lucas@commune.example"))
    assert "refusée" in mail.subject and "Motif : Hors de vos missions" in mail.body
    entry = db.session.execute(select(HistoryEntry).where(HistoryEntry.action == "subscription.refused")
                               ).scalar_one()
    assert entry.comment == "Désactivée"  # SPEC HIS-2


def test_bulk_decisions_each_once_with_one_mail_and_one_history_entry(world, client_as, accounts, outbox):
    # SPEC ABO-4: many at once; deciding again changes nothing and sends nothing.
    people = []
    for i in range(3):
        user = accounts.create(f"agent{i}@commune.example", last_name=f"Agent{i}")
        attach(world.commune, user, "member")
        people.append(user)
    requests = [ask(u, world.commune, "SOLLICITATIONS_RECUES", "consultation") for u in people]
    foreign = ask(world.member, world.departement)  # not Sophie's to decide
    manager = client_as("sophie@commune.example")
    ids = [str(r.id) for r in requests] + [str(foreign.id)]
    assert manager.post("/gestionnaire/abonnements", data={"ids": ids, "action": "valider"}).status_code == 303
    for user in people:
        assert held(user, world.commune) == {("SOLLICITATIONS_RECUES", world.commune.id): "consultation"}
        assert len(outbox.all(contact_address(user.login_email))) == 1
    assert db.session.get(SubscriptionRequest, foreign.id).status == "pending"
    assert manager.post("/gestionnaire/abonnements", data={"ids": ids, "action": "valider"}).status_code == 303
    assert len(outbox.all()) == 3
    assert db.session.execute(select(db.func.count()).select_from(HistoryEntry).where(
        HistoryEntry.action == "subscription.validated")).scalar_one() == 3
    refused = ask(people[0], world.commune, "FACTURES_RECUES")
    no_reason = manager.post("/gestionnaire/abonnements", data={"ids": [str(refused.id)], "action": "refuser"})
    assert no_reason.status_code == 422 and "Le motif du refus est obligatoire." in page(no_reason)


def test_bulk_decisions_with_htmx_refresh_the_list_in_place(world, client_as, accounts):
    """The list is swapped in place with the messages (no reload); a missing reason keeps the boxes ticked."""
    people = [accounts.create(f"agent{i}@commune.example", last_name=f"Agent{i}") for i in range(2)]
    for user in people:
        attach(world.commune, user, "member")
    first, second = [ask(u, world.commune, "SOLLICITATIONS_RECUES", "consultation") for u in people]
    manager = client_as("sophie@commune.example")
    listing = page(manager.get("/gestionnaire/abonnements"))
    assert 'hx-post="/gestionnaire/abonnements"' in listing and 'hx-target="#demandes-abonnement"' in listing
    htmx = {"HX-Request": "true", "HX-Target": "demandes-abonnement"}
    refused = manager.post("/gestionnaire/abonnements", headers=htmx,
                           data={"ids": [str(first.id)], "action": "refuser"})
    html = page(refused)
    assert refused.status_code == 422 and "<html" not in html and "Le motif du refus est obligatoire." in html
    assert re.search(rf'value="{first.id}"[^>]*checked', html) and not re.search(rf'value="{second.id}"[^>]*checked',
                                                                                   html)
    done = manager.post("/gestionnaire/abonnements", headers=htmx, data={"ids": [str(first.id)], "action": "valider"})
    html = page(done)
    assert done.status_code == 200 and "<html" not in html and "<h1>" not in html
    assert 'id="flashes"' in html and "validée" in html  # the messages, out of band
    assert "1 demande en attente" in html and "Agent1" in html and "Agent0" not in html
    assert held(people[0], world.commune) == {("SOLLICITATIONS_RECUES", world.commune.id): "consultation"}


def test_the_dashboard_lists_the_pending_requests_with_row_actions(world, client_as):
    # MGR-1 item 2: the block, Valider / Refuser / Consulter per row.
    request = ask(world.member, world.commune)
    manager = client_as("sophie@commune.example")
    html = page(manager.get("/gestionnaire/"))
    assert "Les demandes d'abonnement aux espaces" in html
    assert f"/gestionnaire/abonnements/{request.id}/refuser" in html and "Lucas Garnier" in html
    assert manager.post(f"/gestionnaire/abonnements/{request.id}", data={
        "action": "valider", "quick": "1", "retour": "tableau"}).headers["Location"].endswith("/gestionnaire/")
    assert held(world.member, world.commune) == {("FACTURES_RECUES", world.commune.id): "modification"}
    assert "Aucune demande d'abonnement en attente." in page(manager.get("/gestionnaire/"))


def test_after_a_bulk_decision_the_list_shows_what_is_left_with_an_empty_reason(world, client_as, accounts):
    """Deciding the last page's only request shows the page before (not "no request"); a reason typed for one
    refusal is not offered again for the next requests (it would be mailed to other people)."""
    asked = []
    for i in range(52):  # two pages of 50
        user = accounts.create(f"agent{i}@commune.example", last_name=f"Agent{i:02d}")
        attach(world.commune, user, "member")
        asked.append(ask(user, world.commune, "SOLLICITATIONS_RECUES", "consultation"))
    manager = client_as("sophie@commune.example")
    htmx = {"HX-Request": "true", "HX-Target": "demandes-abonnement"}
    done = page(manager.post("/gestionnaire/abonnements", headers=htmx, data={
        "ids": [str(asked[-1].id)], "action": "refuser", "reason": "Motif pour Agent51", "page": "2"}))
    assert "1 demande d'abonnement refusée" in done and "51 demandes en attente (page 2 sur 2)" in done
    assert "Motif pour Agent51" not in done
    plain = manager.post("/gestionnaire/abonnements", data={"ids": [str(asked[-2].id)], "action": "valider",
                                                            "page": "2"})
    assert "50 demandes en attente" in page(manager.get(plain.headers["Location"]))
    missing = page(manager.post("/gestionnaire/abonnements", headers=htmx, data={
        "ids": [str(asked[0].id)], "action": "refuser", "reason": " "}))
    assert "Le motif du refus est obligatoire." in missing


def test_a_row_decision_on_the_dashboard_refreshes_its_block_in_place(world, client_as):
    """MGR-1 item 2 with htmx: Valider on a row gives back the block's table and the messages, not a page."""
    first = ask(world.member, world.commune)
    manager = client_as("sophie@commune.example")
    dashboard = page(manager.get("/gestionnaire/"))
    assert f'hx-post="/gestionnaire/abonnements/{first.id}" hx-target="#abonnements-tableau"' in dashboard
    response = manager.post(f"/gestionnaire/abonnements/{first.id}", data={
        "action": "valider", "quick": "1", "retour": "tableau"},
        headers={"HX-Request": "true", "HX-Target": "abonnements-tableau"})
    html = page(response)
    assert response.status_code == 200 and "<html" not in html and "<h2" not in html
    assert "Aucune demande d'abonnement en attente." in html and "validée" in html
    assert held(world.member, world.commune) == {("FACTURES_RECUES", world.commune.id): "modification"}


def test_a_manager_does_not_decide_their_own_request(world, client_as):
    own = ask(world.second, world.commune, "FACTURES_RECUES")
    manager = client_as("karim@commune.example")
    assert manager.get(f"/gestionnaire/abonnements/{own.id}").status_code == 404
    manager.post("/gestionnaire/abonnements", data={"ids": [str(own.id)], "action": "valider"})
    fresh()
    assert db.session.get(SubscriptionRequest, own.id).status == "pending"


# ------------------------------------------------------------------ ESP-3, ESP-4, ABO-1: the structure's spaces


def test_adding_spaces_to_the_structure(world, client_as):
    manager = client_as("karim@commune.example")
    record = page(manager.get(f"/structures/{world.commune.id}"))
    assert "Ajouter des espaces" in record
    screen = page(manager.get(f"/structures/{world.commune.id}/espaces"))
    assert "Tous les services" in screen and "Consultation" in screen and "Modification" in screen
    assert manager.get("/factures-emises/").status_code == 403
    response = manager.post(f"/structures/{world.commune.id}/espaces", data={
        "units": [""], "droit-FACTURES_EMISES": ["consultation", "modification"]})
    assert response.status_code == 303
    # ESP-4: at once in the top bar of the structure's managers (no new login).
    assert "Factures émises" in page(manager.get("/mon-compte")).split("</nav>")[0]
    assert manager.get("/factures-emises/").status_code == 200
    assert held(world.second, world.commune) == {("FACTURES_EMISES", world.commune.id): "modification"}
    # ABO-1: the other users get a request each, which their managers then decide.
    [request] = db.session.execute(select(SubscriptionRequest)).scalars().all()
    assert (request.user_id, request.origin, [line.space_code for line in request.lines]) == (
        world.member.id, "structure", ["FACTURES_EMISES"])
    assert db.session.execute(select(StructureSpace.space_code)).scalars().all() == ["FACTURES_EMISES"]
    assert "Factures émises" in page(manager.get(f"/structures/{world.commune.id}"))
    nothing = manager.post(f"/structures/{world.commune.id}/espaces", data={"units": [""]})
    assert nothing.status_code == 422


def test_spaces_for_chosen_services_name_only_the_structures_services(world, client_as):
    # With the services module (structure_units): a service of another structure is refused.
    from chorus.structures.units import units_of

    manager = client_as("sophie@commune.example")
    response = manager.post(f"/structures/{world.commune.id}/espaces", data={
        "units": ["123456"], "droit-FACTURES_RECUES": ["consultation"]})
    assert response.status_code == 422
    assert "123456" not in dict(units_of(world.commune))


# ------------------------------------------------------------------ SIR-2: a duplicated structure


def test_copying_spaces_and_subscriptions_to_a_duplicated_structure(world, accounts):
    from chorus.database import transaction
    from chorus.memberships.models import Membership

    services.add_structure_spaces(world.manager, world.commune, [""], {"SOLLICITATIONS_RECUES": "consultation"})
    subscribe(world.member, world.commune, "FACTURES_RECUES", "consultation")
    ask(world.member, world.commune, "SOLLICITATIONS_EMISES")  # pending: stays with the old structure
    successor = make_structure(accounts.create("x@successeur.example"), "Successeur", public=True,
                               admin=world.admin)
    old = {m.user_id: m.id for m in db.session.execute(select(Membership).where(
        Membership.structure_id == world.commune.id, Membership.status == "validated")).scalars()}
    new = {user_id: attach(successor, db.session.get(type(world.member), user_id), "member").id
           for user_id in old if user_id != world.manager.id}
    with transaction():
        services.copy_structure(successor.id, world.commune.id, {old[u]: new[u] for u in new})
    fresh()
    assert held(world.member, successor) == {("FACTURES_RECUES", successor.id): "consultation"}
    assert [s.space_code for s in services.structure_spaces(successor.id)] == ["SOLLICITATIONS_RECUES"]
    assert db.session.execute(select(Subscription.id).where(Subscription.structure_id == successor.id,
                                                            Subscription.status == "pending")).first() is None


def test_the_structure_duplicated_event_copies_through_domain_change(world, accounts):
    # P10's core event (structure.duplicated) reaches this branch inside its transaction.
    from chorus.database import transaction
    from chorus.events import Event
    from chorus.memberships.models import Membership
    from plugins import spaces as plugin

    services.add_structure_spaces(world.manager, world.commune, [""], {"FACTURES_EMISES": "consultation"})
    successor = make_structure(accounts.create("x@successeur.example"), "Successeur", public=True, admin=world.admin)
    old = db.session.execute(select(Membership.id).where(Membership.user_id == world.member.id,
                                                         Membership.structure_id == world.commune.id)).scalar_one()
    subscribe(world.member, world.commune, "SOLLICITATIONS_EMISES", "modification")
    new = attach(successor, world.member, "member").id
    with transaction():
        plugin.domain_change(Event("structure.duplicated", {"structure_id": successor.id,
                                                            "source_id": world.commune.id, "memberships": {old: new}}))
    assert held(world.member, successor) == {("SOLLICITATIONS_EMISES", successor.id): "modification"}
    assert [s.space_code for s in services.structure_spaces(successor.id)] == ["FACTURES_EMISES"]


def _services_on(app):
    return app.extensions["chorus.plugins"].get_plugin("plugins.services") is not None


def test_spaces_per_service_with_the_services_module(world, client_as, app):
    # ESP-3: chosen services; SRV-6: a service's "Liste des espaces" shows those open for it and for all.
    if not _services_on(app):
        pytest.skip("the services plugin is switched off for this run")
    from datetime import date

    from plugins.services import services as service_rules

    achats = service_rules.create(world.manager, world.commune,
                                  service_rules.ServiceData("ACHATS", "Achats", date(2026, 1, 1)))
    voirie = service_rules.create(world.manager, world.commune,
                                  service_rules.ServiceData("VOIRIE", "Voirie", date(2026, 1, 1)))
    manager = client_as("sophie@commune.example")
    form = page(manager.get(f"/structures/{world.commune.id}/espaces"))
    assert "ACHATS — Achats" in form and "VOIRIE — Voirie" in form
    both = manager.post(f"/structures/{world.commune.id}/espaces", data={
        "units": ["", str(achats.id)], "droit-FACTURES_RECUES": ["consultation"]})
    assert both.status_code == 422 and "pas les deux" in page(both)
    assert manager.post(f"/structures/{world.commune.id}/espaces", data={
        "units": [str(achats.id)], "droit-FACTURES_RECUES": ["consultation"]}).status_code == 303
    fresh()
    [request] = db.session.execute(select(SubscriptionRequest).where(
        SubscriptionRequest.user_id == world.member.id)).scalars().all()
    assert [(line.unit_id, line.unit_label) for line in request.lines] == [(str(achats.id), "ACHATS — Achats")]
    shown = page(manager.get(f"/structures/{world.commune.id}/services/{achats.id}"))
    assert "Espaces ouverts pour ce service" in shown and "Factures reçues" in shown
    assert "Aucun espace n'est ouvert pour ce service." in page(
        manager.get(f"/structures/{world.commune.id}/services/{voirie.id}"))
    # A user's request for one service names it; the manager sees which.
    asked = client_as("lucas@commune.example").post("/mon-compte/abonnements", data={
        "structure": world.commune.id, "space": "SOLLICITATIONS_RECUES", "right": "consultation",
        "unit": str(voirie.id)})
    assert asked.status_code == 303
    assert "Sollicitations reçues (VOIRIE — Voirie, consultation)" in page(manager.get("/gestionnaire/abonnements"))


def test_a_space_held_for_one_service_may_be_asked_for_all_of_them(world, app):
    """ABO-2: a request is for all services or one; holding a space for ACHATS does not cover all services. Held
    for all services (or with Modification for ACHATS), the same request is refused as already held."""
    if not _services_on(app):
        pytest.skip("the services plugin is switched off for this run")
    from datetime import date

    from plugins.services import services as service_rules

    achats = service_rules.create(world.manager, world.commune,
                                  service_rules.ServiceData("ACHATS", "Achats", date(2026, 1, 1)))
    one = services.request_subscription(world.member, world.commune,
                                        [services.Line("FACTURES_RECUES", "consultation", str(achats.id))])
    services.decide(world.manager, [one.id], accept=True)
    with pytest.raises(Refused, match="déjà abonné"):
        services.request_subscription(world.member, world.commune,
                                      [services.Line("FACTURES_RECUES", "consultation", str(achats.id))])
    wider = services.request_subscription(world.member, world.commune,
                                          [services.Line("FACTURES_RECUES", "consultation")])
    services.decide(world.manager, [wider.id], accept=True)
    with pytest.raises(Refused, match="déjà abonné"):
        services.request_subscription(world.member, world.commune,
                                      [services.Line("FACTURES_RECUES", "consultation", str(achats.id))])


def test_a_deleted_service_takes_its_spaces_and_subscriptions_with_it(world, client_as, app):
    """Core event structure.unit_removed: deleting a service closes the spaces opened for it and ends their
    subscriptions. On SQLite the next service may get the deleted one's id: it inherits nothing."""
    if not _services_on(app):
        pytest.skip("the services plugin is switched off for this run")
    from datetime import date

    from plugins.services import services as service_rules

    achats = service_rules.create(world.manager, world.commune,
                                  service_rules.ServiceData("ACHATS", "Achats", date(2026, 1, 1)))
    services.add_structure_spaces(world.manager, world.commune, [str(achats.id)], {"FACTURES_RECUES": "consultation"})
    fresh()
    [request] = db.session.execute(select(SubscriptionRequest).where(
        SubscriptionRequest.user_id == world.member.id)).scalars().all()
    services.decide(world.manager, [request.id], accept=True)
    service_rules.delete_many(world.manager, world.commune, [achats.id])
    fresh()
    assert [s for s in services.structure_spaces(world.commune.id) if s.unit_id == str(achats.id)] == []
    assert set(db.session.execute(select(Subscription.status).where(
        Subscription.unit_id == str(achats.id))).scalars()) == {"refused"}
    # A request pending for it: refused when it asked nothing else; otherwise validated without the deleted line.
    voirie = service_rules.create(world.manager, world.commune,
                                  service_rules.ServiceData("VOIRIE", "Voirie", date(2026, 1, 1)))
    only = services.request_subscription(world.member, world.commune,
                                         [services.Line("SOLLICITATIONS_RECUES", "consultation", str(voirie.id))])
    both = services.request_subscription(world.second, world.commune,
                                         [services.Line("SOLLICITATIONS_RECUES", "consultation", str(voirie.id)),
                                          services.Line("SOLLICITATIONS_EMISES", "consultation")])
    service_rules.delete_many(world.manager, world.commune, [voirie.id])
    fresh()
    assert db.session.get(SubscriptionRequest, only.id).status == "refused"
    services.decide(world.manager, [both.id], accept=True)
    fresh()
    assert {(s.space_code, s.status) for s in db.session.get(SubscriptionRequest, both.id).lines} == {
        ("SOLLICITATIONS_RECUES", "refused"), ("SOLLICITATIONS_EMISES", "validated")}
    nouveau = service_rules.create(world.manager, world.commune,
                                   service_rules.ServiceData("NOUVEAU", "Nouveau", date(2026, 1, 1)))
    shown = page(client_as("sophie@commune.example").get(f"/structures/{world.commune.id}/services/{nouveau.id}"))
    assert "Aucun espace n'est ouvert pour ce service." in shown


def test_without_the_services_module_a_request_is_for_the_whole_structure(make_app, accounts):
    from helpers import disabled_plugins

    with make_app(DISABLED_PLUGINS=disabled_plugins("plugins.services")).app_context():
        admin = accounts.create("admin@dgfip.example", is_admin=True)
        manager = accounts.create("sophie@commune.example")
        member = accounts.create("lucas@commune.example")
        commune = make_structure(manager, "Commune", public=True, admin=admin)
        attach(commune, member, "member")
        client = make_app(DISABLED_PLUGINS=disabled_plugins("plugins.services")).test_client()
        accounts.login(client, "lucas@commune.example")
        form = page(client.get(f"/mon-compte/abonnements?structure={commune.id}"))
        assert form.count("<option value=\"\">Tous les services</option>") == 1 and "— " not in form.split(
            'id="unit"')[1].split("</select>")[0]
        assert client.post("/mon-compte/abonnements", data={"structure": commune.id, "space": "FACTURES_RECUES",
                                                            "right": "consultation", "unit": ""}).status_code == 303


def test_the_history_lists_the_decision_with_its_spaces(world, client_as):
    # HIS-1: subscriptions processed are in the structure's history, with what was decided.
    request = ask(world.member, world.commune, comment="Pour les mandats")
    [line] = request.lines
    manager = client_as("sophie@commune.example")
    manager.post(f"/gestionnaire/abonnements/{request.id}", data={
        "action": "valider", f"droit-{line.id}": "consultation", "comment": "La consultation suffit"})
    listing = page(manager.get(f"/structures/{world.commune.id}/historique"))
    assert "Demande d'abonnement de Lucas Garnier validée" in listing and "Validée" in listing
    fresh()
    entry = db.session.execute(select(HistoryEntry.id).where(HistoryEntry.action == "subscription.validated")
                               ).scalar_one()
    detail = page(manager.get(f"/structures/{world.commune.id}/historique/{entry}"))
    assert "Factures reçues (Tous les services, consultation)" in detail
    assert "Pour les mandats" in detail and "La consultation suffit" in detail


def test_the_demo_shows_spaces_and_a_pending_request(app):
    from chorus.demo import load_demo

    demo = load_demo()
    fresh()
    pending = db.session.execute(select(SubscriptionRequest).where(SubscriptionRequest.status == "pending")
                                 ).scalars().all()
    assert [(r.user_id, r.structure_id) for r in pending] == [(demo["agent"].id, demo["structure:commune"].id)]
    assert ("SOLLICITATIONS_EMISES", demo["structure:commune"].id) in held(demo["agent"])
    assert load_demo()["created"] is False


def test_a_bulk_decision_reads_the_same_whatever_its_size(world, accounts):
    # No N+1: the requests, their lines, users and structures are read once per decision, not once per request.
    from sqlalchemy import event

    def selects_for(n, tag):
        people = [accounts.create(f"{tag}{i}@commune.example", last_name=f"{tag}{i}") for i in range(n)]
        for user in people:
            attach(world.commune, user, "member")
        ids = [ask(u, world.commune, "SOLLICITATIONS_RECUES", "consultation").id for u in people]
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(statement.split()[0].upper())

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            report = services.decide(world.manager, ids, accept=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert len(report.decided) == n
        return statements.count("SELECT")

    assert selects_for(3, "petit") == selects_for(12, "grand")


def test_spaces_for_one_service_are_asked_of_the_people_working_in_it(world, accounts, app):
    # SPEC ESP-3 with ABO-1: the requests go to the members concerned: those of the chosen service, and those
    # attached to the whole structure; not a member attached to another service only (hook unit_memberships).
    if not _services_on(app):
        pytest.skip("the services plugin is switched off for this run")
    from datetime import date

    from chorus import clock
    from chorus.database import transaction
    from plugins.services import services as service_rules
    from plugins.services.models import MembershipService

    achats = service_rules.create(world.manager, world.commune,
                                  service_rules.ServiceData("ACHATS", "Achats", date(2026, 1, 1)))
    voirie = service_rules.create(world.manager, world.commune,
                                  service_rules.ServiceData("VOIRIE", "Voirie", date(2026, 1, 1)))
    buyer = accounts.create("lea@commune.example", last_name="Roux")
    roads = accounts.create("hugo@commune.example", last_name="Morel")
    for person, service in ((buyer, achats), (roads, voirie)):
        membership = attach(world.commune, person, "member")
        with transaction():
            db.session.add(MembershipService(membership_id=membership.id, service_id=service.id,
                                             status="validated", updated_at=clock.now()))
    made = services.add_structure_spaces(world.manager, world.commune, [str(achats.id)],
                                         {"FACTURES_RECUES": "consultation"})
    fresh()
    asked = set(db.session.execute(select(SubscriptionRequest.user_id).where(
        SubscriptionRequest.structure_id == world.commune.id)).scalars())
    assert asked == {buyer.id, world.member.id} and made == 2
