"""Every page passes axe-core's WCAG 2.1 A/AA rules (those RGAA 4.1.2 maps to) in a real Chromium."""
from __future__ import annotations

import os
import re

import pytest
from browser_helpers import violations

from helpers import PASSWORD, Accounts, make_structure


@pytest.fixture
def world(live_app):
    """A manager with a structure and a history, and a platform administrator."""
    with live_app.app_context():
        accounts = Accounts()
        manager = accounts.create("gestionnaire@mairie.example")
        admin = accounts.create("admin@dgfip.example", is_admin=True)
        structure = make_structure(manager, "Commune de Saint-Exemple", public=True, admin=admin)
        from chorus.structures import services

        services.update(manager, structure, {"city": "Lorient"})
        from chorus.memberships.services import request_membership

        requester = accounts.create("lucas@commune.example", last_name="Garnier")
        request = request_membership(requester, structure, comment="Service des finances")
        from helpers import attach

        attach(structure, accounts.create("anne@commune.example", last_name="Martin"))  # someone to remove
        return {"structure_id": structure.id, "siret": structure.identifier, "request_id": request.id}


def log_in(page, email):
    page.goto("/connexion")
    page.get_by_label("Adresse de connexion").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/mon-compte$"))


def check(page, paths) -> list[str]:
    problems = []
    for path in paths:
        page.goto(path)
        problems += [f"{path}: {v}" for v in violations(page)]
    return problems


def test_anonymous_pages(make_page):
    page = make_page(bypass_csp=True)
    problems = check(page, ["/", "/connexion", "/inscription", "/mot-de-passe-oublie", "/nulle-part"])
    page.goto("/inscription")
    page.get_by_role("button", name="Créer le compte").click()  # the form with its errors shown
    page.get_by_text("Le formulaire contient des erreurs").wait_for()
    problems += [f"/inscription (erreurs): {v}" for v in violations(page)]
    assert problems == []


def test_manager_pages(make_page, world):
    page = make_page(bypass_csp=True)
    log_in(page, "gestionnaire@mairie.example")
    sid = world["structure_id"]
    problems = check(page, ["/mon-compte", "/mon-compte/mot-de-passe", "/structures/nouvelle", "/gestionnaire/",
                            f"/structures/{sid}", f"/structures/{sid}/modifier", f"/structures/{sid}/historique",
                            "/gestionnaire/rattachements", f"/gestionnaire/rattachements/{world['request_id']}",
                            f"/structures/{sid}/rattacher?last_name=garnier",
                            f"/structures/{sid}/rattacher?email=personne@ailleurs.example",  # the invitation form
                            f"/gestionnaire/rattachements/{world['request_id']}/refuser",
                            "/invitations/jeton-inconnu",
                            "/gestionnaire/comptes/nouveau", f"/gestionnaire/comptes/nouveau?structure={sid}",
                            f"/mon-compte/rattachements/nouveau?identifier_type=SIRET&identifier={world['siret']}",
                            "/gestionnaire/utilisateurs", "/gestionnaire/utilisateurs?nom=martin&tri=prenom&ordre=desc",
                            "/gestionnaire/utilisateurs?nom=personne"])
    page.goto(f"/gestionnaire/comptes/nouveau?structure={sid}")
    page.get_by_role("button", name="Créer le compte utilisateur").click()  # the form with its errors shown
    page.get_by_text("Le formulaire contient des erreurs").wait_for()
    problems += [f"créer le compte utilisateur (erreurs): {v}" for v in violations(page)]
    page.goto("/gestionnaire/utilisateurs")
    page.get_by_role("link", name=re.compile("^Consulter")).first.click()
    problems += [f"un utilisateur: {v}" for v in violations(page)]
    page.goto("/gestionnaire/utilisateurs?adresse=anne")
    page.get_by_role("checkbox").first.check()
    page.get_by_role("button", name="Supprimer rattachements").click()
    page.get_by_role("button", name="Confirmer la suppression").wait_for()
    problems += [f"confirmation de suppression (recherche): {v}" for v in violations(page)]
    page.goto(f"/structures/{sid}/historique")
    page.locator("a[href*='/historique/']").first.click()
    problems += [f"détail de l'historique: {v}" for v in violations(page)]
    page.goto(f"/structures/{sid}")
    page.get_by_role("checkbox").first.check()
    page.get_by_role("button", name="Supprimer rattachements").click()
    page.get_by_role("button", name="Confirmer la suppression").wait_for()
    problems += [f"confirmation de suppression: {v}" for v in violations(page)]
    assert problems == []


def test_administrator_pages(make_page, world):
    page = make_page(bypass_csp=True)
    log_in(page, "admin@dgfip.example")
    problems = check(page, ["/administration/", "/administration/comptes/nouveau", "/administration/courriels",
                            "/administration/structures", "/administration/structures/nouvelle"])
    assert problems == []


def test_services_pages(make_page, live_app, world):
    if live_app.extensions["chorus.plugins"].get_plugin("plugins.services") is None:
        pytest.skip("the services plugin is switched off for this run")
    from datetime import date

    from chorus.extensions import db
    from chorus.structures.models import Structure
    from plugins.services import services

    sid = world["structure_id"]
    with live_app.app_context():
        from chorus.accounts.models import User

        structure = db.session.get(Structure, sid)
        owner = db.session.execute(db.select(User).where(User.login_email == "gestionnaire@mairie.example")
                                   ).scalar_one()
        service = services.create(owner, structure, services.ServiceData("ACHATS", "Achats", date(2026, 1, 1)))
        service_id = service.id
        from chorus.memberships.services import request_membership

        asker = Accounts().create("zoe@commune.example", last_name="Zola")
        asked = request_membership(asker, structure, extra={"services": [service_id]}).id
    page = make_page(bypass_csp=True)
    log_in(page, "gestionnaire@mairie.example")
    base = f"/structures/{sid}/services"
    problems = check(page, [base, f"{base}/nouveau", f"{base}/{service_id}", f"{base}/{service_id}/modifier",
                            f"/gestionnaire/rattachements/{asked}",  # the services to tick (RAT-3)
                            f"/fournisseurs/structure?identifier_type=SIRET&identifier={world['siret']}"
                            "&code=INCONNU&engagement=&verifier=1"])
    page.goto(f"{base}/nouveau")
    page.get_by_role("button", name="Valider", exact=True).click()  # the form with its errors shown
    page.get_by_text("Le formulaire contient des erreurs").wait_for()
    problems += [f"{base}/nouveau (erreurs): {v}" for v in violations(page)]
    page.goto(base)
    page.get_by_role("checkbox", name="Sélectionner le service ACHATS").check()
    page.get_by_role("button", name="Supprimer les services cochés").click()
    page.get_by_role("button", name="Confirmer la suppression").wait_for()
    problems += [f"confirmation de suppression des services: {v}" for v in violations(page)]
    assert problems == []


@pytest.mark.skipif(any(name in os.environ.get("CHORUS_TEST_DISABLED_PLUGINS", "") for name in ("all", "documents")),
                    reason="the documents plugin is switched off for this run")
def test_documents_pages(make_page, world, live_app, tmp_path):
    """"Gestion des pièces jointes" with a document, its errors, and the deletion's confirmation."""
    page = make_page(bypass_csp=True)
    log_in(page, "gestionnaire@mairie.example")
    sid = world["structure_id"]
    base = f"/structures/{sid}/pieces-jointes"
    page.goto(base)
    page.get_by_role("button", name="Ajouter").click()  # the form with its errors shown
    page.get_by_text("Le formulaire contient des erreurs").wait_for()
    problems = [f"{base} (erreurs): {v}" for v in violations(page)]
    sample = tmp_path / "contrat.pdf"
    sample.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.get_by_label("Parcourir").set_input_files(str(sample))
    page.get_by_label("Désignation").fill("Contrat de cantine")
    page.get_by_label("Type").select_option(label="Contrat")
    page.get_by_role("button", name="Ajouter").click()
    page.get_by_text("Pièce jointe « Contrat de cantine » ajoutée").wait_for()
    with live_app.app_context():
        from chorus.extensions import db
        from plugins.documents.models import Document

        document_id = db.session.execute(db.select(Document.id)).scalar_one()
    problems += check(page, [base, f"{base}/supprimer?ids={document_id}", f"/structures/{sid}"])
    assert problems == []


@pytest.mark.skipif(any(name in os.environ.get("CHORUS_TEST_DISABLED_PLUGINS", "") for name in ("all", "siret_change")),
                    reason="the siret_change plugin is switched off for this run")
def test_change_of_identifier_pages(make_page, live_app):
    """« Modifier l'identifiant »: its three steps (one with an error), and both records once it is done."""
    from helpers import new_siret

    with live_app.app_context():
        manager = Accounts().create("gerant@atelier.example")
        sid = make_structure(manager, "Atelier Lemoine").id
    page = make_page(bypass_csp=True)
    log_in(page, "gerant@atelier.example")
    base = f"/structures/{sid}/modifier-identifiant"
    problems = check(page, [base, f"{base}/nouveau"])
    page.get_by_role("textbox", name="Identifiant").fill("1234")
    page.get_by_role("button", name="Continuer").click()
    page.get_by_text("Le formulaire contient des erreurs").wait_for()
    problems += [f"{base}/nouveau (erreurs): {v}" for v in violations(page)]
    page.get_by_role("textbox", name="Identifiant").fill(new_siret())
    page.get_by_role("button", name="Continuer").click()
    page.get_by_role("button", name="Confirmer le changement d'identifiant").click()
    page.get_by_text("Structure d'origine").wait_for()
    problems += [f"nouvelle fiche: {v}" for v in violations(page)]
    problems += check(page, [f"/structures/{sid}"])  # the old record, inactive
    assert problems == []


@pytest.mark.skipif(any(name in os.environ.get("CHORUS_TEST_DISABLED_PLUGINS", "") for name in ("all", "spaces")),
                    reason="the spaces plugin is switched off for this run")
def test_spaces_pages(make_page, world, live_app):
    """Mes abonnements aux espaces, the requests and their screens, Ajouter des espaces, a space's page."""
    commune = world["structure_id"]
    with live_app.app_context():
        from chorus.accounts.models import User
        from chorus.extensions import db
        from chorus.structures.models import Structure
        from plugins.spaces import services

        member = db.session.execute(db.select(User).where(User.login_email == "anne@commune.example")).scalar_one()
        request_id = services.request_subscription(member, db.session.get(Structure, commune),
                                                   [services.Line("FACTURES_RECUES", "consultation")], "Merci").id
    page = make_page(bypass_csp=True)
    log_in(page, "gestionnaire@mairie.example")
    problems = []
    for path in ["/mon-compte", "/mon-compte/abonnements", f"/mon-compte/abonnements?structure={commune}",
                 "/gestionnaire/", "/gestionnaire/abonnements", f"/gestionnaire/abonnements/{request_id}",
                 f"/gestionnaire/abonnements/{request_id}/refuser", f"/structures/{commune}",
                 f"/structures/{commune}/espaces", "/factures-recues/", "/sollicitations-emises/"]:
        page.goto(path)
        problems += [f"{path}: {v}" for v in violations(page)]
    page.goto(f"/structures/{commune}/espaces")
    page.get_by_role("button", name="Valider").click()  # the form with its error shown
    page.get_by_text("La demande n'a pas pu être enregistrée").wait_for()
    problems += [f"espaces (erreurs): {v}" for v in violations(page)]
    page.goto(f"/gestionnaire/abonnements/{request_id}/refuser")
    page.get_by_role("button", name="Confirmer le refus").click()
    page.get_by_text("Le motif du refus est obligatoire.").wait_for()
    problems += [f"refus (erreurs): {v}" for v in violations(page)]
    assert problems == []
