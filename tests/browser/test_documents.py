"""Documents of the structure record in Chromium (SPEC DOC-2, DOC-3): add, list, download, delete; with
JavaScript (htmx posts the form, including a file over 4 MB refused with its French message) and without."""
from __future__ import annotations

import os
import zipfile

import pytest
from browser_helpers import field, log_in

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

_OFF = os.environ.get("CHORUS_TEST_DISABLED_PLUGINS", "")
pytestmark = pytest.mark.skipif(_OFF == "all" or "plugins.documents" in _OFF.split(","),
                                reason="the documents plugin is switched off for this run")

TALL = {"viewport": {"width": 1280, "height": 2400}}
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 3000 + b"\n%%EOF\n"


def add(page, tmp_path, name, content, designation, type_label="Contrat"):
    path = tmp_path / name
    path.write_bytes(content)
    field(page, "Parcourir").set_input_files(str(path))
    field(page, "Désignation").fill(designation)
    field(page, "Type").select_option(label=type_label)
    page.get_by_role("button", name="Ajouter").click()


@pytest.mark.parametrize("js", [True, False])
def test_add_list_download_and_delete(make_page, structure_id, tmp_path, js):
    page = make_page(java_script_enabled=js, accept_downloads=True, **TALL)
    log_in(page)
    page.goto(f"/structures/{structure_id}")
    page.get_by_role("link", name="Gestion des pièces jointes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gestion des pièces jointes")

    add(page, tmp_path, "Contrat été.pdf", PDF, "Contrat de cantine")
    expect(page.get_by_text("Pièce jointe « Contrat de cantine » ajoutée (Contrat été.pdf).")).to_be_visible()
    add(page, tmp_path, "rib.txt", b"Banque de France\n", "RIB de la commune", "RIB / coordonnées bancaires")
    expect(page.get_by_role("table")).to_contain_text("RIB de la commune")
    expect(page.get_by_role("table").locator("tbody tr")).to_have_count(2)

    # A wrong file: the French message next to the field, the page still there.
    add(page, tmp_path, "faux.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "Faux PDF")
    expect(page.locator("#fichier-error")).to_contain_text("ne correspond pas à son extension (.pdf)")

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger Contrat été.pdf").click()
    assert download.value.suggested_filename == "Contrat été.pdf"
    assert download.value.path().read_bytes() == PDF

    page.get_by_label("Sélectionner Contrat de cantine").check()
    page.get_by_label("Sélectionner RIB de la commune").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger la sélection").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        assert sorted(archive.namelist()) == ["Contrat été.pdf", "rib.txt"]
        assert archive.read("Contrat été.pdf") == PDF

    page.get_by_role("link", name="Supprimer Contrat de cantine").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Supprimer des pièces jointes")
    page.get_by_role("button", name="Confirmer la suppression").click()
    expect(page.get_by_text("1 pièce jointe supprimée.")).to_be_visible()
    expect(page.get_by_role("table").locator("tbody tr")).to_have_count(1)
    page.goto(f"/structures/{structure_id}")
    expect(page.locator("#pieces-jointes")).to_contain_text("RIB de la commune")
    expect(page.locator("#pieces-jointes")).not_to_contain_text("Contrat de cantine")
    assert make_page.errors(page) == []  # no script error, no CSP violation


@pytest.mark.parametrize("js", [True, False])
def test_a_file_over_4_mb_is_refused_on_the_form(make_page, structure_id, tmp_path, js):
    page = make_page(java_script_enabled=js, **TALL)
    log_in(page)
    page.goto(f"/structures/{structure_id}/pieces-jointes")
    add(page, tmp_path, "gros.pdf", PDF[:20] + b"0" * (4 * 1024 * 1024), "Trop gros")
    expect(page.locator("#fichier-error")).to_contain_text("Le fichier dépasse la taille maximale de 4 Mo")
    expect(page.get_by_role("button", name="Ajouter")).to_be_visible()
    assert make_page.errors(page) == []
    if js:
        assert make_page.errors(page).http == [f"413 /structures/{structure_id}/pieces-jointes"]
