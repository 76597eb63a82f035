"""« Modifier l'identifiant » in Chromium (SPEC SIR-1..4): the three steps, an error on the way, the successor's record
and the old one pointing to each other; with JavaScript (htmx swaps) and without. Its pages' accessibility:
test_accessibility.py."""
from __future__ import annotations

import os
import re

import pytest
from browser_helpers import assert_single_page, field, path_of

from helpers import PASSWORD, attach, make_structure, new_siret

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

_OFF = os.environ.get("CHORUS_TEST_DISABLED_PLUGINS", "")
pytestmark = pytest.mark.skipif(_OFF == "all" or "plugins.siret_change" in _OFF.split(","),
                                reason="the siret_change plugin is switched off for this run")

EMAIL = "gestionnaire@atelier.example"
TALL = {"viewport": {"width": 1280, "height": 2400}}


@pytest.fixture
def world(live_app, database):
    from chorus.accounts.models import User
    from chorus.extensions import db

    database.create_account(EMAIL)
    database.create_account("lea@atelier.example", last_name="Roux", first_name="Léa")
    with live_app.app_context():
        manager = db.session.execute(db.select(User).where(User.login_email == EMAIL)).scalar_one()
        member = db.session.execute(db.select(User).where(User.login_email == "lea@atelier.example")).scalar_one()
        structure = make_structure(manager, "Atelier Lemoine", vat_number="FR40303265045")
        attach(structure, member, "member")
        return {"id": structure.id, "siret": structure.identifier}


def log_in(page):
    page.goto("/connexion")
    field(page, "Adresse de connexion").fill(EMAIL)
    field(page, "Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/mon-compte$"))


@pytest.mark.parametrize("js", [True, False])
def test_the_whole_change_of_identifier(make_page, world, js):
    page = make_page(java_script_enabled=js, **TALL)
    log_in(page)

    page.goto(f"/structures/{world['id']}")
    page.get_by_role("link", name="Modifier l'identifiant").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modifier l'identifiant")
    expect(page.get_by_text("excepté le mandat de facturation")).to_be_visible()
    page.get_by_role("link", name="Continuer").click()
    expect(field(page, "Identifiant")).to_be_visible()

    field(page, "Identifiant").fill("12345678901234")  # a wrong key: the French message by the field
    page.get_by_role("button", name="Continuer").click()
    expect(page.locator("#identifier-error")).to_contain_text("n'est pas valide")
    assert_single_page(page)

    siret = new_siret()
    field(page, "Identifiant").fill(siret)
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmer le nouvel identifiant")
    expect(page.get_by_text(f"SIRET {siret}")).to_be_visible()
    assert_single_page(page)
    page.get_by_role("button", name="Confirmer le changement d'identifiant").click()

    expect(page.get_by_text("L'identifiant est modifié")).to_be_visible()
    expect(page.locator("#structure-identity")).to_contain_text(siret)
    assert_single_page(page)
    new_path = path_of(page)
    related = page.locator("#structures-liees")
    expect(related).to_contain_text("Structure d'origine")
    related.get_by_role("link", name=f"SIRET {world['siret']}").click()

    expect(page).to_have_url(re.compile(rf"/structures/{world['id']}$"))
    expect(page.get_by_text("Cette structure est inactive")).to_be_visible()
    expect(page.locator("#structure-identity")).to_contain_text("Inactive")
    expect(page.get_by_role("link", name="Modifier la structure")).to_have_count(0)
    expect(page.get_by_role("link", name="Modifier l'identifiant")).to_have_count(0)
    page.locator("#structures-liees").get_by_role("link", name=f"SIRET {siret}").click()
    expect(page).to_have_url(re.compile(re.escape(new_path) + "$"))
