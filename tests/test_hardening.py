"""Issue P6, "Hardening: what an outside attacker found": one section per item."""
from __future__ import annotations

import html
import http.client
import io
import itertools
import os
import re
import sqlite3
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from chorus.database import transaction
from chorus.extensions import db
from chorus.history.models import HistoryEntry
from chorus.structures.identifiers import normalize, problem
from chorus.structures.models import Structure
from helpers import PASSWORD, fresh, make_structure, new_siret, page

ROOT = Path(__file__).resolve().parent.parent
FORM = "application/x-www-form-urlencoded"


# ------------------------------------------------------------------ P6-17: say only what is there


def test_pages_and_readme_promise_no_api_that_does_not_exist(client):
    # P6-17: the footer of every page and the README promised "compatible avec l'API Chorus Pro".
    for url in ("/", "/connexion", "/inscription", "/mot-de-passe-oublie"):
        html = page(client.get(url))
        assert "<footer>" in html
        assert "API" not in html.split("<footer>")[1], url
    readme = (ROOT / "README.md").read_text()
    assert "JSON API compatible" not in readme
    assert "not built yet" in readme


# ------------------------------------------------------------------ P6-6: identifiers stored normalised

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def structure_form(identifier, **fields):
    return {"identifier_type": "SIRET", "identifier": identifier, "designation": "Menuiserie Leroy",
            "address": "4 impasse des Chênes", "address_complement_1": "", "address_complement_2": "",
            "postal_code": "29000", "city": "Quimper", "country_code": "FR", "phone": "", "fax": "", "email": "",
            **fields}


def test_a_siret_in_full_width_digits_is_the_same_structure(logged_in):
    # P6-6, SPEC STR-1: "１２３…" passed the check and created a second structure for the same entity.
    siret = new_siret()
    assert logged_in.post("/structures/nouvelle", data=structure_form(siret)).status_code == 303
    again = logged_in.post("/structures/nouvelle", data=structure_form(siret.translate(FULL_WIDTH)))
    assert again.status_code == 422
    assert "Une structure existe déjà avec cet identifiant." in page(again)
    fresh()
    assert db.session.execute(select(Structure.identifier)).scalars().all() == [siret]


def test_a_structure_created_in_full_width_digits_is_stored_in_ascii_and_found(logged_in, accounts):
    # P6-6, SPEC STR-1, RAT-1: the identifier is stored normalised, and the membership request form finds it
    # whichever way the digits are typed.
    siret = new_siret()
    wide = " ".join([siret[:9], siret[9:]]).translate(FULL_WIDTH)
    assert logged_in.post("/structures/nouvelle", data=structure_form(wide)).status_code == 303
    fresh()
    assert db.session.execute(select(Structure.identifier)).scalar_one() == siret
    accounts.create("autre@mairie.example")
    accounts.login(logged_in, "autre@mairie.example")
    for typed in (siret, wide):
        found = logged_in.get("/mon-compte/rattachements/nouveau",
                              query_string={"identifier_type": "SIRET", "identifier": typed})
        assert "Menuiserie Leroy" in page(found), typed
        assert "Aucune structure active n'a cet identifiant." not in page(found)


@pytest.mark.parametrize("id_type,value", [
    ("RIDET", "١٢٣٤٥٦٧٨٩"),  # Arabic-Indic digits: \d matched them
    ("TAHITI", "A12345٠٠١"),
])
def test_other_scripts_digits_are_refused(app, id_type, value):
    # P6-6: digits of other scripts are not a SIRET's digits (NFKC does not fold them).
    assert problem(id_type, normalize(id_type, value)) is not None


def test_migration_normalises_the_identifiers_already_stored(app, accounts):
    # P6-6: rows written before the fix may hold full-width identifiers; revision 0004 rewrites them, and leaves
    # a row that would duplicate another one as it is (for an administrator to settle), instead of failing.
    from chorus import migrations

    owner = accounts.create()
    kept, wide, duplicate = new_siret(), new_siret(), new_siret()
    make_structure(owner, "Déjà propre", siret=kept)
    make_structure(owner, "En pleine chasse", siret=wide)
    make_structure(owner, "Doublon", siret=duplicate)
    db.session.remove()
    migrations.downgrade("0003")
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE structure SET identifier = :w WHERE identifier = :a"),
                     {"w": wide.translate(FULL_WIDTH), "a": wide})
        conn.execute(text("UPDATE structure SET identifier = :w WHERE designation = 'Déjà propre'"),
                     {"w": duplicate.translate(FULL_WIDTH)})
    migrations.upgrade()
    with db.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT designation, identifier FROM structure")).all())
    assert rows == {"Déjà propre": duplicate.translate(FULL_WIDTH), "En pleine chasse": wide, "Doublon": duplicate}


# ------------------------------------------------------------------ P6-10: history_entry append-only, REPLACE too


@pytest.fixture
def history_row(app, accounts):
    owner = accounts.create()
    make_structure(owner, "Atelier Test")
    fresh()
    return db.session.execute(select(HistoryEntry)).scalar_one()


def _columns(entry):
    return {"id": entry.id, "structure_id": entry.structure_id, "at": entry.at.replace(tzinfo=None),
            "action": "structure.deleted", "summary": "réécrit", "comment": "", "detail": "{}"}


@pytest.mark.parametrize("statement", [
    "REPLACE INTO history_entry (id, structure_id, at, action, summary, comment, detail)"
    " VALUES (:id, :structure_id, :at, :action, :summary, :comment, :detail)",
    "INSERT OR REPLACE INTO history_entry (id, structure_id, at, action, summary, comment, detail)"
    " VALUES (:id, :structure_id, :at, :action, :summary, :comment, :detail)",
    "INSERT INTO history_entry (id, structure_id, at, action, summary, comment, detail)"
    " VALUES (:id, :structure_id, :at, :action, :summary, :comment, :detail)"
    " ON CONFLICT (id) DO UPDATE SET summary = excluded.summary, action = excluded.action",
])
def test_history_cannot_be_rewritten_by_an_insert(app, history_row, statement):
    # P6-10, SPEC HIS-4: REPLACE INTO rewrote an entry on SQLite (the DELETE trigger does not fire without
    # recursive_triggers). Checked on both databases (PostgreSQL has no REPLACE: a syntax error is a refusal too).
    if "REPLACE" in statement and db.engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL has no REPLACE INTO")
    with pytest.raises(DBAPIError):
        with db.engine.begin() as conn:
            conn.execute(text(statement), _columns(history_row))
    fresh()
    entry = db.session.get(HistoryEntry, history_row.id)
    assert (entry.action, entry.summary) == ("structure.created", history_row.summary)
    assert db.session.execute(select(func.count()).select_from(HistoryEntry)).scalar_one() == 1



# ------------------------------------------------------------------ P6-11: instance files are private


def test_instance_files_are_created_private(tmp_path, monkeypatch):
    # P6-11: the database, its WAL, the secret key, backups and mails (live activation links) were created
    # world-readable. Checked under the common umask 022, with the app's own defaults (no test settings).
    from chorus import create_app, migrations
    from chorus.accounts.models import User
    from chorus.mail.outbox import queue
    from chorus.mail.sender import send_due

    monkeypatch.setenv("CHORUS_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("DATABASE_URL", "SECRET_KEY", "CHORUS_MAIL_DIR", "CHORUS_MAIL_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    previous = os.umask(0o022)
    try:
        application = create_app()
        instance = tmp_path / "instance"
        with application.app_context():
            migrations.upgrade()
            with db.engine.connect() as conn:  # the -wal file exists while a connection is open
                conn.execute(text("SELECT count(*) FROM user_account")).scalar()
                with transaction():
                    queue("lea@fournisseur.example", "account_exists",
                          user=User(first_name="Léa", last_name="Durand", login_email="lea@fournisseur.example"),
                          reset_link="http://localhost/mot-de-passe-oublie")
                assert send_due().sent == 1
                modes = {p.name: oct(p.stat().st_mode & 0o777) for p in instance.iterdir()}
                modes.update({f"mail/{p.suffix}": oct(p.stat().st_mode & 0o777)
                              for p in (instance / "mail").iterdir()})
            result = application.test_cli_runner().invoke(args=["chorus", "backup", str(instance / "copie.sqlite3")])
            assert result.exit_code == 0, result.output
            db.engine.dispose()
        backup = sqlite3.connect(instance / "copie.sqlite3")
        assert backup.execute("SELECT count(*) FROM outbox_message").fetchone() == (1,)
        backup.close()
        modes["copie.sqlite3"] = oct((instance / "copie.sqlite3").stat().st_mode & 0o777)
        modes["instance"] = oct(instance.stat().st_mode & 0o777)
    finally:
        os.umask(previous)
    assert modes == {
        "instance": "0o700", "secret_key": "0o600", "chorus.sqlite3": "0o600", "chorus.sqlite3-wal": "0o600",
        "chorus.sqlite3-shm": "0o600", "mail": "0o700", "mail/.eml": "0o600", "copie.sqlite3": "0o600",
    }


# ------------------------------------------------------------------ P6-3: text fields sent as files


def _all_form_field_names() -> set[str]:
    """The fields of every form of the app (each subclass of BaseForm, plugins' included)."""
    from wtforms.fields.core import UnboundField

    from chorus.forms import BaseForm

    names, todo = set(), [BaseForm]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        names |= {name for name in dir(cls) if isinstance(getattr(cls, name, None), UnboundField)}
    return names


def test_every_form_refuses_a_text_field_sent_as_a_file(app, client, accounts):
    # P6-3: a text field sent as a file part (multipart with a filename) gave a 500 on 11 of 13 forms, anonymous
    # ones included. Every POST route of the app (a future one too) answers a French 400 page instead.
    from chorus.accounts import tokens
    from chorus.accounts.models import TokenPurpose
    from chorus.mail.outbox import queue
    from helpers import attach

    admin = accounts.create("admin@chorus.example", is_admin=True)
    other = accounts.create("autre@mairie.example")
    pending = accounts.create("nouveau@mairie.example", status="pending", password=None)
    own = make_structure(admin, "Structure de l'admin")
    elsewhere = make_structure(other, "Autre structure")
    request_to_decide = attach(own, other, status="pending")
    own_request = attach(elsewhere, admin, status="pending")
    with transaction():
        activation = tokens.issue(pending, TokenPurpose.ACTIVATION)
        reset = tokens.issue(admin, TokenPurpose.RESET)
        message = queue(other.login_email, "password_reset_unavailable", user=None, address=other.login_email,
                        register_link="http://localhost/inscription")
    message_id = message.id
    values = {"structure_id": own.id, "slug": "identification", "message_id": message_id,
              "membership_id": request_to_decide.id}
    per_endpoint = {"memberships.cancel": {"membership_id": own_request.id},
                    "accounts.activate": {"token": activation}, "accounts.reset_password": {"token": reset},
                    "memberships.invitation": {"token": "jeton-d-invitation"},
                    "services.edit": {"service_id": 1},  # refused before the view: any id does
                    "spaces.decide_one": {"request_id": 1}, "spaces.refuse_one": {"request_id": 1},
                    "dashboard.user": {"user_id": other.id}}
    fields = _all_form_field_names()
    assert {"last_name", "designation", "identifier", "email", "comment"} <= fields
    accounts.login(client, "admin@chorus.example")
    adapter = app.url_map.bind("localhost")
    rules = sorted((r for r in app.url_map.iter_rules() if "POST" in r.methods),
                   key=lambda r: r.endpoint == "accounts.logout")
    assert len(rules) >= 13
    answers = {}
    for rule in rules:
        known = {**values, **per_endpoint.get(rule.endpoint, {})}
        missing = set(rule.arguments) - set(known)
        assert not missing, f"{rule.endpoint}: give this test a value for {missing} (a new form route)"
        args = {name: known[name] for name in rule.arguments}
        data = {name: (io.BytesIO("Texte envoyé comme fichier".encode()), f"{name}.txt") for name in fields}
        response = client.post(adapter.build(rule.endpoint, args), data=data, content_type="multipart/form-data")
        answers[rule.endpoint] = (response.status_code, "n'accepte pas de fichier" in page(response))
    assert answers == dict.fromkeys(answers, (400, True))
    assert client.get("/mon-compte").status_code == 200  # still logged in: even the logout form refused the file


# ------------------------------------------------------------------ P6-5: body limits, chunked or not


def _registration_body(client, padding: int) -> bytes:
    fields = {"csrf_token": client.csrf_token(), "for_whom": "self", "last_name": "Durand", "first_name": "Léa",
              "login_email": "lea.durand@fournisseur.example", "contact_email": "", "phone": ""}
    return urlencode(fields).encode() + b"&bourrage=" + b"x" * padding


def _accounts_and_mails():
    from chorus.accounts.models import User
    from chorus.mail.models import OutboxMessage

    fresh()
    return (db.session.execute(select(func.count()).select_from(User)).scalar_one(),
            db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one())


def test_a_chunked_body_over_the_limit_is_refused_not_cut(app, client):
    # P6-5: a 20 MB chunked POST was cut silently at MAX_CONTENT_LENGTH (5 MB) and its fields saved. Sent as
    # gunicorn and Werkzeug's server pass a chunked body: no Content-Length, wsgi.input_terminated set.
    body = _registration_body(client, 20 * 1024 * 1024)
    response = client.post("/inscription", input_stream=io.BytesIO(body), content_type=FORM, csrf=False,
                           headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert "Fichier ou formulaire trop volumineux" in page(response)
    assert _accounts_and_mails() == (0, 0)
    # Under the limits, the same chunked form is read whole.
    body = _registration_body(client, 100_000)
    response = client.post("/inscription", input_stream=io.BytesIO(body), content_type=FORM, csrf=False,
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 200 and _accounts_and_mails() == (1, 1)


@pytest.mark.parametrize("chunked", [False, True])
def test_a_form_field_over_the_form_limit_is_refused(app, client, chunked):
    # P6-5: a 2 MB field was parsed despite MAX_FORM_MEMORY_SIZE (1 MB): Werkzeug applies it to multipart only.
    body = _registration_body(client, 2 * 1024 * 1024)
    if chunked:
        response = client.post("/inscription", input_stream=io.BytesIO(body), content_type=FORM, csrf=False,
                               environ_overrides={"wsgi.input_terminated": True})
    else:
        response = client.post("/inscription", data=body, content_type=FORM)
    assert response.status_code == 413
    assert "Fichier ou formulaire trop volumineux" in page(response)
    assert _accounts_and_mails() == (0, 0)


def test_a_chunked_body_over_the_limit_is_refused_by_a_live_server(make_app):
    # P6-5: the same through a real HTTP server (Werkzeug's), with Transfer-Encoding: chunked on the wire.
    from werkzeug.serving import make_server

    application = make_app()
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=60)
        chunks = (b"x" * (1024 * 1024) for _ in range(20))
        conn.request("POST", "/inscription", body=itertools.chain([b"for_whom=self&bourrage="], chunks),
                     headers={"Content-Type": FORM}, encode_chunked=True)
        response = conn.getresponse()
        assert response.status == 413
        assert "Fichier ou formulaire trop volumineux" in html.unescape(response.read().decode())
        conn.close()
    finally:
        server.shutdown()
        thread.join()


# ------------------------------------------------------------------ P6-2: no malicious lockout

WRONG = "mauvais mot de passe"


def _login(client, password, address, email="agent@mairie.example"):
    return client.post("/connexion", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_a_stranger_cannot_lock_the_owner_out_from_one_address(app, accounts, outbox):
    # P6-2, ASVS 6.1.1, SPEC ACC-7: six wrong passwords from anywhere locked the owner out for 15 minutes.
    accounts.create()
    stranger, owner = app.test_client(), app.test_client()
    for _ in range(12):
        _login(stranger, WRONG, "203.0.113.66")
    assert "Trop de tentatives de connexion" in page(_login(stranger, PASSWORD, "203.0.113.66"))  # still limited
    assert _login(owner, PASSWORD, "192.0.2.10").status_code == 303  # the owner, on another address, gets in
    assert [m.template for m in outbox.all()] == ["login_attempts"]  # and hears of the attempts


def test_a_distributed_attack_slows_strangers_but_not_the_owners_browser(app, accounts, outbox, travel):
    # P6-2, ASVS 6.1.1: from many addresses, strangers share one allowance per account; the owner's browser,
    # where they logged in before, goes on; the owner is mailed once.
    accounts.create()
    owner = app.test_client()
    assert _login(owner, PASSWORD, "192.0.2.10").status_code == 303
    owner.post("/deconnexion")
    stranger = app.test_client()
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT_UNTRUSTED"]
    for i in range(limit + 5):
        _login(stranger, WRONG, f"198.51.100.{i}")
    newcomer = app.test_client()  # an untrusted client with the right password waits like the others
    assert "Trop de tentatives de connexion" in page(_login(newcomer, PASSWORD, "198.51.100.250"))
    assert _login(owner, PASSWORD, "192.0.2.10").status_code == 303
    mails = outbox.all()
    assert [(m.template, m.to_addr) for m in mails] == [("login_attempts", "agent@mairie.example")]
    assert "Votre compte n'est pas bloqué" in mails[0].body
    travel(minutes=16)
    assert _login(newcomer, PASSWORD, "198.51.100.250").status_code == 303


def test_a_trusted_browser_is_limited_too(app, accounts):
    # P6-2: the device cookie is no free pass: a stolen one gets the per-account allowance, no more.
    accounts.create()
    owner = app.test_client()
    assert _login(owner, PASSWORD, "192.0.2.10").status_code == 303
    owner.post("/deconnexion")
    for i in range(5):
        _login(owner, WRONG, f"192.0.2.{20 + i}")
    assert "Trop de tentatives de connexion" in page(_login(owner, PASSWORD, "192.0.2.99"))
    forged = app.test_client()
    forged.set_cookie(app.config["DEVICE_COOKIE_NAME"], owner.get_cookie(app.config["DEVICE_COOKIE_NAME"]).value[:-2])
    assert _login(forged, PASSWORD, "192.0.2.99").status_code == 303  # a bad signature is an untrusted client


# ------------------------------------------------------------------ P6-8: mails per recipient


def test_reset_mails_to_one_person_are_limited_whatever_the_addresses(app, accounts, outbox):
    # P6-8, SPEC ACC-7: 25 reset mails reached one person from 25 addresses.
    accounts.create()
    client = app.test_client()
    answers = set()
    for i in range(25):
        response = client.post("/mot-de-passe-oublie", data={"email": "agent@mairie.example"},
                               environ_base={"REMOTE_ADDR": f"198.51.100.{i}"})
        answers.add((response.status_code, page(response).count("Si un compte")))
    assert len(answers) == 1  # the same answer every time: the limit says nothing about the account
    assert len(outbox.all("agent@mairie.example")) == app.config["MAIL_REQUESTS_PER_RECIPIENT"] == 3


def test_activation_resends_to_one_person_are_limited_too(app, outbox):
    # P6-8: "Créer votre compte" again with a pending address re-sends the activation link: limited per recipient.
    client = app.test_client()
    for i in range(10):
        client.post("/inscription", data={"for_whom": "self", "last_name": "Durand", "first_name": "Léa",
                                          "login_email": "lea@fournisseur.example"},
                    environ_base={"REMOTE_ADDR": f"198.51.100.{i}"})
    assert [m.template for m in outbox.all("lea@fournisseur.example")] == ["activation"] * 3


# ------------------------------------------------------------------ P6-7: the same work, account or not


class StatementLog:
    """The SQL statements a request sends, as (verb, table): what work it does, not how long it takes."""

    def __init__(self, engine):
        self.engine, self.statements = engine, []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        sql = " ".join(statement.split()).upper()
        match = re.match(r"(INSERT INTO|UPDATE|DELETE FROM|SELECT .*? FROM) \"?(\w+)", sql)
        self.statements.append((sql.split()[0], match.group(2).lower()) if match else (sql.split()[0], ""))

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.statements

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)


def _work(app, method, url, data, address):
    from chorus.mail.models import OutboxMessage

    fresh()
    before = db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    fresh()
    with StatementLog(db.engine) as statements:
        response = app.test_client().open(url, method=method, data=data, environ_base={"REMOTE_ADDR": address})
    fresh()
    after = db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    html_without_token = re.sub(r'"X-CSRFToken": "[^"]+"', "", page(response))
    return response.status_code, html_without_token, sorted(s for s in statements if s[0] not in ("BEGIN", "COMMIT")), \
        after - before


def test_forgotten_password_does_the_same_work_for_an_unknown_address(app, accounts):
    # P6-7: "Mot de passe oublié" took 12.7 ms for an account and 9.3 ms for an unknown address. Not timed here:
    # both cases must send the same statements (verb and table) and queue one mail (bench/account_timing.py).
    accounts.create()
    known = _work(app, "POST", "/mot-de-passe-oublie", {"email": "agent@mairie.example"}, "198.51.100.1")
    unknown = _work(app, "POST", "/mot-de-passe-oublie", {"email": "personne@nulle.part"}, "198.51.100.2")
    assert known[0] == unknown[0] == 200 and known[1] == unknown[1]
    assert known[2] == unknown[2]
    assert ("INSERT", "outbox_message") in known[2]
    assert known[3] == unknown[3] == 1


def test_registration_does_the_same_work_for_a_taken_address(app, accounts):
    # P6-7: "Créer votre compte" told a taken address apart by its time; new, pending and active addresses do
    # the same statements and queue one mail each.
    accounts.create("claire@mairie.example")
    accounts.create("en.attente@mairie.example", status="pending", password=None)

    def register(email, address):
        data = {"for_whom": "self", "last_name": "Durand", "first_name": "Léa", "login_email": email,
                "contact_email": "", "phone": ""}
        return _work(app, "POST", "/inscription", data, address)

    new = register("lea@fournisseur.example", "198.51.100.1")
    taken = register("claire@mairie.example", "198.51.100.2")
    pending = register("en.attente@mairie.example", "198.51.100.3")
    assert new[0] == taken[0] == pending[0] == 200
    assert new[2] == taken[2] == pending[2]
    assert ("INSERT", "user_account") in new[2]
    assert new[3] == taken[3] == pending[3] == 1
