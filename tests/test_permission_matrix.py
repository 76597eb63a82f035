"""Access control as a matrix (QUALITY.md, GitLab's way; SPEC MGR-2, STR-4, TEC-3).

Every route × actor × object (the actor's own structure A, another structure B) → the expected
status. A route of the application that is not in MATRIX fails `test_every_route_is_in_the_matrix`
(deny by default: a new route needs a decision here). Each actor's test walks the whole matrix with
one logged-in client and lists every mismatch at the end, so one run shows the whole difference.

Around every request the test takes a snapshot of the tables: a GET or a refused POST must leave
them as they were; an allowed state-changing POST must change them.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text
from werkzeug.exceptions import MethodNotAllowed

from chorus import clock
from chorus.extensions import db
from helpers import PASSWORD, attach, fresh, make_structure, new_siret, page

# ---------------------------------------------------------------- actors and expectations

ANON, MEMBER, SECONDARY, PRIMARY, TECH, ADMIN = "anonymous", "member", "secondary", "primary", "technical", "admin"
ACTORS = [ANON, MEMBER, SECONDARY, PRIMARY, TECH, ADMIN]
LOGIN = "303 → /connexion"  # the guard's answer to a request without a session
NEW_PASSWORD = "un tout autre mot de passe tres long"


def roles(anon, member, secondary, primary, admin) -> dict:
    """Expected status per actor. A technical user cannot get a web session (TEC-3): it is anonymous."""
    return {ANON: anon, TECH: anon, MEMBER: member, SECONDARY: secondary, PRIMARY: primary, ADMIN: admin}


def everyone(status):
    return roles(status, status, status, status, status)


def signed_in(status):
    return roles(LOGIN, status, status, status, status)


def manager_page(own: bool):
    """A page of one structure for its managers only (STR-4, MGR-2): another structure's is 404 for
    non-administrators; administrators see every record but may not manage it (403)."""
    return roles(LOGIN, 403, 200, 200, 403) if own else roles(LOGIN, 404, 404, 404, 403)


def manager_post(own: bool):
    return roles(LOGIN, 403, 303, 303, 403) if own else roles(LOGIN, 404, 404, 404, 403)


def admin_only(status=200):
    return roles(LOGIN, 403, 403, 403, status)


# ---------------------------------------------------------------- the matrix


@dataclass
class Row:
    method: str
    url: str  # template: {A}, {B}, {entry_A}, {entry_B}, {message}, {token}
    endpoint: str
    obj: str  # "A" (the actor's structure), "B" (another one), "-" (no structure)
    expected: dict
    data: Callable | None = None  # world -> form data (a fresh dict per request)
    changes: bool = False  # when allowed (303), the request must change the database
    plugin: str = ""  # the feature plugin the route belongs to: the row applies when that plugin is on
    page: bool = True  # a page (also served as an htmx fragment), not a file

    @property
    def id(self) -> str:
        return f"{self.method} {self.url} [{self.obj}]"


def _identification(w):
    return {"designation": "Raison sociale modifiée"}


def _address(w):
    return {"address": "2 place de la Mairie", "address_complement_1": "Bâtiment B", "address_complement_2": "",
            "postal_code": "29000", "city": "Quimper", "country_code": "FR", "phone": "02 98 00 00 00",
            "fax": "", "email": "accueil@mairie.example"}


def _parameters(w):
    return {"payment_status_not_reported": "y", "engagement_required": "y"}


def _moa(w):
    return {"moa": "with"}


def _complements(w):
    return {"billing_mandate": "y", "pacage_number": "123456789", "social_regime": "Général",
            "vat_number": "FR12345678901", "connection_info": "Raccordement en API."}


BLOCKS = [("identification", _identification), ("adresse", _address), ("parametres", _parameters),
          ("moa", _moa), ("complements", _complements)]


def _new_structure(w):
    return {"identifier_type": "SIRET", "identifier": new_siret(), "designation": "Nouvelle entreprise",
            "address": "3 rue Neuve", "postal_code": "56000", "city": "Vannes", "country_code": "FR"}


def _new_public_structure(w):
    return {**_new_structure(w), "designation": "Nouvelle commune", "category": "collectivite",
            "primary_manager": w.emails[PRIMARY]}


def _new_account(w):
    return {"last_name": "Roux", "first_name": "Paul", "login_email": "paul.roux@commune.example",
            "contact_email": "", "phone": "", "is_pigp": "y"}


def _profile(w):
    return {"last_name": "Nouveau-Nom", "first_name": "Prénom", "contact_email": "contact@nouveau.example",
            "phone": "0600000000"}


def _password(w):
    return {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}


def _empty(w):
    return {}


def _service_form(code):
    return {"code": code, "label": f"Service {code}", "description": "", "start_date": "2026-01-01", "end_date": "",
            "action": "valider"}


def _request_b(w):
    return {"identifier_type": "SIRET", "identifier": w.identifier_B, "role": "member",
            "comment": "Je travaille pour la boulangerie."}


def _validate_pending_a(w):
    return {"ids": [str(w.pending_A)], "action": "valider"}


def _validate_one(w):
    return {"action": "valider", "role": "member", "reason": ""}


def _refuse_one(w):
    return {"reason": "Inconnu du service"}


def _attach_charlie(w):
    return {"user_id": str(w.charlie), "role": "member", "start_date": "", "comment": "Renfort"}


def _invite(w):
    return {"invitee_email": "quelquun@ailleurs.example", "role": "member", "start_date": "", "comment": "Bienvenue"}


def _person_for_a(w):
    return {"last_name": "Roux", "first_name": "Emma", "login_email": "emma.roux@alpha.example", "contact_email": "",
            "phone": "", "role": "member", "start_date": "", "comment": ""}


def _remove_member_a(w):
    return {"ids": [str(w.member_A)], "confirme": "oui"}


def _remove_primary_b(w):
    return {"ids": [str(w.primary_B_membership)], "confirme": "oui"}


MATRIX: list[Row] = [
    # Public screens (@public): answered the same to everyone, except that a session skips them.
    Row("GET", "/", "accounts.home", "-", roles(200, 303, 303, 303, 303)),
    Row("GET", "/connexion", "accounts.login", "-", roles(200, 303, 303, 303, 303)),
    Row("POST", "/connexion", "accounts.login", "-", everyone(422), _empty),
    Row("GET", "/inscription", "accounts.register", "-", everyone(200)),
    Row("POST", "/inscription", "accounts.register", "-", everyone(422), _empty),
    Row("GET", "/activation/{token}", "accounts.activate", "-", everyone(404)),
    Row("POST", "/activation/{token}", "accounts.activate", "-", everyone(404), _empty),
    Row("GET", "/mot-de-passe-oublie", "accounts.forgot_password", "-", everyone(200)),
    Row("POST", "/mot-de-passe-oublie", "accounts.forgot_password", "-", everyone(422), _empty),
    Row("GET", "/reinitialisation/{token}", "accounts.reset_password", "-", everyone(404)),
    Row("POST", "/reinitialisation/{token}", "accounts.reset_password", "-", everyone(404), _empty),
    # Mon compte, the dashboard, creation screens.
    Row("GET", "/mon-compte", "accounts.my_account", "-", signed_in(200)),
    Row("GET", "/mon-compte/mot-de-passe", "accounts.change_password", "-", signed_in(200)),
    # SPEC ESP-5: no right on the space "Activités du gestionnaire", no page of it (403, not a hidden link).
    Row("GET", "/gestionnaire/", "dashboard.index", "-", roles(LOGIN, 403, 200, 200, 403)),
    Row("GET", "/structures/nouvelle", "structures.create_private", "-", signed_in(200)),
    Row("GET", "/administration/structures/nouvelle", "structures.create_public", "-", admin_only()),
    # One structure's pages (MGR-2: another structure's are 404, not 403).
    Row("GET", "/structures/{A}", "structures.view", "A", roles(LOGIN, 200, 200, 200, 200)),
    Row("GET", "/structures/{B}", "structures.view", "B", roles(LOGIN, 404, 404, 404, 200)),
    Row("GET", "/structures/999999", "structures.view", "-", signed_in(404)),
    Row("GET", "/structures/{A}/modifier", "structures.edit", "A", manager_page(True)),
    Row("GET", "/structures/{B}/modifier", "structures.edit", "B", manager_page(False)),
    Row("GET", "/structures/{A}/historique", "structures.history_list", "A", manager_page(True)),
    Row("GET", "/structures/{B}/historique", "structures.history_list", "B", manager_page(False)),
    Row("GET", "/structures/{A}/historique/{entry_A}", "structures.history_detail", "A", manager_page(True)),
    # An entry of B reached through A's address: still not visible.
    Row("GET", "/structures/{A}/historique/{entry_B}", "structures.history_detail", "A",
        roles(LOGIN, 403, 404, 404, 403)),
    Row("GET", "/structures/{B}/historique/{entry_B}", "structures.history_detail", "B", manager_page(False)),
    # State changes by GET are refused (405) before any other check.
    Row("GET", "/structures/{A}/modifier/identification", "structures.save_block", "A", everyone(405)),
    Row("GET", "/administration/courriels/{message}/relancer", "admin.retry_message", "-", everyone(405)),
    Row("GET", "/deconnexion", "accounts.logout", "-", everyone(405)),
    # Administration.
    Row("GET", "/administration/", "admin.index", "-", admin_only()),
    Row("GET", "/administration/comptes/nouveau", "admin.create_account", "-", admin_only()),
    Row("GET", "/administration/courriels", "admin.outbox", "-", admin_only()),
    Row("GET", "/administration/structures", "admin.structures", "-", admin_only()),
    # Memberships (SPEC RAT): asking, deciding, attaching, removing.
    Row("GET", "/mon-compte/rattachements/nouveau", "memberships.request_new", "-", signed_in(200)),
    Row("POST", "/mon-compte/rattachements/nouveau", "memberships.request_new", "-", signed_in(303), _request_b,
        changes=True),
    Row("GET", "/mon-compte/rattachements/{pending_C}/annuler", "memberships.cancel", "-", everyone(405)),
    Row("POST", "/mon-compte/rattachements/{pending_C}/annuler", "memberships.cancel", "-",
        roles(LOGIN, 303, 404, 404, 404), _empty, changes=True),  # the member's own request only
    Row("GET", "/gestionnaire/rattachements", "memberships.pending", "-", roles(LOGIN, 403, 200, 200, 403)),
    Row("POST", "/gestionnaire/rattachements", "memberships.decide_many", "-", roles(LOGIN, 403, 303, 303, 403),
        _validate_pending_a, changes=True),
    Row("GET", "/gestionnaire/rattachements/{pending_A}", "memberships.decide_one", "A",
        roles(LOGIN, 404, 200, 200, 404)),
    Row("GET", "/gestionnaire/rattachements/{pending_C}", "memberships.decide_one", "-",
        roles(LOGIN, 404, 404, 200, 404)),  # C: the primary of A is secondary there
    Row("POST", "/gestionnaire/rattachements/{pending_A2}", "memberships.decide_one", "A",
        roles(LOGIN, 404, 303, 303, 404), _validate_one, changes=True),
    # Refusing one request from its row: the reason in a confirmation step (P6-12).
    Row("GET", "/gestionnaire/rattachements/{pending_A3}/refuser", "memberships.refuse_one", "A",
        roles(LOGIN, 404, 200, 200, 404)),
    Row("GET", "/gestionnaire/rattachements/{pending_C}/refuser", "memberships.refuse_one", "-",
        roles(LOGIN, 404, 404, 200, 404)),
    Row("POST", "/gestionnaire/rattachements/{pending_A3}/refuser", "memberships.refuse_one", "A",
        roles(LOGIN, 404, 303, 303, 404), _refuse_one, changes=True),
    Row("GET", "/gestionnaire/rattacher?structure={A}", "memberships.attach_choose", "-", signed_in(303)),
    Row("GET", "/structures/{A}/rattacher", "memberships.attach", "A", manager_page(True)),
    Row("GET", "/structures/{B}/rattacher", "memberships.attach", "B", manager_page(False)),
    Row("POST", "/structures/{B}/rattacher", "memberships.attach", "B", manager_post(False), _attach_charlie),
    Row("POST", "/structures/{A}/rattacher", "memberships.attach", "A", manager_post(True), _attach_charlie,
        changes=True),
    Row("GET", "/structures/{A}/inviter", "memberships.invite", "A", everyone(405)),
    Row("POST", "/structures/{B}/inviter", "memberships.invite", "B", manager_post(False), _invite),
    Row("POST", "/structures/{A}/inviter", "memberships.invite", "A", manager_post(True), _invite, changes=True),
    # "Créer le compte utilisateur" (USR-4): managers, on their own structures only (MGR-2).
    Row("GET", "/gestionnaire/comptes/nouveau", "dashboard.create_account", "-", roles(LOGIN, 403, 200, 200, 403)),
    Row("GET", "/gestionnaire/comptes/nouveau?structure={A}", "dashboard.create_account", "A",
        roles(LOGIN, 403, 200, 200, 403)),
    Row("GET", "/gestionnaire/comptes/nouveau?structure={B}", "dashboard.create_account", "B",
        roles(LOGIN, 403, 404, 404, 403)),
    Row("POST", "/gestionnaire/comptes/nouveau?structure={B}", "dashboard.create_account", "B",
        roles(LOGIN, 403, 404, 404, 403), _person_for_a),
    Row("POST", "/gestionnaire/comptes/nouveau?structure={A}", "dashboard.create_account", "A",
        roles(LOGIN, 403, 303, 303, 403), _person_for_a, changes=True),
    Row("GET", "/invitations/{token}", "memberships.invitation", "-", signed_in(404)),  # not theirs, or unknown
    Row("POST", "/invitations/{token}", "memberships.invitation", "-", signed_in(404), _empty),
    # Rechercher un utilisateur (USR-2, USR-3): the people of the actor's structures; ids of others are 404.
    Row("GET", "/gestionnaire/utilisateurs?nom=membre&tri=structure", "dashboard.users", "-",
        roles(LOGIN, 403, 200, 200, 403)),
    Row("GET", "/gestionnaire/utilisateurs/{member_user}", "dashboard.user", "A", roles(LOGIN, 403, 200, 200, 403)),
    Row("GET", "/gestionnaire/utilisateurs/{admin_user}", "dashboard.user", "-", roles(LOGIN, 403, 404, 404, 403)),
    # "Modifier les données de l'utilisateur": a person of the actor's structures, not a mere requester.
    Row("POST", "/gestionnaire/utilisateurs/{member_user}", "dashboard.user", "A", roles(LOGIN, 403, 303, 303, 403),
        lambda w: {"last_name": "Membre", "first_name": "Modifié", "contact_email": "membre.modifie@alpha.example"},
        changes=True),
    Row("POST", "/gestionnaire/utilisateurs/{requester_user}", "dashboard.user", "A", roles(LOGIN, 403, 403, 403, 403),
        lambda w: {"last_name": "Foxtrot", "first_name": "Modifié", "contact_email": "foxtrot@alpha.example"}),
    Row("POST", "/gestionnaire/utilisateurs/{admin_user}", "dashboard.user", "-", roles(LOGIN, 403, 404, 404, 403),
        lambda w: {"last_name": "Admin", "first_name": "Modifié", "contact_email": "admin@alpha.example"}),
    Row("GET", "/gestionnaire/utilisateurs/activation", "dashboard.resend_activation", "-", everyone(405)),
    Row("POST", "/gestionnaire/utilisateurs/activation", "dashboard.resend_activation", "B",
        roles(LOGIN, 403, 404, 404, 403), lambda w: {"un": str(w.primary_B_membership)}),
    Row("POST", "/gestionnaire/utilisateurs/activation", "dashboard.resend_activation", "A",
        roles(LOGIN, 403, 303, 303, 403), lambda w: {"ids": [str(w.values["pending_A2"])]}, changes=True),
    Row("GET", "/gestionnaire/utilisateurs/rattachements/supprimer", "dashboard.remove_memberships", "-",
        everyone(405)),
    Row("POST", "/gestionnaire/utilisateurs/rattachements/supprimer", "dashboard.remove_memberships", "B",
        roles(LOGIN, 403, 404, 404, 403), _remove_primary_b),
    Row("POST", "/gestionnaire/utilisateurs/rattachements/supprimer", "dashboard.remove_memberships", "A",
        roles(LOGIN, 403, 200, 200, 403), lambda w: {"ids": [str(w.member_A)]}),  # the confirmation step
    Row("GET", "/structures/{A}/rattachements/supprimer", "memberships.remove", "A", everyone(405)),
    Row("POST", "/structures/{B}/rattachements/supprimer", "memberships.remove", "B", manager_post(False),
        _remove_primary_b),
    Row("POST", "/structures/{A}/rattachements/supprimer", "memberships.remove", "A", manager_post(True),
        _remove_member_a, changes=True),
    Row("POST", "/gestionnaire/utilisateurs/rattachements/supprimer", "dashboard.remove_memberships", "A",
        roles(LOGIN, 403, 303, 303, 403), lambda w: {"ids": [str(w.member_A)], "confirme": "oui"}),  # gone already
    # Services (SPEC SRV): the structure's users see them, its managers manage them; suppliers look up.
    *[Row(*r[:5], **r[5] if len(r) > 5 else {}, plugin="plugins.services") for r in [
        ("GET", "/structures/{A}/services", "services.index", "A", roles(LOGIN, 200, 200, 200, 200)),
        ("GET", "/structures/{B}/services", "services.index", "B", roles(LOGIN, 404, 404, 404, 200)),
        ("GET", "/structures/{A}/services/{service_A}", "services.view", "A", roles(LOGIN, 200, 200, 200, 200)),
        ("GET", "/structures/{B}/services/{service_B}", "services.view", "B", roles(LOGIN, 404, 404, 404, 200)),
        # B's service through A's address: no such service here.
        ("GET", "/structures/{A}/services/{service_B}", "services.view", "A", signed_in(404)),
        ("GET", "/structures/{A}/services/nouveau", "services.create", "A", manager_page(True)),
        ("GET", "/structures/{B}/services/nouveau", "services.create", "B", manager_page(False)),
        ("GET", "/structures/{A}/services/{service_A}/modifier", "services.edit", "A", manager_page(True)),
        ("GET", "/structures/{B}/services/{service_B}/modifier", "services.edit", "B", manager_page(False)),
        ("GET", "/structures/{A}/services/{default_A}/modifier", "services.edit", "A", manager_page(True)),
        ("GET", "/structures/{A}/services/supprimer", "services.delete", "A", everyone(405)),
        # SRV-8: a public structure's requirements, for anyone signed in; a private one answers as unknown.
        ("GET", "/fournisseurs/structure?identifier_type=SIRET&identifier={identifier_A}", "services.lookup", "-",
         signed_in(200)),
        ("GET", "/fournisseurs/structure?identifier_type=SIRET&identifier={identifier_B}", "services.lookup", "-",
         signed_in(422)),
        # SPEC SRV-3: FACTURES_PUBLIQUES is never modified, not even by a manager.
        ("POST", "/structures/{A}/services/{default_A}/modifier", "services.edit", "A",
         roles(LOGIN, 403, 403, 403, 403), {"data": lambda w: _service_form("AUTRE")}),
        ("POST", "/structures/{B}/services/nouveau", "services.create", "B", manager_post(False),
         {"data": lambda w: _service_form("NOUVEAU")}),
        ("POST", "/structures/{B}/services/{service_B}/modifier", "services.edit", "B", manager_post(False),
         {"data": lambda w: _service_form("MODIFIE")}),
        ("POST", "/structures/{B}/services/supprimer", "services.delete", "B", manager_post(False),
         {"data": lambda w: {"ids": [str(w.values["service_B"])], "confirme": "oui"}}),
        ("POST", "/structures/{A}/services/nouveau", "services.create", "A", manager_post(True),
         {"data": lambda w: _service_form("NOUVEAU"), "changes": True}),
        ("POST", "/structures/{A}/services/{service_A}/modifier", "services.edit", "A", manager_post(True),
         {"data": lambda w: _service_form("MODIFIE"), "changes": True}),
        ("POST", "/structures/{A}/services/supprimer", "services.delete", "A", manager_post(True),
         {"data": lambda w: {"ids": [str(w.values["service_A2"])], "confirme": "oui"}, "changes": True}),
    ]],
    # Writes, last (they change the world the rows above look at). B's first: they must all be refused.
    *[Row("POST", f"/structures/{{B}}/modifier/{slug}", "structures.save_block", "B", manager_post(False), data,
          changes=True) for slug, data in BLOCKS],
    *[Row("POST", f"/structures/{{A}}/modifier/{slug}", "structures.save_block", "A", manager_post(True), data,
          changes=True) for slug, data in BLOCKS],
    Row("POST", "/structures/{A}/modifier/inconnu", "structures.save_block", "A",
        roles(LOGIN, 403, 404, 404, 403), _identification),
    Row("POST", "/administration/structures/nouvelle", "structures.create_public", "-", admin_only(303),
        _new_public_structure, changes=True),
    Row("POST", "/administration/comptes/nouveau", "admin.create_account", "-", admin_only(303), _new_account,
        changes=True),
    Row("POST", "/administration/courriels/{message}/relancer", "admin.retry_message", "-", admin_only(303), _empty,
        changes=True),
    Row("POST", "/structures/nouvelle", "structures.create_private", "-", signed_in(303), _new_structure,
        changes=True),
    Row("POST", "/mon-compte", "accounts.my_account", "-", signed_in(303), _profile, changes=True),
    Row("POST", "/mon-compte/mot-de-passe", "accounts.change_password", "-", signed_in(303), _password,
        changes=True),
    # Last: the client is logged out afterwards.
    Row("POST", "/deconnexion", "accounts.logout", "-", signed_in(303), _empty),
]


# ---------------------------------------------------------------- feature plugins' rows

PLUGIN_TESTS = Path(__file__).resolve().parent / "plugins"


def plugin_matrices(app) -> list:
    """The matrices of the feature plugins this app runs: tests/plugins/<name>/matrix.py, each with `rows(m)`,
    `populate(world)` (the objects its URLs name, by key) and `VALUES` (stand-ins for the routing check)."""
    import importlib.util

    loaded = {name for name, p in app.extensions["chorus.plugins"].list_name_plugin() if p is not None}
    found = []
    for path in sorted(PLUGIN_TESTS.glob("*/matrix.py")):
        if f"plugins.{path.parent.name}" in loaded:
            spec = importlib.util.spec_from_file_location(f"matrix_{path.parent.name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            found.append(module)
    return found


def matrix_of(app) -> list[Row]:
    """MATRIX with the plugins' rows, placed before the rows that change the world the others look at."""
    import sys

    base = rows_for(app)
    extra = [row for module in plugin_matrices(app) for row in module.rows(sys.modules[__name__])]
    at = next(i for i, row in enumerate(base) if row.endpoint == "structures.save_block")
    return base[:at] + extra + base[at:]


# ---------------------------------------------------------------- the world


@pytest.fixture
def world(app, accounts):
    """A (public: primary, secondary, member, technical user), B (private, its own primary manager, no
    actor attached), C (where A's primary is secondary, A's secondary a plain member, and the member has a
    pending request): an actor who manages one structure and is a plain member of another."""
    from chorus.mail.models import MailStatus, OutboxMessage
    from chorus.structures import services

    emails = {ADMIN: "admin@dgfip.example", PRIMARY: "principal@alpha.example",
              SECONDARY: "secondaire@alpha.example", MEMBER: "membre@alpha.example",
              TECH: "technique@alpha.example"}
    users = {
        ADMIN: accounts.create(emails[ADMIN], last_name="Admin", is_admin=True),
        PRIMARY: accounts.create(emails[PRIMARY], last_name="Principal"),
        SECONDARY: accounts.create(emails[SECONDARY], last_name="Secondaire"),
        MEMBER: accounts.create(emails[MEMBER], last_name="Membre"),
        TECH: accounts.create(emails[TECH], last_name="Technique", kind="technical"),
    }
    primary_b = accounts.create("principal@bravo.example", last_name="Bravo", password=None)
    primary_c = accounts.create("principal@charlie.example", last_name="Charlie", password=None)

    a = make_structure(users[PRIMARY], "Mairie d'Alphaville", public=True, admin=users[ADMIN])
    b = make_structure(primary_b, "Boulangerie Bravo")
    c = make_structure(primary_c, "Charlie Conseil")
    attach(a, users[SECONDARY], "secondary")
    attach(a, users[MEMBER], "member")
    attach(a, users[TECH], "member")
    attach(c, users[PRIMARY], "secondary")
    attach(c, users[SECONDARY], "member")
    attach(c, users[MEMBER], "member", "refused")
    pending_c = attach(c, users[MEMBER], "member", "pending")
    pending_a = attach(a, primary_b, "member", "pending")  # other people's requests to A
    attach(a, primary_c, "member", "refused")  # Charlie once asked to join A: A's managers may attach him
    pending_a3 = attach(a, accounts.create("echo@echo.example", last_name="Echo", password=None), "member",
                        "pending")
    pending_a2 = attach(a, accounts.create("delta@delta.example", last_name="Delta", password=None, status="pending"),
                        "member", "pending")  # an account "En cours d'activation": its link may be sent again
    requester = accounts.create("foxtrot@foxtrot.example", last_name="Foxtrot", password=None)
    attach(a, requester, "member", "pending")  # left undecided: a requester is not yet A's person (USR-3)
    from chorus.memberships.models import Membership

    member_a = db.session.execute(db.select(Membership.id).where(
        Membership.structure_id == a.id, Membership.user_id == users[MEMBER].id)).scalar_one()
    primary_b_membership = db.session.execute(db.select(Membership.id).where(
        Membership.structure_id == b.id, Membership.user_id == primary_b.id)).scalar_one()

    # History on every structure: A's list must show A's entries only.
    services.update(users[PRIMARY], a, {"phone": "02 97 00 00 00"})
    services.update(primary_b, b, {"designation": "Boulangerie Bravo et fils"})
    services.update(primary_b, b, {"city": "Lorient"})
    services.update(primary_c, c, {"city": "Auray"})

    from chorus.database import transaction

    with transaction():
        now = clock.now()
        message = OutboxMessage(message_id="<echec@chorus.test>", to_addr="x@example.org", subject="Test",
                                body="Corps", template="activation", status=MailStatus.FAILED, attempts=8,
                                created_at=now, next_attempt_at=now, last_error="550 refusé")
        db.session.add(message)

    services = {}
    if app.extensions["chorus.plugins"].get_plugin("plugins.services") is not None:
        from datetime import date

        from plugins.services import services as service_rules
        from plugins.services.models import Service

        def add(owner, structure, code):
            return service_rules.create(owner, structure, service_rules.ServiceData(code, code, date(2026, 1, 1))).id

        services = {"service_A": add(users[PRIMARY], a, "ACHATS"), "service_A2": add(users[PRIMARY], a, "VOIRIE"),
                    "service_B": add(primary_b, b, "VENTES")}
        services["default_A"] = db.session.execute(db.select(Service.id).where(
            Service.structure_id == a.id, Service.is_default.is_(True))).scalar_one()

    from chorus.history.models import HistoryEntry

    fresh()
    entries = {sid: db.session.execute(
        db.select(HistoryEntry.id).where(HistoryEntry.structure_id == sid).order_by(HistoryEntry.id)
    ).scalars().all() for sid in (a.id, b.id, c.id)}
    world = SimpleNamespace(
        app=app, emails=emails, ids={n: u.id for n, u in users.items()}, A=a.id, B=b.id, C=c.id,
        designations={"A": a.designation, "B": "Boulangerie Bravo et fils", "C": c.designation},
        entries=entries, message=message.id,
        values={"A": a.id, "B": b.id, "entry_A": entries[a.id][0], "entry_B": entries[b.id][-1],
                "message": message.id, "token": "jeton-inconnu", "pending_A": pending_a.id,
                "pending_A2": pending_a2.id, "pending_A3": pending_a3.id, "pending_C": pending_c.id,
                "identifier_A": a.identifier, "identifier_B": b.identifier, "member_user": users[MEMBER].id,
                "admin_user": users[ADMIN].id,
                "requester_user": requester.id,
                **services},
        pending_A=pending_a.id, member_A=member_a, identifier_B=b.identifier,
        primary_B_membership=primary_b_membership, charlie=primary_c.id,
    )
    for module in plugin_matrices(app):
        world.values.update(module.populate(world))
    return world


SNAPSHOT_TABLES = ("structure", "membership", "history_entry", "user_account", "outbox_message", "account_token")


def snapshot() -> dict:
    fresh()
    return {t: db.session.execute(text(f"SELECT * FROM {t} ORDER BY id")).all() for t in SNAPSHOT_TABLES}


def outcome(response):
    if response.status_code == 303 and urlsplit(response.headers.get("Location", "")).path == "/connexion":
        return LOGIN
    return response.status_code


def client_for(world, actor):
    client = world.app.test_client()
    if actor == TECH:
        # SPEC TEC-3: the right password, and still no web session.
        refused = client.post("/connexion", data={"email": world.emails[TECH], "password": PASSWORD})
        assert refused.status_code == 422, refused.status_code
        assert "utilisateur technique" in page(refused)
    elif actor != ANON:
        response = client.post("/connexion", data={"email": world.emails[actor], "password": PASSWORD})
        assert response.status_code == 303, page(response)
    return client


# ---------------------------------------------------------------- tests


def rows_for(app) -> list[Row]:
    """The rows of the routes this app has: a feature plugin's rows apply when the plugin is on."""
    pm = app.extensions["chorus.plugins"]
    return [row for row in MATRIX if not row.plugin or pm.get_plugin(row.plugin) is not None]


def test_every_route_is_in_the_matrix(app):
    """Deny by default: each (endpoint, method) of the application has rows, and every row's URL
    reaches the endpoint it claims."""
    matrix = matrix_of(app)
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = {(row.endpoint, row.method) for row in matrix if row.expected[ADMIN] != 405}
    assert routes - covered == set(), "routes missing from the permission matrix"
    assert covered - routes == set(), "rows for routes that do not exist"

    adapter = app.url_map.bind("localhost")
    values = {"A": 1, "B": 2, "entry_A": 3, "entry_B": 4, "message": 5, "token": "t", "pending_A": 6,
              "pending_A2": 8, "pending_A3": 9, "pending_C": 7, "identifier_A": "x", "identifier_B": "x",
              "service_A": 10,
              "service_A2": 11, "service_B": 12, "default_A": 13, "member_user": 14,
              "admin_user": 15, "requester_user": 16}
    for module in plugin_matrices(app):
        values.update(module.VALUES)
    for row in matrix:
        assert set(row.expected) == set(ACTORS), row.id
        url = row.url.format(**values)
        url = url.split("?")[0]
        endpoint, _ = adapter.match(url, method="POST" if row.expected[ADMIN] == 405 else row.method)
        assert endpoint == row.endpoint, row.id
        if row.expected[ADMIN] == 405:
            with pytest.raises(MethodNotAllowed):
                adapter.match(url, method=row.method)


@pytest.mark.parametrize("actor", ACTORS)
def test_permission_matrix(world, actor):
    client = client_for(world, actor)
    mismatches = []
    for row in matrix_of(world.app):
        url = row.url.format(**world.values)
        before = snapshot()
        if row.method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data=row.data(world) if row.data else {})
        response.get_data()  # a streamed body (CSV export) is read now, while its request is the current one
        got, expected = outcome(response), row.expected[actor]
        if got != expected:
            mismatches.append(f"{row.id}: expected {expected}, got {got}")
            continue
        if row.method == "GET" and expected == 200 and row.page:
            # Every page is also an htmx fragment: its content block and title, no layout, never a 500.
            fragment = client.get(url, headers={"HX-Request": "true"})
            html = page(fragment)
            if fragment.status_code != 200 or "<html" in html or "<title>" not in html:
                mismatches.append(f"{row.id}: as an htmx fragment, {fragment.status_code} "
                                  f"{'with the whole layout' if '<html' in html else ''}")
        changed = snapshot() != before
        if (row.method == "GET" or expected not in (200, 303)) and changed:
            mismatches.append(f"{row.id}: answered {got} but changed the database")
        if row.changes and expected == 303 and not changed:
            mismatches.append(f"{row.id}: answered {got} but changed nothing")
    assert not mismatches, f"{len(mismatches)} mismatch(es) for {actor}:\n" + "\n".join(mismatches)


# ---------------------------------------------------------------- list pages: exactly the actor's rows


def rows_of(html: str, after: str | None = None) -> int:
    """The number of <tr> in the first <tbody> (after the text `after`); 0 without a table."""
    if after is not None:
        assert after in html, after
        html = html[html.index(after):]
    match = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return len(re.findall(r"<tr[\s>]", match.group(1))) if match else 0


def top_bar(html: str) -> str:
    match = re.search(r'<nav aria-label="Espaces">(.*?)</nav>', html, re.S)
    return match.group(1) if match else ""


# Memberships shown in "Mon compte" (validated and pending; a refused request is not listed).
MY_MEMBERSHIPS = {MEMBER: ["A", "C"], SECONDARY: ["A", "C"], PRIMARY: ["A", "C"], ADMIN: []}
# Structures in "Mes structures" (MGR-2): those the actor manages, as primary or secondary.
MANAGED = {SECONDARY: ["A"], PRIMARY: ["A", "C"]}
HTMX = {"HX-Request": "true", "HX-Target": "mes-structures-resultats"}


@pytest.mark.parametrize("actor", [MEMBER, SECONDARY, PRIMARY, ADMIN])
def test_list_pages_show_exactly_the_actors_rows(world, actor):
    client = client_for(world, actor)

    # A pending request on C gives no access to C (RAT-2); a plain or secondary membership of C does.
    assert client.get(f"/structures/{world.C}").status_code == (404 if actor == MEMBER else 200)

    account = page(client.get("/mon-compte"))
    assert rows_of(account, "Mes rattachements aux structures") == len(MY_MEMBERSHIPS[actor])
    for name in "ABC":
        assert (world.designations[name] in account) == (name in MY_MEMBERSHIPS[actor]), name

    # Administrators find every structure; nobody else may list them all.
    every = client.get("/administration/structures")
    if actor == ADMIN:
        assert rows_of(page(every)) == 3
        for name in "ABC":
            found = page(client.get("/administration/structures", query_string={"q": world.designations[name]}))
            assert rows_of(found) == 1 and world.designations[name] in found, name
    else:
        assert every.status_code == 403

    dashboard = client.get("/gestionnaire/")
    if actor not in MANAGED:
        # A member (or an administrator managing nothing) has no "Activités du gestionnaire" (MGR-1).
        assert dashboard.status_code == 403
        assert client.get("/gestionnaire/", headers=HTMX).status_code == 403
        assert "Activités du gestionnaire" not in top_bar(account)
        assert "Mon compte" in top_bar(account)
        return
    assert "Activités du gestionnaire" in top_bar(account)
    managed = MANAGED[actor]
    assert rows_of(page(dashboard), "Mes structures") == len(managed)
    fragment = client.get("/gestionnaire/", headers=HTMX)
    assert fragment.status_code == 200 and "<h1>" not in page(fragment)
    assert rows_of(page(fragment)) == len(managed)
    def mine(html):  # the "Mes structures" section (the dashboard also lists pending requests above it)
        return html.split('id="mes-structures"')[-1]

    for name in "ABC":
        listed = world.designations[name] in mine(page(dashboard))
        assert listed == (name in managed), name
        for response in (client.get("/gestionnaire/", query_string={"q": world.designations[name]}),
                         client.get("/gestionnaire/", query_string={"q": world.designations[name]}, headers=HTMX)):
            assert response.status_code == 200
            assert rows_of(mine(page(response))) == (1 if name in managed else 0), (name, page(response))
    # Searching by B's identifier finds nothing either.
    from chorus.structures.models import Structure

    identifier_b = db.session.get(Structure, world.B).identifier
    assert rows_of(page(client.get("/gestionnaire/", query_string={"q": identifier_b}, headers=HTMX))) == 0

    # The history of A: A's entries only, whatever happened on B and C.
    history = page(client.get(f"/structures/{world.A}/historique"))
    assert rows_of(history) == len(world.entries[world.A]) >= 2  # more with the services module (service.created)
    shown = {int(n) for n in re.findall(rf"/structures/{world.A}/historique/(\d+)", history)}
    assert shown == set(world.entries[world.A])
    assert "Boulangerie" not in history and "Lorient" not in history


# ---------------------------------------------------------------- mass assignment


def structure_row(structure_id) -> dict:
    fresh()
    return dict(db.session.execute(text("SELECT * FROM structure WHERE id = :id"), {"id": structure_id})
                .mappings().one())


PROTECTED = ("kind", "category", "identifier_type", "identifier", "status", "edi_receive_lifecycle", "edi_emitter",
             "edi_connection_active", "edi_can_receive", "created_at")


def test_save_blocks_ignore_fields_outside_the_block(world):
    client = client_for(world, SECONDARY)
    a_before, b_before = structure_row(world.A), structure_row(world.B)
    intruders = {"edi_emitter": "y", "edi_receive_lifecycle": "y", "edi_connection_active": "y",
                 "edi_can_receive": "", "status": "inactive", "kind": "private", "category": "etat",
                 "identifier": new_siret(), "identifier_type": "AUTRE", "structure_id": str(world.B),
                 "id": str(world.B), "created_at": "2000-01-01", "role": "primary"}
    for slug, data in BLOCKS:
        response = client.post(f"/structures/{world.A}/modifier/{slug}", data={**data(world), **intruders})
        assert response.status_code == 303, (slug, page(response))
    a_after = structure_row(world.A)
    assert {k: a_after[k] for k in PROTECTED} == {k: a_before[k] for k in PROTECTED}
    assert a_after["designation"] == "Raison sociale modifiée" and a_after["moa"] == "with"
    assert a_after["city"] == "Quimper" and a_after["pacage_number"] == "123456789"
    assert structure_row(world.B) == b_before

    # The secondary manager is still secondary; nobody got a membership on B.
    from chorus.memberships.models import Membership

    memberships = db.session.execute(db.select(Membership.user_id, Membership.structure_id, Membership.role)
                                     .where(Membership.status == "validated")).all()
    assert (world.ids[SECONDARY], world.A, "secondary") in memberships
    assert [m for m in memberships if m.structure_id == world.B and m.user_id in world.ids.values()] == []


def test_creation_and_profile_ignore_forbidden_fields(world):
    from chorus.accounts.models import User
    from chorus.structures.models import Structure

    client = client_for(world, MEMBER)
    response = client.post("/structures/nouvelle", data={
        **_new_structure(world), "designation": "Entreprise Mass", "kind": "public", "status": "inactive",
        "edi_emitter": "y", "edi_connection_active": "y", "category": "etat", "moa": "only"})
    assert response.status_code == 303, page(response)
    fresh()
    created = db.session.execute(db.select(Structure).where(Structure.designation == "Entreprise Mass")).scalar_one()
    assert (created.kind, created.status, created.category, created.moa) == ("private", "active", None, "none")
    assert not created.edi_emitter and not created.edi_connection_active and not created.edi_can_receive

    response = client.post("/mon-compte", data={
        **_profile(world), "is_admin": "y", "is_pigp": "y", "kind": "technical", "status": "deactivated",
        "login_email": "pirate@example.org", "id": str(world.ids[ADMIN])})
    assert response.status_code == 303, page(response)
    fresh()
    me = db.session.get(User, world.ids[MEMBER])
    assert (me.last_name, me.login_email, me.kind, me.status, me.is_admin, me.is_pigp) == (
        "Nouveau-Nom", world.emails[MEMBER], "person", "active", False, False)
    assert db.session.get(User, world.ids[ADMIN]).last_name == "Admin"


# ---------------------------------------------------------------- one rule, two forms


def test_can_and_allowed_agree_for_every_action_that_has_both(world):
    """`can()` (one object) and `allowed()` (a list's SQL) are two forms of one rule: for every actor and
    every row they give the same answer, so a list never shows what its page refuses, nor hides what it allows."""
    from chorus.accounts.models import User
    from chorus.permissions import allowed, can
    from chorus.structures.models import Structure

    both = [("structure.view", Structure), ("structure.edit", Structure), ("structure.history", Structure),
            ("structure.members", Structure), ("account.edit", User)]
    fresh()
    for actor_id in world.ids.values():
        actor = db.session.get(User, actor_id)
        for action, model in both:
            listed = set(db.session.execute(db.select(model.id).where(allowed(actor, action, model))).scalars())
            objects = db.session.execute(db.select(model)).scalars().all()
            decided = {o.id for o in objects if can(actor, action, o)}
            assert listed == decided, (actor.last_name, action)
    # The world makes these answers differ between actors (otherwise the loop proves little).
    secondary = db.session.get(User, world.ids[SECONDARY])
    assert can(secondary, "structure.view", db.session.get(Structure, world.C))
    assert not can(secondary, "structure.edit", db.session.get(Structure, world.C))  # a plain member of C
