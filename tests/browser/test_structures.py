"""Structures in Chromium: create a "fiche structure", edit it block by block, read its history, and
search "Mes structures" in "Activités du gestionnaire".

With JavaScript (htmx swaps one block, or the results table, in place) and without (plain POST and
redirect, plain GET form), the same screens and the same French messages.
"""
from __future__ import annotations

import re

import pytest
from browser_helpers import assert_single_page, field, path_of
from sqlalchemy import select

from chorus.extensions import db
from helpers import make_structure, new_siret

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

PASSWORD = "correct horse battery staple"  # the password of accounts made by `database.create_account`
EMAIL = "agent@mairie.example"


# The modification page is long and Simple.css sets `scroll-behavior: smooth`: every click below the fold
# would wait for a smooth scroll to end. A tall window shows whole pages; the layout is not under test here.
TALL = {"viewport": {"width": 1280, "height": 3000}}


@pytest.fixture
def page(make_page):
    """conftest's `page` (JavaScript on; `console_errors` follows it), in a tall window."""
    return make_page(**TALL)


@pytest.fixture
def page_nojs(make_page):
    return make_page(java_script_enabled=False, **TALL)


def log_in(page, email=EMAIL, password=PASSWORD):
    page.goto("/connexion")
    field(page, "Adresse de connexion").fill(email)
    field(page, "Mot de passe").fill(password)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/mon-compte$"))


def grouped(siret: str) -> str:
    """A SIRET as people type it: "100 000 009 00017"."""
    return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"


def wrong_check_digit(siret: str) -> str:
    return siret[:-1] + str((int(siret[-1]) + 1) % 10)


def make_structures(app, email, *designations, **fields) -> list[tuple[int, str]]:
    """Private structures managed by the account `email` (made through the services): [(id, SIRET)]."""
    from chorus.accounts.models import User

    with app.app_context():
        user = db.session.execute(select(User).where(User.login_email == email)).scalar_one()
        made = [make_structure(user, designation, **fields) for designation in designations]
        return [(s.id, s.identifier) for s in made]


def saved(app, structure_id, *names):
    """Fields of a structure as stored, read in a fresh app context."""
    from chorus.structures.models import Structure

    with app.app_context():
        structure = db.session.get(Structure, structure_id)
        return tuple(getattr(structure, name) for name in names)


def spaces_of(page):
    return page.get_by_role("navigation", name="Espaces").get_by_role("link")


# ------------------------------------------------------------------ 1. create, edit one block, history (JavaScript on)


def test_create_edit_address_and_read_history(page, console_errors, database, live_app):
    database.create_account(EMAIL)
    siret = new_siret()
    log_in(page)
    expect(spaces_of(page)).to_have_text(["Mon compte"])  # SPEC ACC-4: no structure yet

    # SPEC STR-2: a private structure is created by its user, from "Mon compte".
    page.get_by_role("link", name="Créer une fiche structure").click()
    expect(page).to_have_url(re.compile(r"/structures/nouvelle$"))
    expect(page.get_by_role("heading", name="Créer une fiche structure")).to_be_visible()
    field(page, "Type d'identifiant").select_option("SIRET")
    field(page, "Identifiant").fill(grouped(siret))  # SPEC STR-1: spaces accepted
    field(page, "Raison sociale").fill("Menuiserie Le Gall")
    field(page, "Adresse").fill("12 rue des Chênes")
    field(page, "Code postal").fill("29000")
    field(page, "Ville").fill("Quimper")
    page.get_by_role("button", name="Créer la structure").click()

    # The "Fiche structure", the identifier normalised to its 14 digits.
    expect(page).to_have_url(re.compile(r"/structures/\d+$"))
    structure_id = int(path_of(page).rsplit("/", 1)[1])
    expect(page.get_by_role("heading", name="Fiche structure", exact=True)).to_be_visible()
    identity = page.locator(".structure-identity")
    expect(identity).to_contain_text("Menuiserie Le Gall")
    expect(identity).to_contain_text(f"SIRET {siret}")
    expect(page.locator("#flashes")).to_contain_text("La structure Menuiserie Le Gall est créée")
    assert_single_page(page)
    # SPEC ESP-2, ACC-4: the creator is primary manager, so "Activités du gestionnaire" joins the top bar.
    expect(spaces_of(page).filter(has_text="Mon compte")).to_have_count(1)
    expect(spaces_of(page).filter(has_text="Activités du gestionnaire")).to_have_count(1)

    page.get_by_role("navigation", name="Espaces").get_by_role("link", name="Mon compte").click()
    memberships = page.get_by_role("region", name="Mes rattachements aux structures")
    row = memberships.get_by_role("row").filter(has_text="Menuiserie Le Gall")
    expect(row).to_have_count(1)
    for text in ("Menuiserie Le Gall", siret, "Gestionnaire principal", "Validé"):
        expect(row.get_by_role("cell", name=text, exact=True)).to_have_count(1)

    # SPEC STR-4: its manager modifies it, one block at a time.
    row.get_by_role("link", name="Menuiserie Le Gall").click()
    page.get_by_role("link", name="Modifier la structure").click()
    expect(page).to_have_url(re.compile(rf"/structures/{structure_id}/modifier$"))
    expect(page.get_by_role("heading", name="Modification de la structure")).to_be_visible()

    page.evaluate("window.__no_reload = 'still here'")
    identification = page.get_by_role("region", name="Identification", exact=True)
    address_block = page.get_by_role("region", name="Adresse postale du siège", exact=True)
    # Marks on the DOM: the address section is replaced, the identification form is not.
    identification.locator("form").evaluate("form => { form.__mark = 'untouched' }")
    address_block.evaluate("section => { section.__mark = 'old section' }")
    field(identification, "Raison sociale").fill("Saisie en cours, non enregistrée")

    field(address_block, "Adresse").fill("3 place Saint-Corentin")
    field(address_block, "Ville").fill("Quimper Cedex")
    address_block.get_by_role("button", name="Enregistrer").click()

    expect(address_block.get_by_role("status")).to_have_text("Modifications enregistrées.")
    expect(field(address_block, "Adresse")).to_have_value("3 place Saint-Corentin")
    expect(field(address_block, "Ville")).to_have_value("Quimper Cedex")
    assert address_block.evaluate("section => section.__mark") is None  # swapped (hx-swap outerHTML)
    expect(page.locator(".edit-block")).to_have_count(4)  # replaced, not nested; no MOA block (private)
    assert page.evaluate("window.__no_reload") == "still here"  # no page load
    assert identification.locator("form").evaluate("form => form.__mark") == "untouched"
    expect(field(identification, "Raison sociale")).to_have_value("Saisie en cours, non enregistrée")
    expect(identification.get_by_role("status")).to_have_count(0)
    assert path_of(page) == f"/structures/{structure_id}/modifier"
    assert_single_page(page)
    assert saved(live_app, structure_id, "designation", "address", "city", "postal_code") == (
        "Menuiserie Le Gall", "3 place Saint-Corentin", "Quimper Cedex", "29000")

    # SPEC STR-3: the address is required; the error is shown in the block, still without a page load.
    field(address_block, "Adresse").fill("")
    address_block.get_by_role("button", name="Enregistrer").click()
    expect(address_block.get_by_role("alert")).to_contain_text("Le formulaire contient des erreurs")
    address = field(address_block, "Adresse")
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(address_block.locator("#address-error")).to_have_text("Le champ « Adresse » est obligatoire.")
    expect(address).to_have_attribute("aria-describedby", re.compile(r"\baddress-error\b"))
    expect(address_block.get_by_role("status")).to_have_count(0)
    assert page.evaluate("window.__no_reload") == "still here"
    expect(field(identification, "Raison sociale")).to_have_value("Saisie en cours, non enregistrée")
    assert saved(live_app, structure_id, "address") == ("3 place Saint-Corentin",)

    # SPEC STR-10: the change is in the history, with the before/after of each field.
    page.get_by_role("link", name="Retour à la fiche structure").click()
    expect(page).to_have_url(re.compile(rf"/structures/{structure_id}$"))
    page.get_by_role("link", name="Historique", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/structures/{structure_id}/historique$"))
    expect(page.get_by_role("heading", name="Historique", exact=True)).to_be_visible()
    change = page.get_by_role("row").filter(has_text="Modification de la structure")
    expect(change).to_have_count(1)  # the refused save left no trace
    expect(change).to_contain_text("Modification de la structure : adresse, ville")
    expect(change).to_contain_text("Claire Martin")
    expect(page.get_by_role("row").filter(has_text="Création de la structure Menuiserie Le Gall")).to_have_count(1)

    change.get_by_role("link", name=re.compile(r"^Détail de l'action du ")).click()
    expect(page).to_have_url(re.compile(rf"/structures/{structure_id}/historique/\d+$"))
    expect(page.get_by_role("heading", name="Détail de l'action")).to_be_visible()
    changes = page.get_by_role("table", name="Champs modifiés")
    rows = changes.locator("tbody tr")
    expect(rows).to_have_count(2)  # only the fields that changed
    expect(rows.nth(0).get_by_role("cell")).to_have_text(["Adresse", "12 rue des Chênes", "3 place Saint-Corentin"])
    expect(rows.nth(1).get_by_role("cell")).to_have_text(["Ville", "Quimper", "Quimper Cedex"])

    assert console_errors == []
    assert console_errors.http == [f"422 /structures/{structure_id}/modifier/adresse"]


def test_create_refuses_a_wrong_siret_and_a_duplicate(page, console_errors, database, live_app):
    database.create_account(EMAIL)
    [(_, existing)] = make_structures(live_app, EMAIL, "Boulangerie Riou")
    log_in(page)
    page.goto("/structures/nouvelle")
    page.evaluate("window.__no_reload = 'still here'")

    def submit(identifier):
        field(page, "Identifiant").fill(identifier)
        field(page, "Raison sociale").fill("Menuiserie Le Gall")
        field(page, "Adresse").fill("12 rue des Chênes")
        page.get_by_role("button", name="Créer la structure").click()

    def assert_identifier_error(message):
        expect(page.get_by_role("alert")).to_contain_text("Le formulaire contient des erreurs")
        identifier = field(page, "Identifiant")
        expect(identifier).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#identifier-error")).to_contain_text(message)
        expect(identifier).to_have_attribute("aria-describedby", re.compile(r"\bidentifier-error\b"))
        assert page.evaluate("window.__no_reload") == "still here"  # htmx swapped the 422 into <main>
        assert path_of(page) == "/structures/nouvelle"
        assert_single_page(page)

    # SPEC STR-1: a SIRET has a valid check digit (Luhn)...
    submit(grouped(wrong_check_digit(new_siret())))
    assert_identifier_error("clé de contrôle incorrecte")
    # ... and one structure per (identifier type, identifier), compared once normalised.
    submit(grouped(existing))
    assert_identifier_error("Une structure existe déjà avec cet identifiant.")
    expect(field(page, "Raison sociale")).to_have_value("Menuiserie Le Gall")  # kept

    from chorus.structures.models import Structure

    with live_app.app_context():
        assert db.session.execute(select(Structure.designation)).scalars().all() == ["Boulangerie Riou"]
    expect(spaces_of(page).filter(has_text="Activités du gestionnaire")).to_have_count(1)  # from the first one
    assert console_errors == []
    assert console_errors.http == ["422 /structures/nouvelle"] * 2


# ------------------------------------------------------------------ 2. the same address edit without JavaScript


def test_edit_address_without_javascript(page_nojs, database, live_app):
    page = page_nojs
    database.create_account(EMAIL)
    [(structure_id, _)] = make_structures(live_app, EMAIL, "Garage Kerouac", address="8 quai de l'Odet",
                                          city="Quimper")
    log_in(page)
    page.goto(f"/structures/{structure_id}/modifier")
    address_block = page.get_by_role("region", name="Adresse postale du siège", exact=True)
    expect(field(address_block, "Adresse")).to_have_value("8 quai de l'Odet")

    # SPEC STR-4: a plain POST, then the browser is sent back to the modification page.
    field(address_block, "Adresse").fill("14 avenue de la Gare")
    field(address_block, "Ville").fill("Ergué-Gabéric")
    with page.expect_navigation():
        address_block.get_by_role("button", name="Enregistrer").click()
    assert re.fullmatch(rf"/structures/{structure_id}/modifier(#bloc-adresse)?", path_of(page)), page.url
    expect(page.locator("#flashes")).to_contain_text("Adresse postale du siège : Modifications enregistrées.")
    expect(field(address_block, "Adresse")).to_have_value("14 avenue de la Gare")
    expect(field(address_block, "Ville")).to_have_value("Ergué-Gabéric")
    assert_single_page(page)
    assert saved(live_app, structure_id, "address", "city") == ("14 avenue de la Gare", "Ergué-Gabéric")

    # SPEC STR-3: an empty address is refused, the error next to its field, nothing saved.
    field(address_block, "Adresse").fill("")
    with page.expect_navigation() as navigation:
        address_block.get_by_role("button", name="Enregistrer").click()
    assert navigation.value.status == 422
    expect(page.get_by_role("alert")).to_contain_text("Le formulaire contient des erreurs")
    address = field(address_block, "Adresse")
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(address_block.locator("#address-error")).to_have_text("Le champ « Adresse » est obligatoire.")
    expect(address).to_have_attribute("aria-describedby", re.compile(r"\baddress-error\b"))
    # The other blocks are still there, with the stored values.
    identification = page.get_by_role("region", name="Identification", exact=True)
    expect(field(identification, "Raison sociale")).to_have_value("Garage Kerouac")
    assert_single_page(page)
    assert saved(live_app, structure_id, "address", "city") == ("14 avenue de la Gare", "Ergué-Gabéric")


# ------------------------------------------------------------------ 3. "Mes structures" search


DESIGNATIONS = ("Boulangerie Riou", "Menuiserie Le Gall", "Garage Kerouac")


def search_form(page):
    return page.get_by_role("search", name="Rechercher parmi mes structures")


def result_rows(page):
    return page.locator("#mes-structures-resultats tbody tr")


def test_my_structures_search_as_you_type(page, console_errors, database, live_app):
    database.create_account(EMAIL)
    make_structures(live_app, EMAIL, *DESIGNATIONS)
    log_in(page)
    page.get_by_role("navigation", name="Espaces").get_by_role("link", name="Activités du gestionnaire").click()
    expect(page).to_have_url(re.compile(r"/gestionnaire/$"))
    expect(page.get_by_role("heading", name="Mes structures")).to_be_visible()
    expect(result_rows(page)).to_have_count(3)

    # SPEC MGR-1: "Mes structures" filters as the manager types (htmx, no page load).
    page.evaluate("window.__no_reload = 'still here'")
    field(search_form(page), "Identifiant ou raison sociale").press_sequentially("menuis")
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page).first.get_by_role("cell").first).to_have_text("Menuiserie Le Gall")
    expect(page.locator("#mes-structures-resultats caption")).to_have_text("1 structure pour « menuis »")
    expect(page).to_have_url(re.compile(r"/gestionnaire/\?q=menuis$"))  # pushed into the history
    assert page.evaluate("window.__no_reload") == "still here"
    assert_single_page(page)
    expect(page.get_by_role("heading", name="Mes structures")).to_have_count(1)  # the table only was swapped

    # The pushed URL is a real page: reloading shows the same result.
    page.reload()
    assert page.evaluate("window.__no_reload") is None
    expect(field(search_form(page), "Identifiant ou raison sociale")).to_have_value("menuis")
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page).first).to_contain_text("Menuiserie Le Gall")
    assert_single_page(page)

    # Nothing matches: said in French.
    field(search_form(page), "Identifiant ou raison sociale").fill("zzz")
    expect(page.locator("#mes-structures-resultats")).to_have_text(
        re.compile(r"Aucune structure ne correspond à « zzz »"))
    expect(page).to_have_url(re.compile(r"/gestionnaire/\?q=zzz$"))

    # Back: htmx keeps no history cache (historyCacheSize 0), it asks the server for the previous page.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/gestionnaire/\?q=menuis$"))
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page).first).to_contain_text("Menuiserie Le Gall")
    expect(field(search_form(page), "Identifiant ou raison sociale")).to_have_value("menuis")
    assert_single_page(page)

    assert console_errors == []
    assert console_errors.http == []


def test_my_structures_search_without_javascript(page_nojs, database, live_app):
    page = page_nojs
    database.create_account(EMAIL)
    structures = make_structures(live_app, EMAIL, *DESIGNATIONS)
    log_in(page)
    page.goto("/gestionnaire/")
    expect(result_rows(page)).to_have_count(3)

    field(search_form(page), "Identifiant ou raison sociale").fill("GARAGE")
    with page.expect_navigation():
        search_form(page).get_by_role("button", name="Rechercher").click()
    expect(page).to_have_url(re.compile(r"/gestionnaire/\?q=GARAGE$"))  # case does not matter
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page).first).to_contain_text("Garage Kerouac")

    # By identifier too, typed with spaces (SPEC MGR-1: "Identifiant ou raison sociale").
    siret = structures[0][1]
    field(search_form(page), "Identifiant ou raison sociale").fill(grouped(siret)[:7])
    with page.expect_navigation():
        search_form(page).get_by_role("button", name="Rechercher").click()
    expect(result_rows(page)).to_have_count(1)  # helpers' SIRETs differ in their first 6 digits
    expect(result_rows(page).first).to_contain_text("Boulangerie Riou")
    expect(result_rows(page).first).to_contain_text(siret)
    assert_single_page(page)
    # Accented capitals ("École" from "école"): tests/test_structures.py::test_search_folds_accented_capitals.
