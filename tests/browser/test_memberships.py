"""Memberships ("rattachements") in Chromium: a user asks to join a structure, its manager decides
(one request from its screen, or many at once with checkboxes), the history keeps the decision, and a
manager attaches and removes a user directly.

With JavaScript (htmx swaps the list of requests in place) and without (plain POST and redirect), the
same screens and the same French messages.
"""
from __future__ import annotations

import re

import pytest
from browser_helpers import assert_single_page, field, path_of
from sqlalchemy import select, update

from chorus.database import transaction
from chorus.extensions import db
from helpers import make_structure

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

PASSWORD = "correct horse battery staple"  # the password of accounts made by `database.create_account`
MANAGER = "sophie@commune.example"
REQUESTER = "lucas@commune.example"
COMMUNE = "Commune de Saint-Exemple"


def log_in(page, email, password=PASSWORD):
    page.goto("/connexion")
    field(page, "Adresse de connexion").fill(email)
    field(page, "Mot de passe").fill(password)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/mon-compte$"))


def log_out(page):
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.locator("#flashes")).to_contain_text("Vous êtes déconnecté.")


def grouped(siret: str) -> str:
    """A SIRET as people type it: "100 000 009 00017"."""
    return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"


def _user(email):
    from chorus.accounts.models import User

    return db.session.execute(select(User).where(User.login_email == email)).scalar_one()


def commune_with_manager(app, database) -> tuple[int, str]:
    """The structure "Commune de Saint-Exemple", Sophie Lemoine its primary manager: (id, SIRET)."""
    database.create_account(MANAGER, first_name="Sophie", last_name="Lemoine")
    with app.app_context():
        structure = make_structure(_user(MANAGER), COMMUNE)
        return structure.id, structure.identifier


def set_contact_email(app, email, contact):
    """A contact address distinct from the login address, so that the e-mails' recipient is checked."""
    from chorus.accounts.models import User

    with app.app_context():
        with transaction():
            db.session.execute(update(User).where(User.login_email == email).values(contact_email=contact))


def request_memberships(app, structure_id, *emails, comment="") -> list[int]:
    """Pending requests of these accounts, made through the memberships services: their ids."""
    from chorus.memberships.services import request_membership
    from chorus.structures.models import Structure

    with app.app_context():
        structure = db.session.get(Structure, structure_id)
        return [request_membership(_user(email), structure, comment=comment).id for email in emails]


def statuses(app, ids) -> list[str]:
    from chorus.memberships.models import Membership

    with app.app_context():
        return db.session.execute(
            select(Membership.status).where(Membership.id.in_(ids)).order_by(Membership.id)).scalars().all()


def spaces_of(page):
    return page.get_by_role("navigation", name="Espaces")


# ------------------------------------------------------------------ 1. the whole story, JavaScript on


def test_request_validate_history_and_my_account(page, console_errors, database, live_app, mailbox):
    structure_id, siret = commune_with_manager(live_app, database)
    database.create_account(REQUESTER, first_name="Lucas", last_name="Garnier")
    set_contact_email(live_app, REQUESTER, "l.garnier@contact.example")
    comment = "Agent comptable au service des finances"

    # SPEC RAT-1: the user finds the structure by its identifier, from "Mon compte", and asks to join it.
    log_in(page, REQUESTER)
    page.get_by_role("link", name="Demander un rattachement à une structure").click()
    expect(page).to_have_url(re.compile(r"/mon-compte/rattachements/nouveau$"))
    expect(page.get_by_role("heading", name="Demander un rattachement à une structure")).to_be_visible()
    field(page, "Type d'identifiant").select_option("SIRET")
    field(page, "Identifiant de la structure").fill(grouped(siret))
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("heading", name=COMMUNE, exact=True)).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(f"SIRET {siret}")
    page.get_by_label("Utilisateur simple", exact=True).check()
    field(page, "Commentaire").fill(comment)
    page.get_by_role("button", name="Envoyer la demande").click()

    # SPEC RAT-2: back on "Mon compte", the request waits for its validation.
    expect(page).to_have_url(re.compile(r"/mon-compte$"))
    expect(page.locator("#flashes")).to_contain_text(
        f"Votre demande de rattachement à {COMMUNE} est envoyée à ses gestionnaires.")
    assert_single_page(page)
    mine = page.get_by_role("region", name="Mes rattachements aux structures")
    row = mine.get_by_role("row").filter(has_text=COMMUNE)
    expect(row.get_by_role("cell")).to_have_text([COMMUNE, siret, "Utilisateur simple", "En cours de validation",
                                                  "Annuler la demande"])
    expect(row.get_by_role("link", name=COMMUNE)).to_have_count(0)  # not a member yet: no link to the record
    log_out(page)

    # SPEC MGR-1: the manager's dashboard leads to the membership requests.
    log_in(page, MANAGER)
    spaces_of(page).get_by_role("link", name="Activités du gestionnaire").click()
    expect(page).to_have_url(re.compile(r"/gestionnaire/$"))
    block = page.get_by_role("region", name="Les demandes de rattachement à une structure")
    expect(block).to_contain_text("1 demande en attente de votre décision")
    block.get_by_role("link", name="Toutes les demandes de rattachement").click()
    expect(page).to_have_url(re.compile(r"/gestionnaire/rattachements$"))
    expect(page.get_by_role("table")).to_contain_text("1 demande en attente")

    # SPEC RAT-3: the request's screen: structure, user, requested role, the user's comment.
    page.get_by_role("link", name="Consulter la demande de Lucas Garnier").click()
    expect(page).to_have_url(re.compile(r"/gestionnaire/rattachements/\d+$"))
    expect(page.get_by_role("heading", name="Demande de rattachement", exact=True)).to_be_visible()
    expect(page.get_by_role("region", name="Structure", exact=True)).to_contain_text(COMMUNE)
    user_block = page.get_by_role("region", name="Utilisateur", exact=True)
    expect(user_block).to_contain_text("Lucas Garnier")
    expect(user_block).to_contain_text(REQUESTER)
    expect(user_block.locator("dt:has-text('Rôle demandé') + dd")).to_have_text("Utilisateur simple")
    expect(user_block.locator("dt:has-text('Commentaire') + dd")).to_have_text(comment)
    expect(page.get_by_label("Utilisateur simple", exact=True)).to_be_checked()  # the role given by default
    page.evaluate("window.__no_reload = 'still here'")
    page.get_by_role("button", name="Valider", exact=True).click()

    # SPEC RAT-4: validated; the manager is back on the list (a full page: htmx followed HX-Redirect).
    expect(page).to_have_url(re.compile(r"/gestionnaire/rattachements$"))
    expect(page.locator("#flashes")).to_contain_text("1 demande validée ; le demandeur est prévenu par courriel.")
    expect(page.get_by_role("main")).to_contain_text("Aucune demande de rattachement en attente.")
    assert_single_page(page)

    # SPEC RAT-5: the user is told by e-mail, at their contact address.
    mails = mailbox.all(to="l.garnier@contact.example")
    assert len(mails) == 1, mails
    _, subject, body = mails[0]
    assert subject == f"Chorus : votre rattachement à {COMMUNE} est validé"
    assert f"Votre demande de rattachement à la structure {COMMUNE} ({siret}) a été validée." in body
    assert "Votre rôle : utilisateur simple." in body
    assert mailbox.all(to=REQUESTER) == []

    # SPEC HIS-1, HIS-2: the structure's history, from "Mes structures", has the decision, "Validée".
    spaces_of(page).get_by_role("link", name="Activités du gestionnaire").click()
    mes_structures = page.get_by_role("region", name="Mes structures")
    mes_structures.get_by_role("link", name=f"Historique de {COMMUNE}").click()
    expect(page).to_have_url(re.compile(rf"/structures/{structure_id}/historique$"))
    entry = page.get_by_role("row").filter(has_text="Demande de rattachement de Lucas Garnier validée")
    expect(entry).to_have_count(1)
    expect(entry.get_by_role("cell").nth(1)).to_have_text("Sophie Lemoine")
    expect(entry.get_by_role("cell").nth(3)).to_have_text("Validée")

    # SPEC HIS-3: the magnifier opens the detail of the membership request.
    entry.get_by_role("link", name=re.compile(r"^Détail de l'action du ")).click()
    expect(page).to_have_url(re.compile(rf"/structures/{structure_id}/historique/\d+$"))
    detail = page.get_by_role("region", name="Demande de rattachement", exact=True)
    expect(detail).to_contain_text(f"{COMMUNE} ({siret})")
    expect(detail).to_contain_text(f"Lucas Garnier ({REQUESTER})")
    expect(detail.locator("dt:has-text('Rôle') + dd")).to_have_text("Utilisateur simple")
    expect(detail.locator("dt:has-text(\"Commentaire de l'utilisateur\") + dd")).to_have_text(comment)
    log_out(page)

    # SPEC RAT-2: the user's "Mon compte" shows the membership validated, linked to the structure's record.
    log_in(page, REQUESTER)
    row = page.get_by_role("region", name="Mes rattachements aux structures").get_by_role("row").filter(
        has_text=COMMUNE)
    expect(row.get_by_role("cell")).to_have_text([COMMUNE, siret, "Utilisateur simple", "Validé", ""])
    row.get_by_role("link", name=COMMUNE).click()
    expect(page).to_have_url(re.compile(rf"/structures/{structure_id}$"))
    expect(page.get_by_role("heading", name="Fiche structure", exact=True)).to_be_visible()

    assert console_errors == []
    assert console_errors.http == []


# ------------------------------------------------------------------ 2. bulk decisions, htmx


def test_bulk_refusal_needs_a_reason_and_updates_the_list_in_place(page, console_errors, database, live_app,
                                                                    mailbox):
    structure_id, _ = commune_with_manager(live_app, database)
    people = {"anne@commune.example": "Anne Bernard", "bruno@commune.example": "Bruno Caron",
              "chloe@commune.example": "Chloé Dumas"}
    for email, name in people.items():
        first, last = name.split()
        database.create_account(email, first_name=first, last_name=last)
    ids = request_memberships(live_app, structure_id, *people, comment="Nouvel agent")

    log_in(page, MANAGER)
    page.goto("/gestionnaire/rattachements")
    expect(page.get_by_role("table")).to_contain_text("3 demandes en attente")
    page.evaluate("window.__no_reload = 'still here'")

    def box(name):
        return page.get_by_role("checkbox", name=f"Sélectionner la demande de {name} pour {COMMUNE}")

    # SPEC RAT-4: refusing needs a reason; the error is shown next to the field, without a page load.
    box("Anne Bernard").check()
    box("Bruno Caron").check()
    page.get_by_role("button", name="Refuser", exact=True).click()
    reason = field(page, "Motif du refus")
    expect(page.locator("#reason-error")).to_have_text("Le motif du refus est obligatoire.")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_attribute("aria-describedby", re.compile(r"\breason-error\b"))
    assert page.evaluate("window.__no_reload") == "still here"
    assert path_of(page) == "/gestionnaire/rattachements"
    assert_single_page(page)
    assert statuses(live_app, ids) == ["pending", "pending", "pending"]
    assert mailbox.all() == []
    # The ticked boxes survive the refusal: the manager only adds the reason.
    expect(box("Anne Bernard")).to_be_checked()
    expect(box("Bruno Caron")).to_be_checked()

    reason.fill("Personnes inconnues du service")
    page.get_by_role("button", name="Refuser", exact=True).click()

    # The list is updated in place: one request left, and the flash; still no page load.
    expect(page.get_by_role("table")).to_contain_text("1 demande en attente")
    expect(page.locator("#flashes")).to_contain_text(
        "2 demandes refusées ; les demandeurs sont prévenus par courriel.")
    expect(page.get_by_role("checkbox")).to_have_count(1)
    expect(box("Chloé Dumas")).to_have_count(1)
    expect(page.locator("#reason-error")).to_have_count(0)
    assert page.evaluate("window.__no_reload") == "still here"
    assert path_of(page) == "/gestionnaire/rattachements"
    assert_single_page(page)
    expect(page).to_have_title("Les demandes de rattachement à une structure · Chorus")
    assert statuses(live_app, ids) == ["refused", "refused", "pending"]

    # SPEC RAT-5: each refused user is told, with the reason.
    for email in ("anne@commune.example", "bruno@commune.example"):
        [(_, subject, body)] = mailbox.all(to=email)
        assert subject == f"Chorus : votre demande de rattachement à {COMMUNE} est refusée"
        assert "Motif : Personnes inconnues du service" in body
    assert mailbox.all(to="chloe@commune.example") == []

    assert console_errors == []
    assert console_errors.http == ["422 /gestionnaire/rattachements"]


# ------------------------------------------------------------------ 3. the same without JavaScript


def test_validate_from_the_list_without_javascript(page_nojs, database, live_app, mailbox):
    page = page_nojs
    structure_id, _ = commune_with_manager(live_app, database)
    database.create_account(REQUESTER, first_name="Lucas", last_name="Garnier")
    [membership_id] = request_memberships(live_app, structure_id, REQUESTER)

    log_in(page, MANAGER)
    page.goto("/gestionnaire/rattachements")
    page.get_by_role("checkbox", name=f"Sélectionner la demande de Lucas Garnier pour {COMMUNE}").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Valider", exact=True).click()

    # SPEC RAT-4: the page is loaded again (POST, then redirect), with the flash and an empty list.
    expect(page).to_have_url(re.compile(r"/gestionnaire/rattachements$"))
    expect(page.locator("#flashes")).to_contain_text("1 demande validée ; le demandeur est prévenu par courriel.")
    expect(page.get_by_role("main")).to_contain_text("Aucune demande de rattachement en attente.")
    expect(page.get_by_role("checkbox")).to_have_count(0)
    assert_single_page(page)
    assert statuses(live_app, [membership_id]) == ["validated"]
    [(_, subject, _)] = mailbox.all(to=REQUESTER)  # SPEC RAT-5
    assert subject == f"Chorus : votre rattachement à {COMMUNE} est validé"


# ------------------------------------------------------------------ 4. direct attachment and removal


def test_attach_a_user_from_the_structure_then_remove_them(page, console_errors, database, live_app, mailbox):
    structure_id, _ = commune_with_manager(live_app, database)
    database.create_account(REQUESTER, first_name="Lucas", last_name="Garnier")
    database.create_account("lucie@commune.example", first_name="Lucie", last_name="Garnier-Roy")

    log_in(page, MANAGER)
    page.goto(f"/structures/{structure_id}")
    users = page.get_by_role("region", name="Utilisateurs rattachés à la structure")
    expect(users.get_by_role("table")).to_contain_text("1 rattachement")

    # SPEC RAT-6 (amended): "Rattacher un utilisateur" searches the people linked to the manager's
    # structures; anyone else is invited by their address and joins on accepting.
    users.get_by_role("link", name="Rattacher un utilisateur").click()
    expect(page).to_have_url(re.compile(rf"/structures/{structure_id}/rattacher$"))
    expect(page.get_by_role("heading", name="Rattacher un utilisateur")).to_be_visible()
    search = page.get_by_role("search", name="Rechercher un utilisateur")
    field(search, "Nom").fill("garnier")
    search.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_text("Aucune personne liée à vos structures ne correspond.")).to_be_visible()
    search = page.get_by_role("search", name="Rechercher un utilisateur")
    field(search, "Nom").fill("")
    field(search, "Adresse de connexion").fill(REQUESTER.upper())
    search.get_by_role("button", name="Rechercher").click()
    invite = page.get_by_role("region", name="Inviter une personne par son adresse")
    expect(field(invite, "Adresse électronique de la personne")).to_have_value(REQUESTER)
    invite.get_by_label("Gestionnaire secondaire", exact=True).check()
    field(invite, "Commentaire").fill("Renfort pour la campagne budgétaire")
    invite.get_by_role("button", name="Envoyer l'invitation").click()
    expect(page.locator("#flashes")).to_contain_text(f"Une invitation a été envoyée à {REQUESTER}")
    assert_single_page(page)
    [(_, subject, body)] = mailbox.all(to=REQUESTER)
    assert subject == f"Chorus : invitation à rejoindre {COMMUNE}"
    assert "Commentaire : Renfort pour la campagne budgétaire" in body and "« gestionnaire secondaire »" in body

    # Lucas accepts.
    log_out(page)
    log_in(page, REQUESTER)
    page.goto(mailbox.link(REQUESTER))
    expect(page.get_by_role("heading", name="Invitation à rejoindre une structure")).to_be_visible()
    page.get_by_role("button", name="Accepter").click()
    expect(page.locator("#flashes")).to_contain_text(f"Vous êtes membre de {COMMUNE}.")
    expect(page.get_by_role("region", name="Mes rattachements aux structures")).to_contain_text(COMMUNE)
    log_out(page)
    log_in(page, MANAGER)
    page.goto(f"/structures/{structure_id}")
    users = page.get_by_role("region", name="Utilisateurs rattachés à la structure")
    expect(users.get_by_role("table")).to_contain_text("2 rattachements")
    lucas = users.get_by_role("row").filter(has_text=REQUESTER)
    expect(lucas.get_by_role("cell").nth(3)).to_have_text("Gestionnaire secondaire")

    # SPEC RAT-7, TRF-1: the primary manager's row has no checkbox; the new one is removed.
    primary = users.get_by_role("row").filter(has_text=MANAGER)
    expect(primary.get_by_role("cell").nth(3)).to_have_text("Gestionnaire principal")
    expect(primary.get_by_role("checkbox")).to_have_count(0)
    users.get_by_role("checkbox", name="Sélectionner Lucas Garnier").check()
    users.get_by_role("button", name="Supprimer rattachements").click()
    # P6-14: a confirmation step, naming who loses access.
    expect(page.get_by_role("heading", name="Supprimer des rattachements")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(f"Lucas Garnier — {REQUESTER}")
    page.get_by_role("button", name="Confirmer la suppression").click()

    expect(page.locator("#flashes")).to_contain_text("1 rattachement supprimé.")
    users = page.get_by_role("region", name="Utilisateurs rattachés à la structure")
    expect(users.get_by_role("table")).to_contain_text("1 rattachement")
    expect(users.get_by_role("row").filter(has_text=REQUESTER)).to_have_count(0)
    expect(users.get_by_role("row").filter(has_text=MANAGER)).to_have_count(1)
    assert_single_page(page)

    assert console_errors == []
    assert console_errors.http == []


# ------------------------------------------------------------------ 5. what a person with the guide saw (P6 12-16)


def test_the_dashboard_block_decides_each_request_in_place(page, console_errors, database, live_app, mailbox):
    # P6-12: Valider and Refuser on each row of "Les demandes de rattachement à une structure"; the refusal asks
    # its reason in a confirmation step. P6-13: the refused person sees "Refusé" and the reason. P6-14: the
    # destructive button looks apart.
    structure_id, _ = commune_with_manager(live_app, database)
    database.create_account(REQUESTER, first_name="Lucas", last_name="Garnier")
    database.create_account("anne@commune.example", first_name="Anne", last_name="Martin")
    request_memberships(live_app, structure_id, REQUESTER, "anne@commune.example")

    log_in(page, MANAGER)
    spaces_of(page).get_by_role("link", name="Activités du gestionnaire").click()
    block = page.get_by_role("region", name="Les demandes de rattachement à une structure")
    expect(block.get_by_role("row")).to_have_count(3)  # the header and two requests
    valider = block.get_by_role("button", name=f"Valider la demande de Lucas Garnier pour {COMMUNE}")
    refuser = block.get_by_role("link", name=f"Refuser la demande de Anne Martin pour {COMMUNE}")
    colours = page.evaluate("([a, b]) => [getComputedStyle(a).backgroundColor, getComputedStyle(b).backgroundColor]",
                            [valider.element_handle(), refuser.element_handle()])
    assert colours[0] != colours[1]
    valider.click()
    expect(page.locator("#flashes")).to_contain_text("1 demande validée")
    expect(block.get_by_role("row")).to_have_count(2)  # swapped in place by htmx
    expect(page).to_have_url(re.compile(r"/gestionnaire/$"))
    assert_single_page(page)

    block.get_by_role("link", name=f"Refuser la demande de Anne Martin pour {COMMUNE}").click()
    expect(page.get_by_role("heading", name="Refuser une demande de rattachement")).to_be_visible()
    page.get_by_role("button", name="Confirmer le refus").click()
    expect(page.get_by_role("main")).to_contain_text("Le motif du refus est obligatoire.")
    field(page, "Motif du refus").fill("Inconnue du service")
    page.get_by_role("button", name="Confirmer le refus").click()
    expect(page.locator("#flashes")).to_contain_text("1 demande refusée")
    expect(page).to_have_url(re.compile(r"/gestionnaire/$"))
    expect(page.get_by_role("region", name="Les demandes de rattachement à une structure")).to_contain_text(
        "Aucune demande en attente.")

    log_out(page)
    log_in(page, "anne@commune.example")
    mine = page.get_by_role("region", name="Mes rattachements aux structures")
    row = mine.get_by_role("row").filter(has_text=COMMUNE)
    expect(row).to_contain_text("Refusé")
    expect(row).to_contain_text("Motif : Inconnue du service")
    assert console_errors == []


def test_pages_a_person_reads_with_the_guide(page, console_errors, database, live_app):
    # P6-15: inputs wide enough for an address, a history link with text, the current tab on structure
    # pages, the country from a list.
    structure_id, _ = commune_with_manager(live_app, database)
    log_in(page, MANAGER)
    page.goto(f"/structures/{structure_id}/rattacher")
    box = field(page.get_by_role("search", name="Rechercher un utilisateur"), "Adresse de connexion")
    box.fill("claire-marie.dupont-lefebvre@communaute-agglomeration.example")
    assert box.evaluate("el => el.scrollWidth <= el.clientWidth")
    expect(spaces_of(page).get_by_role("link", name="Activités du gestionnaire")).to_have_attribute(
        "aria-current", "true")
    page.goto(f"/structures/{structure_id}/historique")
    expect(page.get_by_role("link", name=re.compile(r"^Détail de l'action du ")).first).to_contain_text("Détail")
    page.goto("/structures/nouvelle")
    field(page, "Pays").select_option(label="Allemagne")
    expect(field(page, "Pays")).to_have_value("DE")
    assert console_errors == []
