""""Créer le compte utilisateur" in Chromium (SPEC USR-4, ACC-3): from the dashboard, the manager chooses the
structure, fills the person's data and the membership's terms; the person activates the account from the mail and
finds the structure in Mon compte. With JavaScript (errors swapped in place) and without."""
from __future__ import annotations

import re

import pytest
from browser_helpers import assert_single_page, field, log_in

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect


@pytest.mark.parametrize("js", [True, False])
def test_create_an_account_attached_then_the_person_activates_it(make_page, structure_id, mailbox, js):
    page = make_page(java_script_enabled=js)
    log_in(page)

    page.goto("/gestionnaire/")
    page.get_by_role("link", name="Créer le compte utilisateur").click()
    page.get_by_label("Structure de rattachement", exact=True).select_option(label="Commune de Saint-Exemple")
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("main")).to_contain_text("Structure de rattachement : Commune de Saint-Exemple")

    field(page, "Nom").fill("Roux")
    field(page, "Prénom").fill("Emma")
    field(page, "Adresse de connexion").fill("pas-une-adresse")
    page.get_by_role("button", name="Créer le compte utilisateur").click()
    expect(page.get_by_text("Le formulaire contient des erreurs")).to_be_visible()
    assert_single_page(page)
    field(page, "Adresse de connexion").fill("emma@mairie.example")
    field(page, "Adresse de contact").fill("emma.roux@perso.example")
    page.get_by_label("Gestionnaire secondaire").check()
    page.get_by_role("button", name="Créer le compte utilisateur").click()
    expect(page.get_by_text("Demande enregistrée pour emma@mairie.example")).to_be_visible()
    assert_single_page(page)

    person = make_page(java_script_enabled=js)
    person.goto(mailbox.link("emma@mairie.example"))
    field(person, "Nouveau mot de passe").fill("une phrase de passe assez longue")
    field(person, "Confirmation du mot de passe").fill("une phrase de passe assez longue")
    person.get_by_role("main").get_by_role("button").click()
    # The activation answers with the login page: wait for it (a goto() during the answer aborts it).
    expect(person.locator("#flashes")).to_contain_text("Votre compte est activé.")
    field(person, "Adresse de connexion").fill("emma@mairie.example")
    field(person, "Mot de passe").fill("une phrase de passe assez longue")
    person.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(person).to_have_url(re.compile(r"/mon-compte$"))
    expect(person.get_by_role("main")).to_contain_text("Commune de Saint-Exemple")
