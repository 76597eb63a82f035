"""A person's account, end to end in Chromium: register, activate, log in, Mon compte, log out.

With JavaScript (htmx swaps the forms in place) and without (plain POST and redirect), the same
screens and the same French messages.
"""
from __future__ import annotations

import re

import pytest
from browser_helpers import assert_single_page, path_of

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

PASSWORD = "correct horse battery staple"  # the password of accounts made by `database.create_account`
NEW_PASSWORD = "une phrase de passe assez longue"


def log_in(page, email, password):
    page.get_by_label("Adresse de connexion", exact=True).fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()


# ------------------------------------------------------------------ a. the whole journey, JavaScript on


def test_register_activate_login_edit_logout(page, console_errors, mailbox, database):
    email = "camille.durand@mairie.example"

    # SPEC ACC-2: "Créer votre compte" from the home page; the account waits for its activation.
    page.goto("/")
    page.get_by_role("link", name="Créer votre compte").click()
    expect(page).to_have_url(re.compile(r"/inscription$"))
    page.get_by_label("Nom", exact=True).fill("Durand")
    page.get_by_label("Prénom", exact=True).fill("Camille")
    page.get_by_label("Adresse de connexion", exact=True).fill(email)
    page.get_by_role("button", name="Créer le compte").click()
    expect(page.get_by_role("heading", name="Vérifiez la messagerie")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(email)
    assert_single_page(page)
    assert database.user(email)["status"] == "pending"

    # SPEC ACC-3: the activation link is mailed (to the login address, as no contact address was given).
    link = mailbox.link(to=email)
    assert link.startswith("/activation/")
    page.goto(link)
    expect(page.get_by_role("heading", name="Activer votre compte")).to_be_visible()
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmation du mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()

    # SPEC ACC-2: the password is chosen, the account is "Actif"; the person is sent to the login page.
    expect(page).to_have_url(re.compile(r"/connexion$"))
    expect(page.locator("#flashes")).to_contain_text("Votre compte est activé")
    assert_single_page(page)
    assert database.user(email)["status"] == "active"

    log_in(page, email, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/mon-compte$"))
    expect(page.get_by_role("heading", name="Mon compte", exact=True)).to_be_visible()
    expect(page.locator("#flashes")).to_contain_text("Bienvenue, Camille.")
    assert_single_page(page)

    # SPEC ACC-4: without any membership, the only space in the top bar is "Mon compte".
    spaces = page.get_by_role("navigation", name="Espaces").get_by_role("link")
    expect(spaces).to_have_count(1)
    expect(spaces).to_have_text("Mon compte")
    expect(spaces).to_have_attribute("aria-current", "page")

    # SPEC ACC-5: the person edits their own information.
    form = page.get_by_role("form", name="Mes informations")
    form.get_by_label("Téléphone", exact=True).fill("01 23 45 67 89")
    form.get_by_label("Adresse de contact", exact=True).fill("c.durand@contact.example")
    form.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#flashes")).to_contain_text("Vos informations sont enregistrées.")
    assert_single_page(page)
    page.reload()
    expect(page.get_by_label("Téléphone", exact=True)).to_have_value("01 23 45 67 89")
    expect(page.get_by_label("Adresse de contact", exact=True)).to_have_value("c.durand@contact.example")
    saved = database.user(email)
    assert (saved["phone"], saved["contact_email"]) == ("01 23 45 67 89", "c.durand@contact.example")

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#flashes")).to_contain_text("Vous êtes déconnecté.")
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    expect(page.get_by_role("navigation", name="Espaces")).to_have_count(0)

    # The session is over: Mon compte asks to log in again.
    page.goto("/mon-compte")
    expect(page).to_have_url(re.compile(r"/connexion\?next=(/|%2F)mon-compte$"))
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    expect(page.locator("#flashes")).to_contain_text("Veuillez vous connecter")

    assert console_errors == []
    assert console_errors.http == []


# ------------------------------------------------------------------ b. form errors, with and without JavaScript

REQUIRED_ERRORS = {
    "Nom": "Le champ « Nom » est obligatoire.",
    "Prénom": "Le champ « Prénom » est obligatoire.",
    "Adresse de connexion": "Le champ « Adresse de connexion » est obligatoire.",
}


def assert_register_errors(page):
    expect(page.get_by_role("alert")).to_contain_text("Le formulaire contient des erreurs")
    for label, message in REQUIRED_ERRORS.items():
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_attribute("aria-invalid", "true")
        # The message is next to its field, and tied to it for screen readers (RGAA 11).
        field_id = field.get_attribute("id")
        expect(page.locator(f"#{field_id}-error")).to_have_text(message)
        expect(field).to_have_attribute("aria-describedby", re.compile(rf"\b{field_id}-error\b"))
    assert_single_page(page)


def test_register_errors_swapped_in_place_with_javascript(page, console_errors, mailbox):
    page.goto("/inscription")
    page.evaluate("window.__no_reload = 'still here'")
    page.get_by_role("button", name="Créer le compte").click()
    assert_register_errors(page)
    # No page load happened: htmx swapped the answer (422) into <main>.
    assert page.evaluate("window.__no_reload") == "still here"
    assert path_of(page) == "/inscription"
    expect(page).to_have_title("Créer votre compte · Chorus")
    assert mailbox.all() == []
    assert console_errors == []
    assert console_errors.http == ["422 /inscription"]


def test_register_errors_without_javascript(page_nojs, mailbox):
    page = page_nojs
    page.goto("/inscription")
    with page.expect_navigation():
        page.get_by_role("button", name="Créer le compte").click()
    assert_register_errors(page)
    assert path_of(page) == "/inscription"
    assert mailbox.all() == []


def test_a_fresh_form_is_not_announced_invalid_and_optional_fields_are_not_required(page_nojs):
    page = page_nojs
    page.goto("/inscription")
    for label in ("Nom", "Prénom", "Adresse de connexion", "Adresse de contact", "Téléphone"):
        field = page.get_by_label(label, exact=True)
        assert field.get_attribute("aria-invalid") in (None, "false"), label
        assert field.get_attribute("aria-describedby") != "None", label
    for label in ("Adresse de contact", "Téléphone"):  # "Facultative"
        assert page.get_by_label(label, exact=True).get_attribute("required") is None, label


# ------------------------------------------------------------------ c. the session ends while a page is open


def test_htmx_request_after_session_end_goes_to_login_page(page, console_errors, database):
    database.create_account("agent@mairie.example")
    page.goto("/connexion")
    log_in(page, "agent@mairie.example", PASSWORD)
    expect(page).to_have_url(re.compile(r"/mon-compte$"))

    assert database.end_all_sessions() == 1  # logged out elsewhere, or expired
    page.evaluate("window.__no_reload = 'still here'")
    page.get_by_label("Téléphone", exact=True).fill("01 02 03 04 05")
    page.get_by_role("button", name="Enregistrer").click()

    # A full navigation to the login page, back to Mon compte afterwards, not a page inside <main>.
    expect(page).to_have_url(re.compile(r"/connexion\?next=(/|%2F)mon-compte$"))
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    assert_single_page(page)
    assert page.evaluate("window.__no_reload") is None
    expect(page.get_by_role("button", name="Se déconnecter")).to_have_count(0)
    assert database.user("agent@mairie.example")["phone"] == ""

    log_in(page, "agent@mairie.example", PASSWORD)
    expect(page).to_have_url(re.compile(r"/mon-compte$"))
    assert_single_page(page)

    assert console_errors == []
    assert console_errors.http == ["401 /mon-compte"]  # the answer that sends htmx to the login page


# ------------------------------------------------------------------ d. the same without JavaScript


def test_login_edit_logout_without_javascript(page_nojs, database):
    page = page_nojs
    database.create_account("agent@mairie.example")

    page.goto("/mon-compte")
    expect(page).to_have_url(re.compile(r"/connexion\?next=(/|%2F)mon-compte$"))
    log_in(page, "agent@mairie.example", PASSWORD)
    expect(page).to_have_url(re.compile(r"/mon-compte$"))
    expect(page.locator("#flashes")).to_contain_text("Bienvenue, Claire.")
    spaces = page.get_by_role("navigation", name="Espaces").get_by_role("link")
    expect(spaces).to_have_count(1)  # SPEC ACC-4
    expect(spaces).to_have_text("Mon compte")

    # SPEC ACC-5: a form error first, then the valid change.
    form = page.get_by_role("form", name="Mes informations")
    form.get_by_label("Adresse de contact", exact=True).fill("")
    form.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("alert")).to_contain_text("Le champ « Adresse de contact » est obligatoire.")
    assert_single_page(page)

    form.get_by_label("Téléphone", exact=True).fill("+33 1 23 45 67 89")
    form.get_by_label("Adresse de contact", exact=True).fill("claire.martin@contact.example")
    form.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_url(re.compile(r"/mon-compte$"))
    expect(page.locator("#flashes")).to_contain_text("Vos informations sont enregistrées.")
    page.reload()
    expect(page.get_by_label("Téléphone", exact=True)).to_have_value("+33 1 23 45 67 89")
    expect(page.get_by_label("Adresse de contact", exact=True)).to_have_value("claire.martin@contact.example")

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#flashes")).to_contain_text("Vous êtes déconnecté.")
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    page.goto("/mon-compte")
    expect(page).to_have_url(re.compile(r"/connexion\?next=(/|%2F)mon-compte$"))
