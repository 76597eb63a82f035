"""Rechercher un utilisateur in Chromium (SPEC USR-1..3): a search refreshed by htmx as the criteria are typed, a
selection exported and opened as CSV; without JavaScript the same search through plain GETs."""
from __future__ import annotations

import csv
import io
import re

import pytest
from browser_helpers import assert_single_page, field

from helpers import PASSWORD, Accounts, attach, make_structure

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect


@pytest.fixture
def world(live_app):
    """Sophie manages the Commune (Lucas, pending account; Éloïse; Nadia Garnier) and is a plain member of the
    Boulangerie (Zoé Garnier)."""
    with live_app.app_context():
        accounts = Accounts()
        sophie = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
        commune = make_structure(sophie, "Commune de Saint-Exemple")
        bruno = accounts.create("bruno@boulangerie.example", first_name="Bruno", last_name="Boulanger")
        boulangerie = make_structure(bruno, "Boulangerie Bravo")
        attach(commune, accounts.create("lucas@commune.example", first_name="Lucas", last_name="Garnier",
                                        status="pending", password=None))
        attach(commune, accounts.create("eloise@commune.example", first_name="Éloïse", last_name="Lefèvre"))
        attach(commune, accounts.create("nadia@commune.example", first_name="Nadia", last_name="Garnier"))
        attach(boulangerie, sophie)
        attach(boulangerie, accounts.create("zoe@boulangerie.example", first_name="Zoé", last_name="Garnier"))


def log_in(page, email="sophie@commune.example"):
    page.goto("/connexion")
    field(page, "Adresse de connexion").fill(email)
    field(page, "Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/mon-compte$"))


def results(page):
    return page.locator("#utilisateurs-resultats tbody tr")


def test_search_select_and_export_as_csv(page, world, console_errors):
    log_in(page)
    page.goto("/gestionnaire/")
    page.get_by_role("link", name="Rechercher un utilisateur").click()
    expect(page).to_have_title(re.compile("Rechercher un utilisateur"))
    expect(results(page)).to_have_count(4)  # Sophie, Lucas, Éloïse, Nadia: nobody of the Boulangerie
    # Typing is enough: htmx refreshes the results (no click), and the address follows.
    field(page, "Nom").press_sequentially("garnier", delay=20)
    expect(results(page)).to_have_count(2)
    expect(page).to_have_url(re.compile(r"nom=garnier"))
    assert_single_page(page)
    expect(page.locator("#utilisateurs-resultats")).not_to_contain_text("Zoé")
    # Sorted by first name, descending: Nadia, then Lucas.
    page.get_by_role("link", name=re.compile("^Prénom")).click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Prénom")
    page.get_by_role("link", name=re.compile("^Prénom")).click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Prénom")
    expect(results(page).first).to_contain_text("Nadia")
    expect(page).to_have_url(re.compile(r"tri=prenom&ordre=desc"))
    # A criterion typed after sorting keeps the sort, and the results' export link follows both.
    field(page, "Prénom").press_sequentially("a", delay=20)
    expect(page).to_have_url(re.compile(r"nom=garnier&prenom=a&.*tri=prenom&ordre=desc"))
    expect(results(page).first).to_contain_text("Nadia")
    expect(page.get_by_role("link", name="Exporter les résultats de la recherche")).to_have_attribute(
        "href", re.compile(r"export\.csv\?nom=garnier&prenom=a&tri=prenom&ordre=desc$"))
    # Select Lucas and export the selection: a CSV a French spreadsheet opens.
    page.get_by_role("checkbox", name=re.compile("Sélectionner Lucas Garnier")).check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Exporter la sélection").click()
    raw = download.value.path().read_bytes()
    assert download.value.suggested_filename.startswith("utilisateurs-") and raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert len(rows) == 2 and rows[1][rows[0].index("Adresse de connexion")] == "lucas@commune.example"
    # "Exporter utilisateurs": every user of the manager's structures.
    with page.expect_download() as everyone:
        page.get_by_role("link", name="Exporter utilisateurs").click()
    text = everyone.value.path().read_bytes().decode("utf-8-sig")
    assert text.count("\r\n") == 1 + 4 and "Zoé" not in text
    # Réinitialiser: every criterion cleared.
    page.get_by_role("link", name="Réinitialiser").click()
    expect(results(page)).to_have_count(4)
    expect(field(page, "Nom")).to_have_value("")
    assert console_errors == []


def test_activation_mail_again_and_removal_with_confirmation(page, world, mailbox, console_errors):
    log_in(page)
    page.goto("/gestionnaire/utilisateurs?nom=garnier")
    page.get_by_role("button", name="Envoyer le courriel d'activation à Lucas Garnier").click()
    expect(page.locator("#flashes")).to_contain_text("Courriel d'activation envoyé à Lucas Garnier.")
    assert mailbox.link("lucas@commune.example").startswith("/activation/")
    expect(page).to_have_url(re.compile(r"nom=garnier"))  # back to the same search
    page.get_by_role("checkbox", name=re.compile("Sélectionner Nadia Garnier")).check()
    page.get_by_role("button", name="Supprimer rattachements").click()
    expect(page.get_by_role("heading", name="Supprimer des rattachements")).to_be_visible()
    page.get_by_role("button", name="Confirmer la suppression").click()
    expect(page.locator("#flashes")).to_contain_text("1 rattachement supprimé.")
    expect(results(page)).to_have_count(1)
    assert console_errors == []


def test_the_search_without_javascript(page_nojs, world):
    page = page_nojs
    log_in(page)
    page.goto("/gestionnaire/utilisateurs")
    field(page, "Désignation").fill("saint-exemple")
    page.get_by_role("combobox", name="Statut").select_option("En cours d'activation")
    page.get_by_role("button", name="Rechercher").click()
    expect(results(page)).to_have_count(1)
    expect(results(page).first).to_contain_text("Lucas")
    page.get_by_role("link", name="Consulter", exact=False).first.click()
    expect(page.get_by_role("heading", name="Lucas Garnier")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Commune de Saint-Exemple")


@pytest.mark.parametrize("javascript", [True, False])
def test_a_manager_modifies_a_persons_data(request, world, mailbox, javascript):
    """USR-3: from the results, open the person's account, fix their data (an error first), back to the search."""
    page = request.getfixturevalue("page" if javascript else "page_nojs")
    log_in(page)
    page.goto("/gestionnaire/utilisateurs?nom=lef")
    page.get_by_role("link", name=re.compile("^Consulter")).first.click()
    expect(page.get_by_role("heading", name="Éloïse Lefèvre")).to_be_visible()
    form = page.get_by_role("form", name="Données de l'utilisateur")
    field(form, "Adresse de contact").fill("pas une adresse")
    form.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#contact_email-error")).to_contain_text("Saisissez une adresse électronique valide")
    field(form, "Adresse de contact").fill("eloise.lefevre@ailleurs.example")
    field(form, "Téléphone").fill("05 56 00 00 00")
    form.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#flashes")).to_contain_text("Les données de Éloïse Lefèvre sont enregistrées.")
    assert_single_page(page)
    told = mailbox.all("eloise.lefevre@ailleurs.example")
    assert [subject for _, subject, _ in told] == ["Chorus : vos informations ont été modifiées par un gestionnaire"]
    page.get_by_role("link", name="Retour à la recherche").click()
    expect(page).to_have_url(re.compile(r"nom=lef"))
    expect(results(page).first).to_contain_text("Éloïse")
