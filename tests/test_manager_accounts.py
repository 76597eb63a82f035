""""Créer le compte utilisateur": a manager creates a person's account attached to one of their structures
(SPEC USR-4, ACC-3, RAT-6, MGR-2, NOT-1)."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from chorus.accounts.models import User
from chorus.extensions import db
from chorus.history.models import HistoryEntry
from chorus.memberships.models import Invitation, Membership
from helpers import PASSWORD, attach, fresh, make_structure, page, without_tokens

URL = "/gestionnaire/comptes/nouveau"


@pytest.fixture
def world(app, accounts):
    """Sophie: primary manager of the commune and a plain member of the atelier; Karim, secondary of the commune;
    Lucas, a plain member of the commune; Nina, who has an account and no link to Sophie's structures."""
    admin = accounts.create("admin@dgfip.example", is_admin=True)
    manager = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
    secondary = accounts.create("karim@commune.example", first_name="Karim", last_name="Benali")
    member = accounts.create("lucas@commune.example", first_name="Lucas", last_name="Garnier")
    stranger = accounts.create("nina@ailleurs.example", first_name="Nina", last_name="Perrin")
    commune = make_structure(manager, "Commune de Saint-Exemple", public=True, admin=admin)
    attach(commune, secondary, "secondary")
    attach(commune, member, "member")
    atelier = make_structure(accounts.create("paul@atelier.example", last_name="Dupont"), "Atelier Dupont")
    attach(atelier, manager, "member")
    return type("World", (), dict(manager=manager, secondary=secondary, member=member, stranger=stranger,
                                  commune=commune, atelier=atelier))


def client_as(app, email):
    client = app.test_client()
    assert client.post("/connexion", data={"email": email, "password": PASSWORD}).status_code == 303
    return client


def person(login="emma@commune.example", **more):
    return {"last_name": "Roux", "first_name": "Emma", "login_email": login, "contact_email": "emma.roux@perso.example",
            "phone": "", "role": "secondary", "start_date": "", "comment": "Nouvelle comptable", **more}


def count(model, *where):
    fresh()
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_a_manager_creates_an_account_attached_to_their_structure(app, world, outbox):
    # SPEC USR-4, ACC-3: pending, origin "manager", attached at once; the activation link to the login address.
    client = client_as(app, "sophie@commune.example")
    dashboard = page(client.get("/gestionnaire/"))
    assert URL in dashboard and "Créer le compte utilisateur" in dashboard
    chooser = page(client.get(URL))
    assert "Commune de Saint-Exemple" in chooser and "Atelier Dupont" not in chooser  # MGR-2: managed ones only
    form = page(client.get(URL, query_string={"structure": world.commune.id}))
    assert "Créer le compte utilisateur" in form and "Commune de Saint-Exemple" in form

    response = client.post(f"{URL}?structure={world.commune.id}", data=person())
    assert response.status_code == 303, page(response)
    fresh()
    emma = db.session.execute(select(User).where(User.login_email == "emma@commune.example")).scalar_one()
    assert (emma.status, emma.kind, emma.origin, emma.contact_email, emma.password_hash) == (
        "pending", "person", "manager", "emma.roux@perso.example", None)
    [m] = db.session.execute(select(Membership).where(Membership.user_id == emma.id)).scalars().all()
    assert (m.structure_id, m.status, m.role, m.decided_by_id, m.comment) == (
        world.commune.id, "validated", "secondary", world.manager.id, "Nouvelle comptable")
    entry = db.session.execute(select(HistoryEntry).where(HistoryEntry.subject_user_id == emma.id)).scalar_one()
    assert entry.action == "membership.attached" and "Création du compte de Emma Roux" in entry.summary

    # NOT-1: the activation link goes to the login address, and says which structure; nothing to the contact.
    mail = outbox.last("emma@commune.example")
    assert "activez votre compte" in mail.subject
    assert "Commune de Saint-Exemple" in mail.body and "Sophie Lemoine" in mail.body
    assert outbox.all("emma.roux@perso.example") == []
    # The manager sees the person among the structure's users, "En cours d'activation".
    record = page(client.get(f"/structures/{world.commune.id}"))
    assert "emma@commune.example" in record

    # The person follows the link, chooses a password, logs in and finds the structure in Mon compte.
    emma_client = app.test_client()
    link = outbox.link("emma@commune.example")
    assert emma_client.post(link, data={"password": "une phrase de passe assez longue",
                                        "confirm": "une phrase de passe assez longue"}).status_code == 303
    assert emma_client.post("/connexion", data={"email": "emma@commune.example",
                                                "password": "une phrase de passe assez longue"}).status_code == 303
    assert "Commune de Saint-Exemple" in page(emma_client.get("/mon-compte"))


def test_the_new_account_can_then_be_attached_to_the_managers_other_structures(app, world):
    """Issue P11, USR-4: "attach it at once to chosen structures and services": after the creation, the page offers
    each of the manager's other structures (not the atelier, where Sophie is a plain member), through their
    "Rattacher un utilisateur" screen, which now finds the person by their address."""
    regie = make_structure(world.manager, "Régie des eaux")
    client = client_as(app, "sophie@commune.example")
    response = client.post(f"{URL}?structure={world.commune.id}", data=person())
    after = page(client.get(response.headers["Location"]))
    assert "Rattacher aussi emma@commune.example à d'autres structures" in after
    assert "Rattacher à Régie des eaux" in after
    assert "Rattacher à Atelier Dupont" not in after and "Rattacher à Commune" not in after
    link = re.search(r'href="([^"]+)">Rattacher à Régie des eaux', after).group(1)
    screen = page(client.get(html.unescape(link)))
    assert "Emma" in screen and "Roux" in screen
    fresh()
    emma = db.session.execute(select(User).where(User.login_email == "emma@commune.example")).scalar_one()
    assert client.post(f"/structures/{regie.id}/rattacher", data={"user_id": emma.id, "role": "member",
                                                                   "start_date": "", "comment": ""}).status_code == 303
    assert count(Membership, Membership.user_id == emma.id, Membership.status == "validated") == 2
    # Offered once, right after the creation; the address never travels in a URL (history, logs).
    assert "emma" not in response.headers["Location"]
    assert "Rattacher aussi" not in page(client.get(response.headers["Location"]))
    # A manager with a single structure has nothing more to offer.
    karim = client_as(app, "karim@commune.example")
    done = karim.post(f"{URL}?structure={world.commune.id}", data=person("hugo@commune.example"))
    assert done.status_code == 303 and "Rattacher aussi" not in page(karim.get(done.headers["Location"]))


def test_an_existing_address_gets_an_invitation_and_the_same_answer(app, world, outbox):
    # RAT-6: no account enumeration, nobody attached without consent; the owner is invited instead.
    client = client_as(app, "sophie@commune.example")
    client.get("/gestionnaire/")  # the welcome message, shown once
    screens = {}
    for login in ("nina@ailleurs.example", "inconnue@ailleurs.example"):
        response = client.post(f"{URL}?structure={world.commune.id}", data=person(login))
        assert response.status_code == 303, page(response)
        screens[login] = without_tokens(page(client.get(response.headers["Location"]))).replace(login, "@")
    assert screens["nina@ailleurs.example"] == screens["inconnue@ailleurs.example"]
    assert "Demande enregistrée" in screens["nina@ailleurs.example"]
    fresh()
    nina = db.session.get(User, world.stranger.id)
    assert (nina.last_name, nina.first_name, nina.contact_email, nina.origin) == (
        "Perrin", "Nina", "nina.contact@ailleurs.example", "self")  # nothing of the form was written on her
    assert count(Membership, Membership.user_id == nina.id) == 0
    [invitation] = db.session.execute(select(Invitation).where(Invitation.email == "nina@ailleurs.example")).scalars()
    assert (invitation.structure_id, invitation.role) == (world.commune.id, "secondary")
    mail = outbox.last("nina@ailleurs.example")
    assert "invitation" in mail.subject and "Nouvelle comptable" in mail.body
    assert "activez" in outbox.last("inconnue@ailleurs.example").subject


def test_a_person_already_linked_is_named_and_sent_to_the_attachment_screen(app, world, outbox):
    # The manager's search shows Lucas anyway (RAT-6): saying so reveals nothing new.
    client = client_as(app, "sophie@commune.example")
    before = len(outbox.all())
    response = client.post(f"{URL}?structure={world.commune.id}", data=person("lucas@commune.example"))
    assert response.status_code == 422
    assert "rattachez-la depuis « Rattacher un utilisateur »" in page(response)
    assert len(outbox.all()) == before


def test_only_the_managers_structures_and_only_managers(app, world, accounts):
    # MGR-2: another structure's id is refused (404), one where the actor is a plain member too (403).
    client = client_as(app, "sophie@commune.example")
    assert client.get(URL, query_string={"structure": world.atelier.id}).status_code == 403
    assert client.post(f"{URL}?structure={world.atelier.id}", data=person()).status_code == 403
    other = make_structure(accounts.create("zoe@ailleurs.example"), "Ailleurs SARL")
    assert client.get(URL, query_string={"structure": other.id}).status_code == 404
    assert client.post(f"{URL}?structure={other.id}", data=person()).status_code == 404
    assert client.post(URL, data=person()).status_code == 400  # no structure named
    assert count(User, User.login_email == "emma@commune.example") == 0
    # A plain member has no "Activités du gestionnaire"; a secondary manager may create accounts.
    assert client_as(app, "lucas@commune.example").get(URL).status_code == 403
    karim = client_as(app, "karim@commune.example")
    assert karim.post(f"{URL}?structure={world.commune.id}", data=person()).status_code == 303
    assert count(User, User.login_email == "emma@commune.example", User.origin == "manager") == 1


def test_forbidden_fields_are_ignored_and_bad_input_gets_french_messages(app, world):
    client = client_as(app, "sophie@commune.example")
    response = client.post(f"{URL}?structure={world.commune.id}", data=person(
        kind="technical", is_admin="y", is_pigp="y", status="active", origin="admin", password_hash="x",
        role_primary="y"))
    assert response.status_code == 303
    fresh()
    emma = db.session.execute(select(User).where(User.login_email == "emma@commune.example")).scalar_one()
    assert (emma.kind, emma.is_admin, emma.is_pigp, emma.status, emma.origin) == (
        "person", False, False, "pending", "manager")
    # The primary role is never given here (RAT-8); a bad address, CRLF in a name: messages, nothing written.
    for bad, message in (({"role": "primary"}, "Not a valid choice"), ({"login_email": "pas-une-adresse"},
                                                                        "adresse électronique valide"),
                         ({"last_name": "Roux\r\nBcc: x@y.z"}, "retour à la ligne")):
        response = client.post(f"{URL}?structure={world.commune.id}", data=person("autre@commune.example", **bad))
        assert response.status_code == 422
        assert count(User, User.login_email == "autre@commune.example") == 0
        if message != "Not a valid choice":
            assert message in page(response)


def test_creations_count_against_the_managers_daily_invitations(app, world, outbox):
    # A manager cannot use the screen to write to (or probe) addresses in bulk.
    app.config["INVITATIONS_PER_MANAGER"] = 2
    client = client_as(app, "sophie@commune.example")
    for login in ("a1@ailleurs.example", "nina@ailleurs.example"):
        assert client.post(f"{URL}?structure={world.commune.id}", data=person(login)).status_code == 303
    response = client.post(f"{URL}?structure={world.commune.id}", data=person("a3@ailleurs.example"))
    assert response.status_code == 422 and "trop d'invitations" in page(response)
    assert count(User, User.login_email == "a3@ailleurs.example") == 0 and outbox.all("a3@ailleurs.example") == []


def test_full_page_and_htmx_fragment(app, world):
    client = client_as(app, "sophie@commune.example")
    for query in ({}, {"structure": world.commune.id}):
        full = page(client.get(URL, query_string=query))
        assert "<html" in full and "<title>Créer le compte utilisateur" in full
        fragment = client.get(URL, query_string=query, headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and "<html" not in page(fragment) and "<h1>Créer" in page(fragment)
    response = client.post(f"{URL}?structure={world.commune.id}", data=person(last_name=""),
                           headers={"HX-Request": "true"})
    assert response.status_code == 422 and "<html" not in page(response) and "Nom" in page(response)
    response = client.post(f"{URL}?structure={world.commune.id}", data=person(), headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].startswith(URL)


def test_the_user_search_leads_to_the_creation(app, world):
    # SPEC ACC-3: "Créer le compte utilisateur" from the user search screen.
    shown = client_as(app, "sophie@commune.example").get("/gestionnaire/utilisateurs").get_data(as_text=True)
    assert 'href="/gestionnaire/comptes/nouveau"' in shown
