"""Technical users in Chromium (SPEC TEC-1, TEC-2, STR-9): the primary manager creates one from the record, downloads
its credentials once, resets its password after a confirmation and downloads the new ones; with and without
JavaScript; every page passes axe-core."""
from __future__ import annotations

import os
import re

import pytest
from browser_helpers import assert_single_page, field, log_in, violations

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

_OFF = os.environ.get("CHORUS_TEST_DISABLED_PLUGINS", "")
pytestmark = pytest.mark.skipif(_OFF == "all" or "plugins.technical_users" in _OFF.split(","),
                                reason="the technical users plugin is switched off for this run")

TECH = "si@mairie.example"


def download_credentials(page) -> str:
    with page.expect_download() as download:
        page.get_by_role("button", name="Exporter les informations de connexion").click()
    assert download.value.suggested_filename.startswith("informations-de-connexion-")
    text = download.value.path().read_text(encoding="utf-8")
    return re.search(r"Mot de passe : (\S+)", text).group(1)


@pytest.mark.parametrize("js", [True, False])
def test_create_download_once_reset_and_download_again(make_page, live_app, structure_id, js):
    page = make_page(java_script_enabled=js, accept_downloads=True, bypass_csp=True)
    log_in(page)
    page.goto(f"/structures/{structure_id}")
    section = page.locator("#s-technique")
    expect(section).to_contain_text("Aucun utilisateur technique")
    section.get_by_role("link", name="Créer un utilisateur technique").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer un utilisateur technique")
    check = violations if js else (lambda page: [])  # axe-core runs in the page: with JavaScript only
    problems = check(page)

    # A wrong address: the message next to the field (swapped in place with htmx), then the right one.
    field(page, "Adresse électronique de connexion").fill("pas-une-adresse")
    page.get_by_role("button", name="Créer l'utilisateur technique").click()
    expect(page.get_by_text("Le formulaire contient des erreurs")).to_be_visible()
    assert_single_page(page)
    problems += check(page)
    field(page, "Adresse électronique de connexion").fill(TECH)
    page.get_by_role("button", name="Créer l'utilisateur technique").click()
    expect(page.get_by_text("L'utilisateur technique est créé")).to_be_visible()
    expect(section).to_contain_text(TECH)
    problems += check(page)

    first = download_credentials(page)
    page.reload()
    expect(section).to_contain_text("valable jusqu'au")
    expect(section.get_by_role("button", name="Exporter les informations de connexion")).to_have_count(0)

    section.get_by_role("link", name="Réinitialiser le mot de passe de l'utilisateur technique").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Réinitialiser le mot de passe")
    problems += check(page)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("l'ancien ne fonctionne plus")).to_be_visible()
    assert_single_page(page)
    second = download_credentials(page)
    assert second != first

    with live_app.app_context():
        from plugins.technical_users import services

        assert services.authenticate(TECH, first).error == "invalid"
        assert services.authenticate(TECH, second).identity is not None
    assert problems == []
