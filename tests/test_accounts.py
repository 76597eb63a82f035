"""Accounts: Créer votre compte, activation, login, sessions, Mot de passe oublié, Mon compte (SPEC ACC)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from chorus.accounts.models import AccountStatus, User, UserSession
from chorus.extensions import db
from helpers import PASSWORD, fresh, page, without_tokens

NEW_PASSWORD = "un autre mot de passe solide"


def register(client, **fields):
    data = {"for_whom": "self", "last_name": "Durand", "first_name": "Léa",
            "login_email": "lea.durand@fournisseur.example", "contact_email": "", "phone": ""}
    data.update(fields)
    return client.post("/inscription", data=data)


def user_by_login(email):
    fresh()
    return db.session.execute(select(User).where(User.login_email == email)).scalar_one_or_none()


# ------------------------------------------------------------------ registration and activation


def test_registration_creates_a_pending_account_and_mails_a_single_use_link(client, outbox):
    # SPEC ACC-1 (the account's data, origin and kind), ACC-2, ACC-3
    response = register(client, contact_email="lea@perso.example")
    assert response.status_code == 200
    assert "Un courriel a été envoyé à <strong>lea.durand@fournisseur.example</strong>" in page(response)
    user = user_by_login("lea.durand@fournisseur.example")
    assert user.status == AccountStatus.PENDING and user.password_hash is None
    assert user.contact_email == "lea@perso.example"
    assert (user.last_name, user.first_name, user.kind, user.origin) == ("Durand", "Léa", "person", "self")
    mail = outbox.last()
    # The login address, not the contact one: following the link proves the login belongs to the person.
    assert mail.to_addr == "lea.durand@fournisseur.example"
    assert mail.subject == "Chorus : activez votre compte"

    # Pending: cannot log in yet.
    assert client.post("/connexion", data={"email": user.login_email, "password": PASSWORD}).status_code == 422

    link = outbox.link()
    assert "Activer votre compte" in page(client.get(link))
    response = client.post(link, data={"password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/connexion"
    assert user_by_login("lea.durand@fournisseur.example").status == AccountStatus.ACTIVE

    # Single use.
    assert client.get(link).status_code == 404
    assert client.post(link, data={"password": PASSWORD, "confirm": PASSWORD}).status_code == 404
    assert client.post("/connexion", data={"email": "LEA.DURAND@fournisseur.example",
                                           "password": PASSWORD}).status_code == 303


def test_registration_for_another_person_mails_that_person(client, outbox):
    # SPEC ACC-3: "pour une autre personne"
    response = register(client, for_whom="other", login_email="collegue@mairie.example", first_name="Hugo")
    assert "la personne doit le suivre" in page(response)
    assert outbox.last().to_addr == "collegue@mairie.example"
    assert "Bonjour Hugo Durand" in outbox.last().body


def test_activation_link_expires(client, outbox, travel):
    register(client)
    link = outbox.link()
    travel(days=3, minutes=1)
    response = client.get(link)
    assert response.status_code == 404
    assert "Ce lien n'est plus valable" in page(response)


def test_a_new_activation_mail_replaces_the_previous_link(client, outbox):
    register(client)
    first = outbox.link()
    register(client)  # same login again while pending: a fresh link, no second account
    second = outbox.link()
    assert first != second
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    assert db.session.execute(select(func.count(User.id))).scalar_one() == 1


def test_registering_a_taken_address_reveals_nothing_and_warns_the_owner(client, accounts, outbox):
    accounts.create("claire@mairie.example")
    response = register(client, login_email="Claire@Mairie.example")
    assert response.status_code == 200
    assert outbox.last().template == "account_exists"
    assert outbox.last().to_addr == "claire@mairie.example"
    assert db.session.execute(select(func.count(User.id))).scalar_one() == 1
    # One page for both cases, and what it says is true in both: it never claims an activation e-mail was sent.
    fresh_page = page(register(client, login_email="nouvelle@mairie.example"))
    assert outbox.last().template == "activation"

    def main(html):
        return html[html.index("<h1>"):html.index("</main>")].replace("nouvelle@", "claire@")

    assert main(page(response)) == main(fresh_page)
    assert "Un courriel a été envoyé à <strong>claire@mairie.example</strong>." in page(response)
    assert "courriel d'activation a été envoyé" not in page(response)


@pytest.mark.parametrize("field,value,message", [
    ("last_name", "", "Le champ « Nom » est obligatoire."),
    ("login_email", "pas-une-adresse", "Saisissez une adresse électronique valide"),
    ("last_name", "Durand\r\nBcc: victime@example.org", "ne peut pas contenir de retour à la ligne"),
    ("first_name", "Léa\nX", "ne peut pas contenir de retour à la ligne"),
    ("login_email", "lea@example.org\r\nBcc: x@example.org", "caractère de contrôle"),
    ("last_name", "Durand\u202etxt.exe", "caractère de contrôle"),
    ("last_name", "D" * 101, "ne peut pas contenir plus de 100 caractères"),
    ("phone", "01 23 <script>", "Le numéro de téléphone"),
])
def test_registration_errors_show_next_to_their_field_in_french(client, outbox, field, value, message):
    response = register(client, **{field: value})
    html = page(response)
    assert response.status_code == 422
    assert message in html
    assert re.search(rf'id="{field}-error"[^>]*>[^<]*{re.escape(message[:20])}', html), "error not next to its field"
    assert f'aria-describedby="{field}-error"' in html or f'{field}-error"' in html
    assert outbox.all() == []


def test_password_policy(client, outbox):
    register(client)
    link = outbox.link()
    for password, message in [
        ("court", "au moins 12 caractères"),
        ("motdepasse123", "trop courant"),
        ("aaaaaaaaaaaaaaaa", "trop courant"),
        ("lea.durand@fournisseur.example", "ne doit pas reprendre"),
        ("x" * 257, "ne peut pas dépasser 256"),
    ]:
        response = client.post(link, data={"password": password, "confirm": password})
        assert response.status_code == 422
        assert message in page(response), password
    response = client.post(link, data={"password": PASSWORD, "confirm": PASSWORD + "x"})
    assert "Les deux mots de passe ne sont pas identiques." in page(response)
    # Taken exactly as typed: spaces at the ends are part of the password.
    padded = "  " + PASSWORD + "  "
    assert client.post(link, data={"password": padded, "confirm": padded}).status_code == 303
    assert client.post("/connexion", data={"email": "lea.durand@fournisseur.example",
                                           "password": PASSWORD}).status_code == 422
    assert client.post("/connexion", data={"email": "lea.durand@fournisseur.example",
                                           "password": padded}).status_code == 303


def test_passwords_are_hashed_with_argon2id_at_least_at_the_owasp_minimum(client, outbox):
    # SPEC ACC-7
    register(client)
    client.post(outbox.link(), data={"password": PASSWORD, "confirm": PASSWORD})
    stored = user_by_login("lea.durand@fournisseur.example").password_hash
    match = re.match(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", stored)
    assert match and int(match[1]) >= 19456 and int(match[2]) >= 2 and int(match[3]) >= 1
    assert PASSWORD not in stored


# ------------------------------------------------------------------ logging in and out


def test_unknown_account_and_wrong_password_answer_alike(client, accounts):
    accounts.create()
    unknown = client.post("/connexion", data={"email": "personne@nulle.part", "password": PASSWORD})
    wrong = client.post("/connexion", data={"email": "agent@mairie.example", "password": "mauvais mot de passe"})
    assert unknown.status_code == wrong.status_code == 422
    message = "Adresse de connexion ou mot de passe incorrect."
    assert message in page(unknown) and message in page(wrong)


def test_login_is_throttled_per_account_even_with_the_right_password(client, accounts, travel):
    # SPEC ACC-7: counters in the database, so every worker sees them
    accounts.create()
    for _ in range(5):
        client.post("/connexion", data={"email": "agent@mairie.example", "password": "mauvais mot de passe"})
    response = client.post("/connexion", data={"email": "agent@mairie.example", "password": PASSWORD})
    assert response.status_code == 422
    assert "Trop de tentatives de connexion" in page(response)
    travel(minutes=16)
    assert client.post("/connexion", data={"email": "agent@mairie.example", "password": PASSWORD}).status_code == 303


def test_login_is_throttled_per_address(make_app, accounts):
    application = make_app(LOGIN_MAX_FAILURES_PER_ADDRESS=3)
    with application.app_context():
        accounts.create()
        client = application.test_client()
        for i in range(3):
            client.post("/connexion", data={"email": f"inconnu{i}@exemple.fr", "password": "x" * 12})
        response = client.post("/connexion", data={"email": "agent@mairie.example", "password": PASSWORD})
        assert "Trop de tentatives de connexion" in page(response)
        other_address = client.post("/connexion", data={"email": "agent@mairie.example", "password": PASSWORD},
                                    environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert other_address.status_code == 303


def test_deactivated_and_technical_accounts_cannot_log_in(client, accounts):
    accounts.create("ancien@mairie.example", status="deactivated")
    accounts.create("api@mairie.example", kind="technical")
    r1 = client.post("/connexion", data={"email": "ancien@mairie.example", "password": PASSWORD})
    r2 = client.post("/connexion", data={"email": "api@mairie.example", "password": PASSWORD})
    assert r1.status_code == r2.status_code == 422
    assert "Ce compte est désactivé." in page(r1)
    assert "ne peut se connecter qu'à l'API" in page(r2)  # SPEC TEC-3


def test_session_cookie_flags_and_new_id_at_login(client, accounts):
    accounts.create()
    client.get("/")
    with client.session_transaction() as s:
        s["marker"] = "avant"
    response = accounts.login(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with client.session_transaction() as s:
        assert "marker" not in s  # the pre-login session was dropped: no fixation


def test_secure_cookie_behind_https(make_app, accounts):
    application = make_app(SESSION_COOKIE_SECURE=True)
    with application.app_context():
        accounts.create()
        response = application.test_client().post(
            "/connexion", data={"email": "agent@mairie.example", "password": PASSWORD}, base_url="https://localhost")
        assert "Secure" in response.headers["Set-Cookie"]


def test_logout_makes_a_copied_cookie_useless(client, accounts):
    accounts.create()
    accounts.login(client)
    stolen = client.get_cookie("chorus_session").value
    assert client.post("/deconnexion").status_code == 303
    thief = client.application.test_client()
    thief.set_cookie("chorus_session", stolen)
    response = thief.get("/mon-compte")
    assert response.status_code == 303 and response.headers["Location"].startswith("/connexion")


def test_password_change_ends_other_sessions_and_keeps_this_one(client, accounts):
    accounts.create()
    other = client.application.test_client()
    accounts.login(other)
    accounts.login(client)
    response = client.post("/mon-compte/mot-de-passe", data={
        "current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303
    assert client.get("/mon-compte").status_code == 200
    assert other.get("/mon-compte").status_code == 303
    assert client.post("/mon-compte/mot-de-passe", data={
        "current_password": "faux mot de passe", "password": PASSWORD, "confirm": PASSWORD}).status_code == 422


def test_deactivation_ends_sessions(client, accounts):
    user = accounts.create()
    accounts.login(client)
    from chorus.database import transaction

    with transaction():
        db.session.get(User, user.id).status = AccountStatus.DEACTIVATED
    assert client.get("/mon-compte").status_code == 303


def test_the_session_cookie_is_written_again_only_when_the_idle_clock_moves(client, accounts, travel):
    # Performance: a page does not sign and send the cookie again; the idle clock moves at most once a minute.
    accounts.create()
    accounts.login(client)
    client.get("/mon-compte")
    assert "Set-Cookie" not in client.get("/mon-compte").headers
    travel(minutes=2)
    assert "chorus_session=" in client.get("/mon-compte").headers.get("Set-Cookie", "")
    assert "Set-Cookie" not in client.get("/mon-compte").headers


def test_idle_and_absolute_timeouts(client, accounts, travel):
    accounts.create()
    accounts.login(client)
    travel(minutes=29)
    assert client.get("/mon-compte").status_code == 200  # activity refreshes the idle clock
    travel(minutes=29)
    assert client.get("/mon-compte").status_code == 200
    travel(minutes=31)
    assert client.get("/mon-compte").status_code == 303  # idle for more than 30 minutes

    accounts.login(client)
    for _ in range(25):  # active every 29 minutes for 12 hours
        travel(minutes=29)
        client.get("/mon-compte")
    assert client.get("/mon-compte").status_code == 303  # absolute limit reached


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
    "http:/evil.example", "/\r\nSet-Cookie:x=y", " //evil.example",
])
def test_login_next_parameter_stays_on_site(client, accounts, target):
    accounts.create()
    response = client.post("/connexion", query_string={"next": target},
                           data={"email": "agent@mairie.example", "password": PASSWORD})
    assert response.headers["Location"] == "/mon-compte"


def test_login_next_parameter_leads_back(client, accounts):
    accounts.create()
    first = client.get("/mon-compte/mot-de-passe")
    assert first.headers["Location"] == "/connexion?next=/mon-compte/mot-de-passe"
    response = client.post("/connexion?next=/mon-compte/mot-de-passe",
                           data={"email": "agent@mairie.example", "password": PASSWORD})
    assert response.headers["Location"] == "/mon-compte/mot-de-passe"


# ------------------------------------------------------------------ Mot de passe oublié


def test_forgotten_password(client, accounts, outbox):
    # SPEC ACC-7
    accounts.create()
    other = client.application.test_client()
    accounts.login(other)
    response = client.post("/mot-de-passe-oublie", data={"email": "agent@mairie.example"})
    unknown = client.post("/mot-de-passe-oublie", data={"email": "personne@nulle.part"})
    assert without_tokens(page(response)) == without_tokens(page(unknown))  # the same answer, account or not
    # The same work too (P6-7): the unknown address is told that it has no account.
    assert [(m.to_addr, m.template) for m in outbox.all()] == [
        ("agent@mairie.example", "password_reset"), ("personne@nulle.part", "password_reset_unavailable")]
    assert "Aucun compte Chorus n'utilise cette adresse" in outbox.last("personne@nulle.part").body
    link = outbox.link("agent@mairie.example")
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 303
    assert other.get("/mon-compte").status_code == 303  # sessions ended by the reset
    assert client.get(link).status_code == 404  # single use
    accounts.login(client, password=NEW_PASSWORD)


def test_reset_link_expires_after_an_hour(client, accounts, outbox, travel):
    accounts.create()
    client.post("/mot-de-passe-oublie", data={"email": "agent@mairie.example"})
    travel(minutes=61)
    assert client.get(outbox.link()).status_code == 404


def test_forgot_password_on_a_pending_account_resends_activation(client, outbox):
    register(client)
    client.post("/mot-de-passe-oublie", data={"email": "lea.durand@fournisseur.example"})
    assert [m.template for m in outbox.all()] == ["activation", "activation"]


def test_mail_requests_are_limited_per_address(make_app, accounts, outbox):
    application = make_app(MAIL_REQUESTS_PER_ADDRESS=2)
    with application.app_context():
        accounts.create()
        client = application.test_client()
        for _ in range(2):
            client.post("/mot-de-passe-oublie", data={"email": "agent@mairie.example"})
        response = client.post("/mot-de-passe-oublie", data={"email": "agent@mairie.example"})
        assert response.status_code == 422
        assert "Trop de demandes" in page(response)
        assert len(outbox.all()) == 2


# ------------------------------------------------------------------ Mon compte


def test_mon_compte_shows_and_edits_the_persons_information(logged_in):
    # SPEC ACC-5
    html = logged_in.get("/mon-compte").get_data(as_text=True)
    assert "agent@mairie.example" in html and "Actif" in html
    response = logged_in.post("/mon-compte", data={
        "last_name": "Martin-Leroy", "first_name": "Claire", "contact_email": "claire.perso@exemple.fr",
        "phone": "+33 1 23 45 67 89", "login_email": "pirate@exemple.fr", "status": "deactivated",
        "is_admin": "y"})
    assert response.status_code == 303
    user = user_by_login("agent@mairie.example")  # the login address did not change (mass assignment)
    assert (user.last_name, user.contact_email, user.phone) == ("Martin-Leroy", "claire.perso@exemple.fr",
                                                                "+33 1 23 45 67 89")
    assert user.status == AccountStatus.ACTIVE and user.is_admin is False
    assert "Vos informations sont enregistrées." in page(logged_in.get("/mon-compte"))


def test_mon_compte_refuses_crlf_and_keeps_what_was_saved(logged_in):
    response = logged_in.post("/mon-compte", data={
        "last_name": "Martin\r\nX", "first_name": "Claire", "contact_email": "a@b.example", "phone": ""})
    assert response.status_code == 422
    assert "ne peut pas contenir de retour à la ligne" in page(response)
    assert user_by_login("agent@mairie.example").last_name == "Martin"


def test_before_any_membership_only_mon_compte_is_reachable(logged_in):
    # SPEC ACC-4
    html = logged_in.get("/mon-compte").get_data(as_text=True)
    nav = re.search(r'<nav aria-label="Espaces">(.*?)</nav>', html, re.S).group(1)
    assert re.findall(r">([^<]+)</a>", nav) == ["Mon compte"]


def test_anonymous_home_offers_login_registration_and_reset(client):
    html = client.get("/").get_data(as_text=True)
    for text in ("Se connecter", "Créer votre compte", "Mot de passe oublié"):
        assert text in html
    assert '<nav aria-label="Espaces">' not in html


def test_session_rows_are_removed_at_logout(client, accounts):
    accounts.create()
    accounts.login(client)
    assert db.session.execute(select(func.count(UserSession.id))).scalar_one() == 1
    client.post("/deconnexion")
    fresh()
    assert db.session.execute(select(func.count(UserSession.id))).scalar_one() == 0


def test_changing_the_contact_address_tells_the_previous_one(logged_in, outbox):
    logged_in.post("/mon-compte", data={"last_name": "Martin", "first_name": "Claire",
                                        "contact_email": "nouvelle@exemple.fr", "phone": ""})
    mail = outbox.last()
    assert mail.to_addr == "agent.contact@mairie.example" and "nouvelle@exemple.fr" in mail.body


def test_reset_links_go_to_the_login_address_even_after_a_contact_change(logged_in, client, outbox):
    # A stolen session that changes the contact address cannot divert the account's recovery.
    logged_in.post("/mon-compte", data={"last_name": "Martin", "first_name": "Claire",
                                        "contact_email": "voleur@ailleurs.example", "phone": ""})
    client.application.test_client().post("/mot-de-passe-oublie", data={"email": "agent@mairie.example"})
    assert outbox.last().template == "password_reset" and outbox.last().to_addr == "agent@mairie.example"


def test_mail_links_use_base_url_not_the_host_header(make_app, accounts, outbox):
    application = make_app(WTF_CSRF_ENABLED=False)  # the attacker's own request, token and all
    with application.app_context():
        accounts.create()
        application.test_client().post("/mot-de-passe-oublie", data={"email": "agent@mairie.example"},
                                       base_url="http://evil.example")
    assert "evil.example" not in outbox.last().body
    assert "http://localhost/reinitialisation/" in outbox.last().body


def test_account_services_check_fields_whatever_the_caller(app):
    from chorus.accounts import services

    with pytest.raises(services.AccountError) as refused:
        services.register(services.AccountData(last_name="Durand\r\nBcc: x@y.example", first_name="Léa",
                                               login_email="lea@exemple.fr"))
    assert refused.value.field == "last_name"
    result = app.test_cli_runner().invoke(args=["chorus", "create-admin", "--email", "pas-une-adresse",
                                                "--last-name", "Morel", "--first-name", "Anne",
                                                "--password", PASSWORD])
    assert result.exit_code != 0 and "adresse électronique valide" in result.output


def test_successful_logins_do_not_use_up_the_address_allowance(make_app, accounts):
    application = make_app(LOGIN_MAX_FAILURES_PER_ADDRESS=3)
    with application.app_context():
        accounts.create()
        client = application.test_client()
        for _ in range(6):  # an office behind one address, people logging in all day
            assert client.post("/connexion", data={"email": "agent@mairie.example",
                                                   "password": PASSWORD}).status_code == 303


def test_logging_in_again_ends_the_previous_session(client, accounts):
    accounts.create()
    accounts.login(client)
    old_cookie = client.get_cookie("chorus_session").value
    accounts.login(client)
    replay = client.application.test_client()
    replay.set_cookie("chorus_session", old_cookie)
    assert replay.get("/mon-compte").status_code == 303


def test_purge_command_removes_what_has_expired(app, client, accounts, travel):
    accounts.create()
    accounts.login(client)
    client.post("/mot-de-passe-oublie", data={"email": "agent@mairie.example"})
    travel(hours=13)
    result = app.test_cli_runner().invoke(args=["chorus", "purge"])
    assert result.exit_code == 0 and "sessions: 1, links: 1" in result.output


def test_secret_key_is_made_once_and_kept(tmp_path):
    from chorus.config import persistent_secret_key

    first = persistent_secret_key(str(tmp_path))
    assert len(first) >= 32 and persistent_secret_key(str(tmp_path)) == first
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left
