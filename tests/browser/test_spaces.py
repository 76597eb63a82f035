"""Spaces in Chromium (SPEC ABO-1..3, ESP-5): a user asks for "Factures reçues", the manager grants consultation
only, the user then sees the space in the top bar and cannot act in it (the server refuses, not only the page).
With JavaScript and without: the same screens."""
from __future__ import annotations

import os
import re

import pytest
from browser_helpers import field

from helpers import attach, make_structure

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

_OFF = os.environ.get("CHORUS_TEST_DISABLED_PLUGINS", "")
pytestmark = pytest.mark.skipif(_OFF == "all" or "plugins.spaces" in _OFF.split(","),
                                reason="the spaces plugin is switched off for this run")

PASSWORD = "correct horse battery staple"
MANAGER, MEMBER, ADMIN = "sophie@commune.example", "lucas@commune.example", "admin@dgfip.example"
TALL = {"viewport": {"width": 1280, "height": 2400}}


@pytest.fixture
def commune(live_app, database):
    from chorus.accounts.models import User
    from chorus.extensions import db

    for email, last in ((MANAGER, "Lemoine"), (MEMBER, "Garnier"), (ADMIN, "Admin")):
        database.create_account(email, last_name=last)
    with live_app.app_context():
        users = {u.login_email: u for u in db.session.execute(db.select(User)).scalars()}
        with_admin = users[ADMIN]
        from chorus.database import transaction

        with transaction():
            with_admin.is_admin = True
        structure = make_structure(users[MANAGER], "Commune de Saint-Exemple", public=True, admin=with_admin)
        attach(structure, users[MEMBER], "member")  # attached without any space
        return structure.id


def log_in(page, email):
    page.goto("/connexion")
    field(page, "Adresse de connexion").fill(email)
    field(page, "Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/mon-compte$"))


def top_bar(page):
    return page.get_by_role("navigation", name="Espaces")


@pytest.mark.parametrize("js", [True, False])
def test_a_request_granted_in_consultation_only(make_page, commune, js):
    user = make_page(java_script_enabled=js, **TALL)
    log_in(user, MEMBER)
    expect(top_bar(user).get_by_role("link", name="Factures reçues")).to_have_count(0)
    user.get_by_role("link", name="Gérer mes abonnements et demander l'accès à un espace").click()
    field(user, "Structure").select_option(label="Commune de Saint-Exemple")
    user.get_by_role("button", name="Choisir cette structure").click()
    field(user, "Espace").select_option(label="Factures reçues")
    field(user, "Service").select_option(label="Tous les services")
    user.get_by_role("radio", name="Modification").check()
    field(user, "Commentaire").fill("Pour préparer les mandats")
    user.get_by_role("button", name="Envoyer la demande").click()
    expect(user.locator("#flashes")).to_contain_text("Votre demande d'abonnement est envoyée")
    expect(user.get_by_role("table", name="Mes abonnements aux espaces")).to_contain_text("En cours de validation")

    manager = make_page(java_script_enabled=js, **TALL)
    log_in(manager, MANAGER)
    top_bar(manager).get_by_role("link", name="Activités du gestionnaire").click()
    block = manager.get_by_role("region", name="Les demandes d'abonnement aux espaces")
    block.get_by_role("link", name="Consulter la demande d'abonnement de Claire Garnier").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Demande d'abonnement aux espaces")
    expect(manager.get_by_text("Pour préparer les mandats")).to_be_visible()
    modification = manager.get_by_role("checkbox", name="Modification — Factures reçues")
    expect(modification).to_be_checked()
    modification.uncheck()  # SPEC ABO-3: consultation only
    expect(manager.get_by_role("checkbox", name="Consultation — Factures reçues")).to_be_checked()
    field(manager, "Commentaire").fill("La consultation suffit")
    manager.get_by_role("button", name="Valider").click()
    expect(manager.locator("#flashes")).to_contain_text("1 demande d'abonnement validée")

    user.goto("/mon-compte")
    top_bar(user).get_by_role("link", name="Factures reçues").click()
    expect(user.get_by_role("heading", level=1)).to_have_text("Factures reçues")
    expect(user.get_by_role("table", name="Vos abonnements à l'espace « Factures reçues »")).to_contain_text(
        "Consultation")
    # SPEC ESP-5: acting in the space is refused by the server, whatever the page offers.
    token = user.locator("body").get_attribute("hx-headers")
    token = re.search(r'"X-CSRFToken": "([^"]+)"', token).group(1)
    refused = user.request.post("/factures-recues/", headers={"X-CSRFToken": token}, form={"objet": "1"})
    assert refused.status == 403
    assert user.request.get("/factures-emises/").status == 403  # a space never asked for



def test_bulk_refusal_in_place_with_htmx(make_page, commune, live_app):
    """ABO-4 with JavaScript: ticked requests refused from the list, which is refreshed in place (no reload)."""
    from chorus.accounts.models import User
    from chorus.extensions import db
    from chorus.structures.models import Structure
    from plugins.spaces import services

    with live_app.app_context():
        member = db.session.execute(db.select(User).where(User.login_email == MEMBER)).scalar_one()
        services.request_subscription(member, db.session.get(Structure, commune),
                                      [services.Line("SOLLICITATIONS_RECUES", "consultation")], "Pour le suivi")
    manager = make_page(**TALL)
    log_in(manager, MANAGER)
    manager.goto("/gestionnaire/abonnements")
    manager.get_by_role("checkbox", name=re.compile("Sélectionner la demande d'abonnement")).check()
    field(manager, "Motif du refus").fill("Service non concerné")
    manager.evaluate("window.notReloaded = true")
    manager.get_by_role("button", name="Refuser").click()
    expect(manager.locator("#flashes")).to_contain_text("1 demande d'abonnement refusée")
    expect(manager.get_by_text("Aucune demande d'abonnement en attente.")).to_be_visible()
    assert manager.evaluate("window.notReloaded === true")  # swapped in place, not a new page
    expect(manager.get_by_role("heading", level=1)).to_have_count(1)
