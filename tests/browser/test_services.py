"""Services in Chromium (SPEC SRV-5, SRV-6): a manager adds two services with "Valider et créer un autre
service", then "Valider" opens the service's page; with JavaScript (htmx swaps the form in place) and without
(plain POST and redirect), the same screens and messages."""
from __future__ import annotations

import re

import pytest
from browser_helpers import assert_single_page, field, path_of
from sqlalchemy import select

from chorus.extensions import db
from helpers import make_structure

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

PASSWORD = "correct horse battery staple"
MANAGER = "sophie@commune.example"


@pytest.fixture
def structure_id(live_app, database):
    if live_app.extensions["chorus.plugins"].get_plugin("plugins.services") is None:
        pytest.skip("the services plugin is switched off for this run")
    from chorus.accounts.models import User

    database.create_account(MANAGER, first_name="Sophie", last_name="Lemoine")
    with live_app.app_context():
        manager = db.session.execute(select(User).where(User.login_email == MANAGER)).scalar_one()
        return make_structure(manager, "Commune de Saint-Exemple").id


def codes(live_app, structure_id):
    from plugins.services.models import Service

    with live_app.app_context():
        return db.session.execute(select(Service.code).where(Service.structure_id == structure_id)
                                  .order_by(Service.id)).scalars().all()


def log_in(page):
    page.goto("/connexion")
    field(page, "Adresse de connexion").fill(MANAGER)
    field(page, "Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/mon-compte$"))


def add_two_services(page, structure_id):
    page.goto(f"/structures/{structure_id}")
    services_block = page.locator("#services")
    expect(services_block).to_contain_text("FACTURES_PUBLIQUES")
    services_block.get_by_role("link", name="Ajouter des services").click()
    expect(page).to_have_url(re.compile(rf"/structures/{structure_id}/services/nouveau$"))
    for code in ("ACHATS", "VOIRIE"):
        field(page, "Code").fill(code)
        field(page, "Libellé").fill(f"Service {code.lower()}")
        field(page, "Date de début de validité").fill("2026-01-01")
        page.get_by_role("button", name="Valider et créer un autre service").click()
        expect(page.locator("#flashes")).to_contain_text(f"Le service {code} est créé.")
        expect(field(page, "Code")).to_have_value("")  # the next service's empty form
        assert path_of(page) == f"/structures/{structure_id}/services/nouveau"
        assert_single_page(page)
    field(page, "Code").fill("ECOLES")
    field(page, "Libellé").fill("Écoles")
    field(page, "Date de début de validité").fill("2026-01-01")
    page.get_by_role("button", name="Valider", exact=True).click()
    expect(page.get_by_role("heading", name="Service ECOLES")).to_be_visible()
    expect(page.get_by_role("heading", name="Liste des espaces")).to_be_visible()
    expect(page.get_by_role("heading", name="Utilisateurs rattachés au service")).to_be_visible()
    assert_single_page(page)


def test_add_services_with_htmx(page, console_errors, live_app, structure_id):
    log_in(page)
    add_two_services(page, structure_id)
    assert codes(live_app, structure_id) == ["FACTURES_PUBLIQUES", "ACHATS", "VOIRIE", "ECOLES"]
    # A code already used, whatever its case: a French message next to the field, nothing saved.
    page.goto(f"/structures/{structure_id}/services/nouveau")
    field(page, "Code").fill(" achats ")
    field(page, "Libellé").fill("Doublon")
    field(page, "Date de début de validité").fill("2026-01-01")
    page.get_by_role("button", name="Valider", exact=True).click()
    expect(page.locator("#code-error")).to_have_text("Un service de cette structure a déjà ce code.")
    assert codes(live_app, structure_id) == ["FACTURES_PUBLIQUES", "ACHATS", "VOIRIE", "ECOLES"]
    assert console_errors == [] and console_errors.http == [f"422 /structures/{structure_id}/services/nouveau"]


def test_add_services_without_javascript(page_nojs, live_app, structure_id):
    log_in(page_nojs)
    add_two_services(page_nojs, structure_id)
    assert codes(live_app, structure_id) == ["FACTURES_PUBLIQUES", "ACHATS", "VOIRIE", "ECOLES"]


def test_delete_checked_services_after_confirmation(page, console_errors, live_app, structure_id):
    log_in(page)
    add_two_services(page, structure_id)
    page.goto(f"/structures/{structure_id}/services")
    page.get_by_role("checkbox", name="Sélectionner le service ACHATS").check()
    page.get_by_role("checkbox", name="Sélectionner le service VOIRIE").check()
    expect(page.get_by_role("checkbox", name=re.compile("FACTURES_PUBLIQUES"))).to_have_count(0)
    page.get_by_role("button", name="Supprimer les services cochés").click()
    page.get_by_role("button", name="Confirmer la suppression").click()
    expect(page.locator("#flashes")).to_contain_text("2 services supprimés.")
    assert codes(live_app, structure_id) == ["FACTURES_PUBLIQUES", "ECOLES"]
    assert console_errors == []
