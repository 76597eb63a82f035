"""Technical users (SPEC TEC-1..3, STR-9, NOT-1, API-1): creation, credentials exported once, reset, no web login."""
from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from chorus import clock
from chorus.accounts.models import User, UserSession
from chorus.extensions import db
from chorus.history.models import HistoryEntry
from chorus.memberships.models import Membership
from helpers import PASSWORD, attach, fresh, make_structure, page
from plugins.technical_users import services
from plugins.technical_users.models import TechnicalUser

TECH = "si@commune.example"


@pytest.fixture
def world(app, accounts):
    """Sophie: primary manager of the commune and a plain member of the atelier; Karim, secondary manager;
    Lucas, a member; the atelier, someone else's structure."""
    manager = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
    secondary = accounts.create("karim@commune.example", first_name="Karim", last_name="Benali")
    member = accounts.create("lucas@commune.example", first_name="Lucas", last_name="Garnier")
    commune = make_structure(manager, "Commune de Saint-Exemple")
    attach(commune, secondary, "secondary")
    attach(commune, member, "member")
    atelier = make_structure(accounts.create("paul@atelier.example", last_name="Dupont"), "Atelier Dupont")
    attach(atelier, manager, "secondary")
    return type("World", (), dict(manager=manager, secondary=secondary, member=member, commune=commune,
                                  atelier=atelier))


def client_as(app, email):
    client = app.test_client()
    assert client.post("/connexion", data={"email": email, "password": PASSWORD}).status_code == 303
    return client


def base(structure):
    return f"/structures/{structure.id}/utilisateur-technique"


def create(client, structure, login=TECH, contact="editeur@logiciel.example"):
    return client.post(f"{base(structure)}/nouveau", data={"login_email": login, "contact_email": contact})


def credentials(response) -> dict:
    text = response.get_data(as_text=True)
    return {"login": re.search(r"login\) : (\S+)", text).group(1),
            "password": re.search(r"Mot de passe : (\S+)", text).group(1), "text": text}


def count(model, *where):
    fresh()
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_lifecycle_create_export_once_reset(app, world, outbox):
    client = client_as(app, "sophie@commune.example")
    record = page(client.get(f"/structures/{world.commune.id}"))
    assert "Utilisateur technique" in record and "Créer un utilisateur technique" in record  # STR-9
    form = page(client.get(f"{base(world.commune)}/nouveau"))
    assert "Créer l'utilisateur technique" in form

    # TEC-1: created with its login address, attached to the structure, no password yet.
    response = create(client, world.commune)
    assert response.status_code == 303, page(response)
    fresh()
    user = db.session.execute(select(User).where(User.login_email == TECH)).scalar_one()
    assert (user.kind, user.status, user.password_hash, user.contact_email) == (
        "technical", "pending", None, "editeur@logiciel.example")
    [m] = db.session.execute(select(Membership).where(Membership.user_id == user.id)).scalars().all()
    assert (m.structure_id, m.status) == (world.commune.id, "validated")
    record = page(client.get(f"/structures/{world.commune.id}"))
    assert TECH in record and "Exporter les informations de connexion" in record
    assert "pas encore délivré" in record

    # The export gives the credentials once, as a file that is never cached.
    export = client.post(f"{base(world.commune)}/exporter")
    assert export.status_code == 200
    assert export.headers["Content-Disposition"].startswith("attachment;")
    assert export.headers["Cache-Control"] == "no-store" and export.mimetype == "text/plain"
    first = credentials(export)
    assert first["login"] == TECH and len(first["password"]) >= 24
    assert base64.b64encode(f"{TECH}:{first['password']}".encode()).decode() in first["text"]
    fresh()
    user = db.session.get(User, user.id)
    assert user.status == "active" and first["password"] not in (user.password_hash or "")  # a hash only

    # TEC-3: the expiry date (424 days) is stored and shown on the record.
    technical = services.of_structure(world.commune.id)
    assert technical.password_expires_at - technical.password_set_at == timedelta(days=424)
    expiry = technical.password_expires_at.strftime("%d/%m/%Y")
    assert expiry in first["text"]
    record = page(client.get(f"/structures/{world.commune.id}"))
    assert f"valable jusqu'au {expiry}" in record and "Réinitialiser le mot de passe" in record
    assert "Exporter les informations de connexion" not in record

    # A second export is refused with a clear message, and gives no file.
    again = client.post(f"{base(world.commune)}/exporter")
    assert again.status_code == 303
    shown = page(client.get(again.headers["Location"]))
    assert "ont déjà été exportées" in shown and "réinitialisez son mot de passe" in shown
    assert services.authenticate(TECH, first["password"]).identity is not None

    # TEC-3: no web login for it, whatever the password.
    web = app.test_client().post("/connexion", data={"email": TECH, "password": first["password"]})
    assert web.status_code == 422 and "utilisateur technique" in page(web)

    # TEC-2: a confirmation, then the old password is refused at once; the manager is told (NOT-1).
    confirm = page(client.get(f"{base(world.commune)}/reinitialiser"))
    assert "Confirmer" in confirm and "cessera de fonctionner" in confirm
    assert client.post(f"{base(world.commune)}/reinitialiser").status_code == 303
    assert services.authenticate(TECH, first["password"]).error == "invalid"
    mail = outbox.last("sophie.contact@commune.example")  # the manager's contact address
    assert "réinitialisé" in mail.subject and TECH in mail.body
    record = page(client.get(f"/structures/{world.commune.id}"))
    assert "Exporter les informations de connexion" in record

    # New credentials: one export again, with a new password that works.
    second = credentials(client.post(f"{base(world.commune)}/exporter"))
    assert second["password"] != first["password"]
    assert services.authenticate(TECH, second["password"]).identity.structure_id == world.commune.id
    actions = db.session.execute(select(HistoryEntry.action).where(
        HistoryEntry.structure_id == world.commune.id, HistoryEntry.action.like("technical_user.%"))
        .order_by(HistoryEntry.id)).scalars().all()
    assert actions == ["technical_user.created", "technical_user.credentials_exported",
                       "technical_user.password_reset", "technical_user.credentials_exported"]


def test_reset_ends_sessions_and_links_of_the_account(app, world):
    from chorus.accounts import tokens
    from chorus.accounts.models import AccountToken, TokenPurpose
    from chorus.database import transaction

    client = client_as(app, "sophie@commune.example")
    create(client, world.commune)
    client.post(f"{base(world.commune)}/exporter")
    fresh()
    user = db.session.execute(select(User).where(User.login_email == TECH)).scalar_one()
    with transaction():  # a session row and a link, however they came to exist
        db.session.add(UserSession(user_id=user.id, token_hash="x" * 64, created_at=clock.now(),
                                   expires_at=clock.now() + timedelta(hours=1), address=""))
        tokens.issue(user, TokenPurpose.RESET)
    assert client.post(f"{base(world.commune)}/reinitialiser").status_code == 303
    assert count(UserSession, UserSession.user_id == user.id) == 0
    assert count(AccountToken, AccountToken.user_id == user.id, AccountToken.used_at.is_(None)) == 0
    fresh()
    assert db.session.get(User, user.id).password_hash is None


def test_the_api_check_refuses_persons_unknown_wrong_and_expired(app, world, travel):
    client = client_as(app, "sophie@commune.example")
    create(client, world.commune)
    assert services.authenticate(TECH, "").error == "invalid"  # never exported: no password at all
    password = credentials(client.post(f"{base(world.commune)}/exporter"))["password"]
    check = services.authenticate(TECH.upper(), password)
    assert check.identity.login_email == TECH and check.identity.password_expires_at > clock.now()
    assert services.authenticate(TECH, password + "x").error == "invalid"
    assert services.authenticate("inconnu@commune.example", password).error == "invalid"
    assert services.authenticate("sophie@commune.example", PASSWORD).error == "invalid"  # a person: API refused
    travel(days=425)
    assert services.authenticate(TECH, password).error == "expired"


def test_only_the_primary_manager_and_one_per_structure(app, world, accounts):
    # TEC-1, TEC-2: the primary manager only; another structure's: 404; one technical user per structure.
    for email in ("karim@commune.example", "lucas@commune.example"):
        other = client_as(app, email)
        assert other.get(f"{base(world.commune)}/nouveau").status_code == 403
        assert create(other, world.commune).status_code == 403
    karim = client_as(app, "karim@commune.example")
    assert "Utilisateur technique" in page(karim.get(f"/structures/{world.commune.id}"))  # shown to managers
    assert "Créer un utilisateur technique" not in page(karim.get(f"/structures/{world.commune.id}"))
    lucas = client_as(app, "lucas@commune.example")
    assert "Utilisateur technique" not in page(lucas.get(f"/structures/{world.commune.id}"))
    sophie = client_as(app, "sophie@commune.example")
    assert create(sophie, world.atelier).status_code == 403  # secondary manager there
    elsewhere = make_structure(accounts.create("zoe@ailleurs.example"), "Ailleurs SARL")
    assert create(sophie, elsewhere).status_code == 404
    assert count(TechnicalUser) == 0

    assert create(sophie, world.commune).status_code == 303
    sophie.post(f"{base(world.commune)}/exporter")
    for email in ("karim@commune.example", "lucas@commune.example"):
        other = client_as(app, email)
        assert other.post(f"{base(world.commune)}/exporter").status_code == 403
        assert other.post(f"{base(world.commune)}/reinitialiser").status_code == 403
    with pytest.raises(services.TechnicalUserError, match="déjà un utilisateur technique"):
        services.create(world.manager, world.commune, "autre@commune.example")
    assert count(TechnicalUser) == 1


def test_bad_or_taken_login_addresses(app, world):
    client = client_as(app, "sophie@commune.example")
    for login, message in (("", "obligatoire"), ("pas-une-adresse", "adresse électronique valide"),
                           ("karim@commune.example", "déjà utilisée")):
        response = create(client, world.commune, login=login, contact="")
        assert response.status_code == 422 and message in page(response), login
    assert count(TechnicalUser) == 0
    fresh()
    assert db.session.get(User, world.secondary.id).kind == "person"


def test_pages_as_full_pages_and_htmx_fragments(app, world):
    client = client_as(app, "sophie@commune.example")
    create_page = f"{base(world.commune)}/nouveau"
    assert "<html" in page(client.get(create_page))
    fragment = client.get(create_page, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in page(fragment) and "<title>" in page(fragment)
    invalid = client.post(create_page, data={"login_email": "x"}, headers={"HX-Request": "true"})
    assert invalid.status_code == 422 and "<html" not in page(invalid)
    assert create(client, world.commune).status_code == 303
    assert client.get(f"{base(world.commune)}/reinitialiser").status_code == 303  # nothing to reset yet
    client.post(f"{base(world.commune)}/exporter")
    reset_page = f"{base(world.commune)}/reinitialiser"
    assert "<html" in page(client.get(reset_page))
    fragment = client.get(reset_page, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in page(fragment) and "Confirmer" in page(fragment)


def test_its_membership_is_not_removed_and_its_history_entries_open(app, world):
    # RAT-7 with TEC-2: no manager cuts the API access by removing the membership; the history shows each step.
    client = client_as(app, "sophie@commune.example")
    create(client, world.commune)
    fresh()
    user_id = db.session.execute(select(User.id).where(User.login_email == TECH)).scalar_one()
    membership_id = db.session.execute(select(Membership.id).where(Membership.user_id == user_id)).scalar_one()
    karim = client_as(app, "karim@commune.example")
    response = karim.post(f"/structures/{world.commune.id}/rattachements/supprimer",
                          data={"ids": [str(membership_id)], "confirme": "oui"})
    assert response.status_code == 303
    assert "ne peut pas être supprimé" in page(karim.get(response.headers["Location"]))
    fresh()
    assert db.session.get(Membership, membership_id).status == "validated"
    entry = db.session.execute(select(HistoryEntry.id).where(
        HistoryEntry.action == "technical_user.created")).scalar_one()
    detail = page(client.get(f"/structures/{world.commune.id}/historique/{entry}"))
    assert "Création de l'utilisateur technique" in detail and TECH in detail


def test_the_demo_shows_a_technical_user_once(app):
    """The README's demo: Conseil Informatique SAS has its technical user, credentials exported (STR-9, TEC-3)."""
    from chorus.demo import DEMO_PASSWORD, load_demo

    demo = load_demo()
    structure = demo["structure:informatique"]
    technical = services.of_structure(structure.id)
    assert technical is not None and technical.password_expires_at is not None
    client = app.test_client()
    assert client.post("/connexion", data={"email": "fournisseur@demo.chorus.test",
                                           "password": DEMO_PASSWORD}).status_code == 303
    record = page(client.get(f"/structures/{structure.id}"))
    assert "logiciel-facturation@conseil-informatique.example" in record
    assert "Réinitialiser le mot de passe de l'utilisateur technique" in record
    assert load_demo()["created"] is False  # idempotent
    assert db.session.execute(select(func.count()).select_from(TechnicalUser)).scalar_one() == 1


def test_no_link_by_mail_ever_sets_a_technical_users_password(app, world, outbox):
    """TEC-1: its password comes from "Exporter les informations de connexion" only. Before that export its account
    is pending like a person's: "Créer votre compte" with its address sends no activation link, and a link made
    for it (activation, or reset once exported) opens nothing."""
    from chorus.accounts import tokens
    from chorus.accounts.models import TokenPurpose
    from chorus.database import transaction

    assert create(client_as(app, "sophie@commune.example"), world.commune).status_code == 303
    anonymous = app.test_client()
    answer = anonymous.post("/inscription", data={"for_whom": "self", "last_name": "Durand", "first_name": "Léa",
                                                  "login_email": TECH, "contact_email": "", "phone": ""})
    assert answer.status_code in (200, 303)
    mail = outbox.last(TECH)
    assert mail.subject == "Chorus : votre compte existe déjà" and "/activation/" not in mail.body
    assert "utilisateur technique" in mail.body
    fresh()
    technical = db.session.execute(select(User).where(User.login_email == TECH)).scalar_one()
    with transaction():
        link = tokens.issue(technical, TokenPurpose.ACTIVATION)
    assert anonymous.get(f"/activation/{link}").status_code == 404
    posted = anonymous.post(f"/activation/{link}", data={"password": "un mot de passe très solide",
                                                         "confirm": "un mot de passe très solide"})
    assert posted.status_code == 404
    fresh()
    assert db.session.get(User, technical.id).status == "pending"
    client = client_as(app, "sophie@commune.example")
    assert client.post(f"{base(world.commune)}/exporter").status_code == 200  # now active, with its password
    fresh()
    with transaction():
        link = tokens.issue(db.session.get(User, technical.id), TokenPurpose.RESET)
    assert anonymous.get(f"/reinitialisation/{link}").status_code == 404
