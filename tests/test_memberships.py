"""Memberships: requests, decisions one by one or in bulk, direct attachment, removal, expiry (SPEC RAT)."""
from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from chorus import clock
from chorus.extensions import db
from chorus.history.models import HistoryEntry
from chorus.hookspecs import hookimpl
from chorus.mail.models import OutboxMessage
from chorus.memberships import services
from chorus.memberships.models import Membership
from helpers import PASSWORD, attach, disabled_plugins, fresh, make_structure, many_requests, page, without_tokens

LUCAS_CONTACT = "lucas.contact@commune.example"  # his contact address: membership mails go there (NOT-1)


@pytest.fixture
def world(app, accounts):
    """A public structure (manager Sophie, secondary Karim) and a private one, and a requester, Lucas."""
    admin = accounts.create("admin@dgfip.example", is_admin=True)
    manager = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
    secondary = accounts.create("karim@commune.example", first_name="Karim", last_name="Benali")
    requester = accounts.create("lucas@commune.example", first_name="Lucas", last_name="Garnier")
    commune = make_structure(manager, "Commune de Saint-Exemple", public=True, admin=admin)
    attach(commune, secondary, "secondary")
    atelier = make_structure(accounts.create("paul@atelier.example", last_name="Dupont"), "Atelier Dupont")
    return type("World", (), dict(admin=admin, manager=manager, secondary=secondary, requester=requester,
                                  commune=commune, atelier=atelier))


def client_as(app, email):
    client = app.test_client()
    response = client.post("/connexion", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303
    return client


def memberships_of(user, structure):
    fresh()
    return db.session.execute(select(Membership).where(Membership.user_id == user.id,
                                                       Membership.structure_id == structure.id)).scalars().all()


def count(model, *where):
    fresh()
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


# ------------------------------------------------------------------ asking (RAT-1, RAT-2, RAT-8)


def test_a_user_finds_a_structure_by_identifier_and_asks_to_join(app, world):
    client = client_as(app, "lucas@commune.example")
    siret = world.commune.identifier
    found = page(client.get("/mon-compte/rattachements/nouveau",
                            query_string={"identifier_type": "SIRET", "identifier": f"{siret[:9]} {siret[9:]}"}))
    assert "Commune de Saint-Exemple" in found and "Envoyer la demande" in found
    unknown = page(client.get("/mon-compte/rattachements/nouveau",
                              query_string={"identifier_type": "SIRET", "identifier": "12345678901234"}))
    assert "Aucune structure active n'a cet identifiant." in unknown
    response = client.post("/mon-compte/rattachements/nouveau", data={
        "identifier_type": "SIRET", "identifier": world.commune.identifier, "role": "secondary",
        "comment": "Service des finances"})
    assert response.status_code == 303
    [m] = memberships_of(world.requester, world.commune)
    assert (m.status, m.role, m.comment) == ("pending", "secondary", "Service des finances")
    html = page(client.get("/mon-compte"))  # SPEC RAT-2
    assert "Commune de Saint-Exemple" in html and "En cours de validation" in html

    commune = {"identifier_type": "SIRET", "identifier": world.commune.identifier}
    again = client.post("/mon-compte/rattachements/nouveau", data={**commune, "role": "member", "comment": ""})
    assert again.status_code == 422  # SPEC RAT-8: one pending request per user and structure
    assert "Vous avez déjà une demande en cours pour cette structure." in page(again)
    assert client.post("/mon-compte/rattachements/nouveau", data={
        **commune, "role": "primary"}).status_code == 422  # no asking for primary


def test_the_requester_cancels_a_pending_request(app, world):
    m = services.request_membership(world.requester, world.commune, comment="")
    client = client_as(app, "lucas@commune.example")
    assert client.post(f"/mon-compte/rattachements/{m.id}/annuler").status_code == 303
    assert memberships_of(world.requester, world.commune)[0].status == "cancelled"
    assert "Cette demande a déjà été traitée" in page(client.post(
        f"/mon-compte/rattachements/{m.id}/annuler", follow_redirects=True))
    # Someone else's request cannot be cancelled (404), and a new request is possible again.
    other = client_as(app, "karim@commune.example")
    m2 = services.request_membership(world.requester, world.commune, comment="")
    assert other.post(f"/mon-compte/rattachements/{m2.id}/annuler").status_code == 404


# ------------------------------------------------------------------ deciding (RAT-3..5, HIS-1..3, ESP-2)


def test_manager_validates_a_request_with_another_role(app, world, outbox):
    m = services.request_membership(world.requester, world.commune, role="member", comment="Agent comptable")
    client = client_as(app, "sophie@commune.example")
    screen = page(client.get(f"/gestionnaire/rattachements/{m.id}"))  # SPEC RAT-3
    for text in ("Commune de Saint-Exemple", "Lucas Garnier", "lucas@commune.example", "Agent comptable",
                 "Gestionnaire secondaire", "Valider", "Refuser", "Retour"):
        assert text in screen
    response = client.post(f"/gestionnaire/rattachements/{m.id}", data={"action": "valider", "role": "secondary"})
    assert response.status_code == 303
    [m] = memberships_of(world.requester, world.commune)
    assert (m.status, m.role, m.decided_by_id) == ("validated", "secondary", world.manager.id)
    mail = outbox.last(LUCAS_CONTACT)  # SPEC RAT-5
    assert "validé" in mail.subject and "gestionnaire secondaire" in mail.body
    entry = db.session.execute(select(HistoryEntry).where(HistoryEntry.action == "membership.validated")).scalar_one()
    assert entry.comment == "Validée" and entry.actor_id == world.manager.id  # SPEC HIS-2
    detail = page(client.get(f"/structures/{world.commune.id}/historique/{entry.id}"))  # SPEC HIS-3
    assert "Demande de rattachement" in detail and "Agent comptable" in detail and "lucas@commune.example" in detail
    # The new secondary manager now has the managers' space.
    assert ">Activités du gestionnaire</a>" in page(client_as(app, "lucas@commune.example").get("/mon-compte"))


def test_refusing_needs_a_reason_which_the_user_receives(app, world, outbox):
    m = services.request_membership(world.requester, world.commune, comment="")
    client = client_as(app, "karim@commune.example")  # a secondary manager decides too
    empty = client.post(f"/gestionnaire/rattachements/{m.id}", data={"action": "refuser", "reason": "  "})
    assert empty.status_code == 422 and "Le motif du refus est obligatoire." in page(empty)
    assert memberships_of(world.requester, world.commune)[0].status == "pending"
    client.post(f"/gestionnaire/rattachements/{m.id}", data={"action": "refuser", "reason": "Inconnu du service"})
    [m] = memberships_of(world.requester, world.commune)
    assert (m.status, m.decision_reason) == ("refused", "Inconnu du service")
    mail = outbox.last(LUCAS_CONTACT)
    assert "refusée" in mail.subject and "Motif : Inconnu du service" in mail.body
    assert db.session.execute(select(HistoryEntry.comment).where(
        HistoryEntry.action == "membership.refused")).scalar_one() == "Refusée"


def test_a_processed_request_is_not_decided_twice(app, world, outbox):
    m = services.request_membership(world.requester, world.commune, comment="")
    services.decide(world.manager, [m.id], accept=True)
    report = services.decide(world.secondary, [m.id], accept=False, reason="Trop tard")
    assert report.decided == [] and report.skipped == 1
    assert memberships_of(world.requester, world.commune)[0].status == "validated"
    assert len(outbox.all(LUCAS_CONTACT)) == 1
    assert count(HistoryEntry, HistoryEntry.action.like("membership.%")) == 1


def test_managers_see_and_decide_only_their_structures_requests(app, world, accounts):
    # SPEC MGR-2
    mine = services.request_membership(world.requester, world.commune, comment="")
    theirs = services.request_membership(world.requester, world.atelier, comment="")
    client = client_as(app, "sophie@commune.example")
    html = page(client.get("/gestionnaire/rattachements"))
    assert f'value="{mine.id}"' in html and f'value="{theirs.id}"' not in html and "1 demande en attente" in html
    assert client.get(f"/gestionnaire/rattachements/{theirs.id}").status_code == 404
    client.post("/gestionnaire/rattachements", data={"ids": [mine.id, theirs.id], "action": "valider"})
    assert memberships_of(world.requester, world.atelier)[0].status == "pending"
    assert memberships_of(world.requester, world.commune)[0].status == "validated"


def test_no_one_grants_the_primary_role(world):
    # SPEC RAT-8: a secondary manager cannot grant the primary role (nor can anyone: it is transferred)
    m = services.request_membership(world.requester, world.commune, comment="")
    with pytest.raises(services.MembershipError):
        services.decide(world.secondary, [m.id], accept=True, role="primary")
    with pytest.raises(services.MembershipError):
        services.attach_user(world.manager, world.commune, world.admin, role="primary")
    assert memberships_of(world.requester, world.commune)[0].status == "pending"


def test_a_manager_never_decides_their_own_request(app, world):
    # SPEC RAT-8: the request is hidden from its author's list and refused by the service
    other = make_structure(world.secondary, "Atelier Benali")
    m = services.request_membership(world.manager, other, comment="")  # Sophie asks to join Karim's structure
    attach(world.commune, world.requester, "secondary")  # Lucas, a manager elsewhere, cannot decide it either
    report = services.decide(world.manager, [m.id], accept=True)
    assert report.decided == [] and memberships_of(world.manager, other)[0].status == "pending"
    assert services.decide(world.requester, [m.id], accept=True).decided == []
    assert services.decide(world.secondary, [m.id], accept=True).decided == [m.id]


def test_bulk_decisions_with_checkboxes(app, world, accounts, outbox):
    # SPEC RAT-4: validate and refuse several requests at once
    people = [accounts.create(f"agent{i}@commune.example", last_name=f"Agent{i}") for i in range(4)]
    ids = [services.request_membership(p, world.commune, comment="").id for p in people]
    client = client_as(app, "sophie@commune.example")
    no_reason = client.post("/gestionnaire/rattachements", data={"ids": ids[:2], "action": "refuser"},
                            headers={"HX-Request": "true", "HX-Target": "demandes"})
    assert no_reason.status_code == 422 and "Le motif du refus est obligatoire." in page(no_reason)
    assert "<html" not in page(no_reason)
    refused = client.post("/gestionnaire/rattachements", data={"ids": ids[:2], "action": "refuser",
                                                               "reason": "Hors périmètre"})
    assert refused.status_code == 303
    validated = client.post("/gestionnaire/rattachements", data={"ids": ids[2:], "action": "valider"},
                            headers={"HX-Request": "true", "HX-Target": "demandes"})
    html = page(validated)
    assert "2 demandes validées" in html and "Aucune demande de rattachement en attente." in html
    fresh()
    statuses = db.session.execute(select(Membership.status).where(Membership.id.in_(ids)).order_by(
        Membership.id)).scalars().all()
    assert statuses == ["refused", "refused", "validated", "validated"]
    assert len(outbox.all()) == 4


def test_after_a_bulk_decision_the_list_shows_what_is_left_with_an_empty_reason(app, world, accounts):
    """Deciding the last page's only request shows the page before (not "no request"); a reason typed for one
    refusal is not offered again for the next requests (it would be mailed to other people)."""
    from helpers import many_requests

    ids = many_requests(world.commune, 52, tag="foule")
    client = client_as(app, "sophie@commune.example")
    htmx = {"HX-Request": "true", "HX-Target": "demandes"}
    done = page(client.post("/gestionnaire/rattachements", headers=htmx, data={
        "ids": [str(ids[-1])], "action": "refuser", "reason": "Motif pour le dernier", "page": "2"}))
    assert "1 demande refusée" in done and "Motif pour le dernier" not in done
    assert "51 demandes en attente (page 2 sur 2)" in done
    plain = client.post("/gestionnaire/rattachements", data={"ids": [str(ids[-2])], "action": "valider",
                                                             "page": "2"})
    assert "50 demandes en attente" in page(client.get(plain.headers["Location"]))


# ------------------------------------------------------------------ direct attachment (RAT-6)


def test_manager_attaches_a_person_linked_to_their_structures(app, world, outbox):
    # SPEC RAT-6: search (one criterion at least), role, start date, comment; told at the contact address.
    services.cancel_request(world.requester, services.request_membership(world.requester, world.commune))
    client = client_as(app, "sophie@commune.example")
    url = f"/structures/{world.commune.id}/rattacher"
    assert "Saisissez au moins un critère de recherche." in page(client.get(url, query_string={"rechercher": "1"}))
    found = page(client.get(url, query_string={"last_name": "garn"}))  # Lucas once asked to join: he is linked
    assert "Lucas Garnier" in found and "Sophie" not in found.split("Utilisateur à rattacher")[-1]
    response = client.post(url, data={"user_id": world.requester.id, "role": "member",
                                      "start_date": "2026-12-01", "comment": "Bienvenue"})
    assert response.status_code == 303
    [m] = [m for m in memberships_of(world.requester, world.commune) if m.status == "validated"]
    assert (m.role, m.start_date, m.decided_by_id) == ("member", date(2026, 12, 1), world.manager.id)
    mail = outbox.last(LUCAS_CONTACT)  # SPEC RAT-6: "at their contact address"
    assert outbox.all("lucas@commune.example") == []
    assert "votre rattachement" in mail.subject and "01/12/2026" in mail.body and "Sophie Lemoine" in mail.body
    assert "Lucas Garnier" in page(client.get(f"/structures/{world.commune.id}"))
    again = client.post(url, data={"user_id": world.requester.id, "role": "member"})
    assert again.status_code == 422 and "est déjà membre de cette structure" in page(again)
    # The search says who is already a member instead of offering them again (P6-16).
    assert "déjà membre de la structure" in page(client.get(url, query_string={"last_name": "garn"}))


def test_an_id_posted_to_the_attachment_form_names_and_attaches_nobody_the_screen_did_not_offer(app, world,
                                                                                              outbox):
    # P6-1: any manager (anyone who created a private structure) posted user_id=N with a bad role and read
    # N's name and address in the 422 page; with a good role, N was attached and mailed the manager's text.
    client = client_as(app, "sophie@commune.example")
    url = f"/structures/{world.commune.id}/rattacher"
    before = len(outbox.all())
    for role in ("pirate", "member"):
        response = client.post(url, data={"user_id": world.requester.id, "role": role, "comment": "Cliquez ici"})
        assert response.status_code == 422
        assert "Garnier" not in page(response) and "lucas@commune.example" not in page(response)
    assert memberships_of(world.requester, world.commune) == []
    assert len(outbox.all()) == before
    with pytest.raises(services.MembershipError):
        services.attach_user(world.manager, world.commune, world.requester, role="member")


def test_a_person_with_no_link_is_invited_and_joins_on_accepting(app, world, accounts, outbox):
    # SPEC RAT-6 (amended): an invitation, the same screen whether or not the address has an account.
    client = client_as(app, "sophie@commune.example")
    url = f"/structures/{world.commune.id}/rattacher"
    assert "Garnier" not in page(client.get(url, query_string={"last_name": "garn"}))
    screens = {}
    for address in ("lucas@commune.example", "personne@nulle-part.example"):
        html = page(client.get(url, query_string={"email": address}))
        assert "Lucas Garnier" not in html and "Envoyer l'invitation" in html
        screens[address] = without_tokens(html).replace(address, "@")
        response = client.post(f"/structures/{world.commune.id}/inviter?email={address}",
                               data={"invitee_email": address, "role": "secondary", "comment": "Pour le budget"})
        assert response.status_code == 303
        screens[address] += without_tokens(page(client.get(response.headers["Location"]))).replace(address, "@")
    assert screens["lucas@commune.example"] == screens["personne@nulle-part.example"]  # no account enumeration
    assert memberships_of(world.requester, world.commune) == []  # nobody attached without saying yes
    mail = outbox.last("lucas@commune.example")
    assert "invitation" in mail.subject and "Sophie Lemoine" in mail.body and "Pour le budget" in mail.body
    link = outbox.link("lucas@commune.example")
    # Only the invited login address may answer.
    assert client_as(app, "karim@commune.example").get(link).status_code == 404
    lucas = client_as(app, "lucas@commune.example")
    assert "Commune de Saint-Exemple" in page(lucas.get(link))
    assert lucas.post(link, data={"action": "accepter"}).status_code == 303
    [m] = memberships_of(world.requester, world.commune)
    assert (m.status, m.role, m.decided_by_id) == ("validated", "secondary", world.manager.id)
    assert lucas.get(link).status_code == 404  # used
    actions = db.session.execute(select(HistoryEntry.action).where(
        HistoryEntry.structure_id == world.commune.id).order_by(HistoryEntry.id)).scalars().all()
    assert actions[-3:] == ["membership.invited", "membership.invited", "membership.invitation_accepted"]


def test_invitations_are_limited_per_manager(app, world, outbox):
    # P6-1: a trusted sender must not become a mailing list.
    from chorus.memberships import invitations

    limit = app.config["INVITATIONS_PER_MANAGER"]
    for i in range(limit):
        invitations.invite(world.manager, world.commune, f"p{i}@ailleurs.example", role="member")
    with pytest.raises(services.MembershipError, match="trop d'invitations"):
        invitations.invite(world.manager, world.commune, "encore@ailleurs.example", role="member")
    assert outbox.all("encore@ailleurs.example") == []


def test_the_request_form_only_shows_a_structure_found_by_its_identifier(app, world):
    # P6-1 / RAT-1: a structure is found by its identifier; a posted structure_id reveals nothing.
    client = client_as(app, "lucas@commune.example")
    response = client.post("/mon-compte/rattachements/nouveau", data={
        "structure_id": world.atelier.id, "role": "member", "comment": ""})
    assert "Atelier Dupont" not in page(response) and response.status_code in (404, 422)
    assert memberships_of(world.requester, world.atelier) == []
    done = client.post("/mon-compte/rattachements/nouveau", data={
        "identifier_type": "SIRET", "identifier": world.atelier.identifier, "role": "member", "comment": ""})
    assert done.status_code == 303
    assert [m.status for m in memberships_of(world.requester, world.atelier)] == ["pending"]


# ------------------------------------------------------------------ removal (RAT-7, TRF-1)


def test_removal_of_one_or_many_but_never_the_primary_manager(app, world, accounts):
    members = [accounts.create(f"m{i}@commune.example", last_name=f"Membre{i}") for i in range(3)]
    ids = [attach(world.commune, m, "member").id for m in members]
    client = client_as(app, "karim@commune.example")
    primary_id = memberships_of(world.manager, world.commune)[0].id
    refused = client.post(f"/structures/{world.commune.id}/rattachements/supprimer",
                          data={"ids": [ids[0], primary_id], "confirme": "oui"}, follow_redirects=True)
    assert "Le rattachement du gestionnaire principal ne peut pas être supprimé" in page(refused)
    assert count(Membership, Membership.status == "removed") == 0
    html = page(client.get(f"/structures/{world.commune.id}"))
    assert f'value="{primary_id}"' not in html and f'value="{ids[0]}"' in html  # no box for the primary
    # P6-14: a confirmation step first, naming who loses access; nothing changes until it is confirmed.
    confirm = client.post(f"/structures/{world.commune.id}/rattachements/supprimer", data={"ids": ids[:2]})
    assert confirm.status_code == 200 and "Confirmer la suppression" in page(confirm)
    assert "m0@commune.example" in page(confirm) and "m2@commune.example" not in page(confirm)
    assert count(Membership, Membership.status == "removed") == 0
    client.post(f"/structures/{world.commune.id}/rattachements/supprimer", data={"ids": ids[:2], "confirme": "oui"})
    assert count(Membership, Membership.status == "removed") == 2
    assert count(HistoryEntry, HistoryEntry.comment == "Supprimée") == 2
    assert client_as(app, "m0@commune.example").get(f"/structures/{world.commune.id}").status_code == 404


# ------------------------------------------------------------------ expiry (RAT-8)


def test_pending_requests_expire_with_an_email(app, world, outbox, travel):
    old = services.request_membership(world.requester, world.commune, comment="")
    travel(days=20)
    recent = services.request_membership(world.requester, world.atelier, comment="")
    travel(days=11)
    result = app.test_cli_runner().invoke(args=["chorus", "expire-requests"])
    assert "expired: 1" in result.output
    fresh()
    assert db.session.get(Membership, old.id).status == "refused"
    assert db.session.get(Membership, recent.id).status == "pending"
    assert "a expiré" in outbox.last(LUCAS_CONTACT).subject
    assert db.session.execute(select(HistoryEntry.actor_id).where(
        HistoryEntry.action == "membership.expired")).scalar_one() is None  # the platform did it


# ------------------------------------------------------------------ events (ESP-2 via a domain event)


def test_each_transition_emits_its_own_event(make_app, accounts, travel):
    # P4: a direct attachment is not a validation, an expiry is not a refusal, a creator's membership is neither.
    seen = []

    class Listener:
        @hookimpl
        def domain_event(self, event):
            if event.name.startswith("membership."):
                seen.append((event.name, event.payload))

    application = make_app(EXTRA_PLUGINS=[Listener()], DISABLED_PLUGINS=disabled_plugins("plugins.spaces"))
    with application.app_context():
        owner = accounts.create("paul@atelier.example")
        requester = accounts.create("lucas@atelier.example")
        atelier = make_structure(owner, "Atelier Dupont")
        m = services.request_membership(requester, atelier, comment="")
        services.decide(owner, [m.id], accept=True)
        (created, own), (requested, _), (validated, payload) = seen
        assert (created, own["role"], own["user_id"]) == ("membership.created_with_structure", "primary", owner.id)
        assert (requested, validated) == ("membership.requested", "membership.validated")
        assert payload == {"membership_id": m.id, "user_id": requester.id, "structure_id": atelier.id,
                           "role": "member", "spaces": [], "extra": {}}  # no module owns spaces here
        nina = accounts.create("nina@atelier.example")
        services.cancel_request(nina, services.request_membership(nina, atelier))
        seen.clear()
        services.attach_user(owner, atelier, nina, role="member")
        late = services.request_membership(accounts.create("zoe@atelier.example"), atelier)
        travel(days=40)
        services.expire_pending()
        assert [n for n, _ in seen] == ["membership.attached", "membership.requested", "membership.expired"]
        assert seen[-1][1]["membership_id"] == late.id and "expirée" in seen[-1][1]["reason"]


# ------------------------------------------------------------------ scale and races


def test_bulk_validation_of_a_thousand_requests_in_one_request(app, world, outbox):
    ids = many_requests(world.commune, 1000)
    client = client_as(app, "sophie@commune.example")
    response = client.post("/gestionnaire/rattachements", data={"ids": ids, "action": "valider"})
    assert response.status_code == 303
    assert count(Membership, Membership.status == "validated", Membership.structure_id == world.commune.id) == 1002
    assert count(HistoryEntry, HistoryEntry.action == "membership.validated") == 1000
    assert count(OutboxMessage, OutboxMessage.template == "membership_validated") == 1000
    assert "1000 demandes validées" in page(client.get("/gestionnaire/rattachements"))


def test_two_managers_validating_the_same_requests_at_once(app, world):
    # QUALITY.md: each request decided once, one history entry and one e-mail each
    ids = many_requests(world.commune, 100)
    barrier = threading.Barrier(2)
    reports = []

    def validate(manager_id):
        with app.app_context():
            from chorus.accounts.models import User

            manager = db.session.get(User, manager_id)
            barrier.wait()
            reports.append(services.decide(manager, ids, accept=True))
            db.session.remove()

    threads = [threading.Thread(target=validate, args=(u.id,)) for u in (world.manager, world.secondary)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r.decided) for r in reports) == 100
    assert set(reports[0].decided).isdisjoint(reports[1].decided)
    assert count(HistoryEntry, HistoryEntry.action == "membership.validated") == 100
    assert count(OutboxMessage, OutboxMessage.template == "membership_validated") == 100
    assert count(Membership, Membership.status == "validated", Membership.id.in_(ids)) == 100


def test_request_ttl_is_configurable(make_app, accounts, travel):
    application = make_app(MEMBERSHIP_REQUEST_TTL=timedelta(days=2))
    with application.app_context():
        owner, requester = accounts.create("a@x.example"), accounts.create("b@x.example")
        m = services.request_membership(requester, make_structure(owner, "X"), comment="")
        travel(days=3)
        assert services.expire_pending() == 1
        fresh()
        assert db.session.get(Membership, m.id).status == "refused"


def test_partial_user_search_only_shows_people_linked_to_the_managers_structures(app, world, accounts):
    # A manager, who may be anyone who created a private structure, cannot list the platform's accounts.
    services.request_membership(world.requester, world.commune, comment="")
    accounts.create("lucie.garnier@ailleurs.example", first_name="Lucie", last_name="Garnier")
    found = services.search_users(world.manager, last_name="garnier")
    assert [u.login_email for u in found] == ["lucas@commune.example"]
    stranger = accounts.create("nouveau@exemple.fr")
    make_structure(stranger, "Ma petite entreprise")
    assert services.search_users(stranger, email="@") == [stranger]  # only themselves
    assert services.search_users(stranger, last_name="garnier") == []


def test_a_membership_starting_later_gives_no_access_before_its_date(app, world, travel):
    # SPEC RAT-6: the validity start date
    services.cancel_request(world.requester, services.request_membership(world.requester, world.commune))
    services.attach_user(world.manager, world.commune, world.requester, role="secondary",
                         start_date=clock.now().date() + timedelta(days=10))
    client = client_as(app, "lucas@commune.example")
    assert client.get(f"/structures/{world.commune.id}/modifier").status_code == 404
    travel(days=10)
    client = client_as(app, "lucas@commune.example")
    assert client.get(f"/structures/{world.commune.id}/modifier").status_code == 200


def test_a_decision_needs_one_of_the_two_buttons(app, world):
    m = services.request_membership(world.requester, world.commune, comment="")
    client = client_as(app, "sophie@commune.example")
    assert client.post("/gestionnaire/rattachements", data={"ids": [m.id]}).status_code == 400
    assert client.post(f"/gestionnaire/rattachements/{m.id}", data={"action": "?"}).status_code == 400
    assert memberships_of(world.requester, world.commune)[0].status == "pending"


def test_a_manager_can_never_have_a_pending_request_on_a_structure_they_belong_to(app, world):
    # SPEC RAT-8 "a manager cannot validate their own request": the invariant that makes it impossible is
    # that a person with a validated membership cannot also have a pending request for the same structure,
    # held by the service and, against any other writer, by the database (index uq_membership_open).
    # `decidable()` still excludes the actor's own requests, as a second line behind this one.
    from sqlalchemy.exc import IntegrityError

    from chorus.database import transaction

    with pytest.raises(services.MembershipError, match="déjà membre"):
        services.request_membership(world.manager, world.commune)
    with pytest.raises(IntegrityError):
        with transaction():
            db.session.add(Membership(user_id=world.manager.id, structure_id=world.commune.id, role="member",
                                      status="pending", comment="", decision_reason="", created_at=clock.now()))
    fresh()
    assert db.session.execute(services.decidable(world.manager).where(
        Membership.user_id == world.manager.id)).all() == []


def test_a_refused_request_stays_in_my_account_with_its_reason(app, world):
    # P6-13, SPEC RAT-2: "Refusé" is a status the user sees, with the manager's reason.
    m = services.request_membership(world.requester, world.commune, comment="")
    services.decide(world.manager, [m.id], accept=False, reason="Inconnu du service")
    client = client_as(app, "lucas@commune.example")
    html = page(client.get("/mon-compte"))
    row = html[html.index("Commune de Saint-Exemple"):]
    row = row[:row.index("</tr>")]
    assert "Refusé" in row and "Motif : Inconnu du service" in row
    # Asked again: the new request is listed, the old refusal no longer.
    services.request_membership(world.requester, world.commune, comment="Avec l'accord du maire")
    html = page(client.get("/mon-compte"))
    assert "En cours de validation" in html and "Inconnu du service" not in html


def test_the_dashboard_lists_pending_requests_with_valider_and_refuser(app, world, outbox):
    # P6-12: the guide's block "Les demandes de rattachement à une structure" has Valider and Refuser per row;
    # a refusal asks its reason in a confirmation step. Plain forms without JavaScript, in place with htmx.
    first = services.request_membership(world.requester, world.commune, comment="")
    second = services.request_membership(world.admin, world.commune, comment="")
    client = client_as(app, "sophie@commune.example")
    dashboard = page(client.get("/gestionnaire/"))
    assert "Valider la demande de Lucas Garnier pour Commune de Saint-Exemple" in dashboard
    assert f"/gestionnaire/rattachements/{first.id}/refuser?retour=tableau" in dashboard
    # Without JavaScript: the form posts, the dashboard comes back.
    response = client.post(f"/gestionnaire/rattachements/{first.id}", data={
        "action": "valider", "role": "member", "retour": "tableau"})
    assert response.status_code == 303 and response.headers["Location"] == "/gestionnaire/"
    assert memberships_of(world.requester, world.commune)[0].status == "validated"
    # Refusing: the reason first; nothing is refused without it.
    url = f"/gestionnaire/rattachements/{second.id}/refuser"
    confirm = page(client.get(url, query_string={"retour": "tableau"}))
    assert "Confirmer le refus" in confirm and "Motif du refus" in confirm
    empty = client.post(url, data={"reason": " ", "retour": "tableau"})
    assert empty.status_code == 422 and "Le motif du refus est obligatoire." in page(empty)
    assert memberships_of(world.admin, world.commune)[0].status == "pending"
    done = client.post(url, data={"reason": "Compte de service", "retour": "tableau"})
    assert done.status_code == 303 and done.headers["Location"] == "/gestionnaire/"
    assert memberships_of(world.admin, world.commune)[0].status == "refused"
    assert "Compte de service" in outbox.last("admin.contact@dgfip.example").body
    assert "Aucune demande en attente." in page(client.get("/gestionnaire/"))


def test_validating_from_the_dashboard_with_htmx_updates_the_block_in_place(app, world):
    m = services.request_membership(world.requester, world.commune, comment="")
    other = services.request_membership(world.admin, world.commune, comment="")
    client = client_as(app, "sophie@commune.example")
    response = client.post(f"/gestionnaire/rattachements/{m.id}", data={
        "action": "valider", "role": "member", "retour": "tableau"},
        headers={"HX-Request": "true", "HX-Target": "demandes-tableau"})
    html = page(response)
    assert response.status_code == 200 and "<html" not in html
    assert "Lucas Garnier" not in html and f"/gestionnaire/rattachements/{other.id}/refuser" in html
    assert "1 demande validée" in html  # the flash travels with the fragment


def test_today_is_the_structures_calendar_day_not_utcs(make_app, accounts):
    """A date typed by a French user is a French date: at 00:30 in Paris (22:30 UTC) a membership starting that
    day is in force, and a new structure's first membership starts that day. TIMEZONE sets another calendar."""
    from datetime import UTC, datetime

    from chorus.database import transaction
    from chorus.memberships.queries import role_of

    with make_app().app_context():
        clock.travel(datetime(2027, 6, 30, 22, 30, tzinfo=UTC) - clock.now())
        assert clock.today() == date(2027, 7, 1)
        owner = accounts.create("sophie@commune.example")
        member = accounts.create("lucas@commune.example")
        structure = make_structure(owner, "Commune de Saint-Exemple")
        fresh()
        first = db.session.execute(select(Membership).where(Membership.user_id == owner.id)).scalar_one()
        assert first.start_date == date(2027, 7, 1)
        membership = attach(structure, member, "secondary")
        with transaction():
            db.session.get(Membership, membership.id).start_date = date(2027, 7, 1)
        assert role_of(member, structure.id) == "secondary"
    with make_app(TIMEZONE="America/Guadeloupe").app_context():
        clock.travel(datetime(2027, 7, 1, 2, 0, tzinfo=UTC) - clock.now())  # 22:00 on 30 June there
        assert clock.today() == date(2027, 6, 30)
