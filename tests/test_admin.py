"""Platform administrators: created by the CLI, they create (PIGP) accounts; nobody else gets in."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from chorus.accounts.models import AccountOrigin, AccountStatus, User
from chorus.extensions import db
from helpers import PASSWORD, fresh, page

ADMIN_ROUTES = [("GET", "/administration/"), ("GET", "/administration/comptes/nouveau"),
                ("POST", "/administration/comptes/nouveau"), ("GET", "/administration/courriels"),
                ("POST", "/administration/courriels/1/relancer"), ("GET", "/administration/structures")]


def test_create_admin_command(app, client):
    result = app.test_cli_runner().invoke(args=[
        "chorus", "create-admin", "--email", "Correspondant@DGFIP.example", "--last-name", "Morel",
        "--first-name", "Anne", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    fresh()
    admin = db_user("correspondant@dgfip.example")
    assert admin.is_admin and admin.status == AccountStatus.ACTIVE
    client.post("/connexion", data={"email": "correspondant@dgfip.example", "password": PASSWORD})
    assert "Administration" in page(client.get("/mon-compte"))

    again = app.test_cli_runner().invoke(args=[
        "chorus", "create-admin", "--email", "correspondant@dgfip.example", "--last-name", "M",
        "--first-name", "A", "--password", PASSWORD])
    assert again.exit_code != 0 and "existe déjà" in again.output
    weak = app.test_cli_runner().invoke(args=[
        "chorus", "create-admin", "--email", "x@dgfip.example", "--last-name", "M", "--first-name", "A",
        "--password", "court"])
    assert weak.exit_code != 0 and "au moins 12 caractères" in weak.output


def db_user(email):
    return db.session.execute(select(User).where(User.login_email == email)).scalar_one_or_none()


def test_administrator_creates_a_pigp_account(client, accounts, outbox):
    # SPEC glossary "PIGP", used by TRF-3
    accounts.create("admin@dgfip.example", is_admin=True)
    accounts.login(client, "admin@dgfip.example")
    response = client.post("/administration/comptes/nouveau", data={
        "last_name": "Roux", "first_name": "Paul", "login_email": "paul.roux@commune.example",
        "contact_email": "", "phone": "", "is_pigp": "y"})
    assert response.status_code == 303
    fresh()
    user = db_user("paul.roux@commune.example")
    assert user.is_pigp and user.origin == AccountOrigin.ADMIN and user.status == AccountStatus.PENDING
    assert outbox.last().to_addr == "paul.roux@commune.example" and outbox.last().template == "activation"
    assert "Le compte de Paul Roux est créé" in page(client.get("/administration/"))

    taken = client.post("/administration/comptes/nouveau", data={
        "last_name": "Roux", "first_name": "Paul", "login_email": "paul.roux@commune.example", "is_pigp": "y"})
    assert taken.status_code == 422 and "Un compte existe déjà" in page(taken)


def test_pigp_accounts_cannot_be_made_by_registration(client, outbox):
    client.post("/inscription", data={"for_whom": "self", "last_name": "Roux", "first_name": "Paul",
                                      "login_email": "paul@commune.example", "is_pigp": "y", "is_admin": "y"})
    fresh()
    user = db_user("paul@commune.example")
    assert user.is_pigp is False and user.is_admin is False and user.origin == AccountOrigin.SELF


@pytest.mark.parametrize("method,url", ADMIN_ROUTES)
def test_administration_is_refused_to_other_users(logged_in, method, url):
    response = logged_in.open(url, method=method)
    assert response.status_code == 403
    assert "Accès refusé" in page(response)


def test_administration_link_only_for_administrators(logged_in, accounts, app):
    assert "Administration" not in page(logged_in.get("/mon-compte"))
    accounts.create("admin@dgfip.example", is_admin=True)
    admin = app.test_client()
    accounts.login(admin, "admin@dgfip.example")
    assert 'href="/administration/">Administration</a>' in page(admin.get("/mon-compte"))


def test_administrators_find_any_structure(client, accounts):
    from helpers import make_structure

    admin = accounts.create("admin@dgfip.example", is_admin=True)
    owner = accounts.create("gerant@atelier.example")
    make_structure(owner, "Atelier Nord")
    make_structure(owner, "Commune de Nulle-Part", public=True, admin=admin)
    accounts.login(client, "admin@dgfip.example")
    html = page(client.get("/administration/structures?q=nord"))
    assert "Atelier Nord" in html and "Nulle-Part" not in html
    assert page(client.get("/administration/structures")).count("<tr>") == 3


def test_creating_an_existing_account_mails_nobody(client, accounts, outbox):
    accounts.create("admin@dgfip.example", is_admin=True)
    accounts.create("paul.roux@commune.example")
    accounts.login(client, "admin@dgfip.example")
    response = client.post("/administration/comptes/nouveau", data={
        "last_name": "Roux", "first_name": "Paul", "login_email": "paul.roux@commune.example"})
    assert response.status_code == 422 and "Un compte existe déjà" in page(response)
    assert outbox.all() == []
