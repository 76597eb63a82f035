"""Every hook of chorus.hookspecs, exercised by one throw-away plugin (test_hook_<name> per hook)."""
from __future__ import annotations

import inspect
import textwrap

import click
import pytest
from flask import Blueprint
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from wtforms import StringField
from wtforms.validators import Length

from chorus import events, hookspecs
from chorus.accounts.models import User
from chorus.database import transaction
from chorus.events import EventType, Refused
from chorus.extensions import db
from chorus.forms import BaseForm
from chorus.history.models import HistoryEntry
from chorus.hookspecs import hookimpl
from chorus.lists import Column, Filter
from chorus.memberships.models import Membership
from chorus.permissions import QueryRule, allowed, can
from chorus.spaces import NavEntry, Space
from chorus.structures.blocks import RecordBlock, StructureWarning
from helpers import PASSWORD, attach, disabled_plugins, fresh, make_structure, new_siret, page

ESSAI = Space(code="ESSAI", label="Espace d'essai", endpoint="essai.page", order=10)

essai_bp = Blueprint("essai", __name__, url_prefix="/essai")


@essai_bp.get("/", endpoint="page")
def essai_page():
    return "<p>Page d'essai</p>"


class EssaiBlockForm(BaseForm):
    finess = StringField("Numéro FINESS", validators=[Length(max=9)])


def _last_name_starts(value):
    return select(User.id).where(User.last_name.like(f"{value}%"))


class ThrowAway:
    """Implements every hook; records what it saw."""

    def __init__(self, migrations_dir=None, replaces=()):
        self.events = []
        self.changes = []  # (event name, payload) seen inside the transaction
        self.demo_seen = None
        self.migrations_dir = migrations_dir
        self.replaces = list(replaces)
        self.finess = {}  # structure id -> the value of the plugin's record block

    @hookimpl
    def register_event_types(self):
        return [EventType("essai.done", (), "the throw-away plugin's event"),
                EventType("essai.rolled_back", (), "emitted in a transaction that fails")]

    @hookimpl
    def domain_change(self, event):
        self.changes.append((event.name, dict(event.payload)))
        if event.payload.get("extra", {}).get("essai_code") == "NON":
            raise Refused({"essai_code": "Code refusé par le module d'essai."})
        if event.name == "structure.created":  # writes in the same transaction
            history_entry = HistoryEntry(structure_id=event.payload["structure_id"], at=event.at, actor_id=None,
                                         action="essai.action", comment="", summary="Écrit par le module d'essai",
                                         detail={})
            db.session.add(history_entry)

    @hookimpl
    def structure_units(self, structure):
        return [("essai-1", "Unité d'essai")] if structure.designation.startswith("Avec unités") else None

    @hookimpl
    def unit_memberships(self, structure, unit_ids):
        return {"essai-1": {-1}} if "essai-1" in unit_ids else None

    @hookimpl
    def default_spaces(self, structure, role):
        return ["ESSAI", "ESSAI_GESTION"] if role in ("primary", "secondary") else ["ESSAI"]

    @hookimpl
    def form_fields(self, form, context):
        if form == "structure_block" and context["block"] != "identification":
            return None
        return {"essai_code": StringField("Code d'essai", validators=[Length(max=10)])}

    @hookimpl
    def record_blocks(self, structure):
        def save(s, values):
            self.finess[s.id] = values["finess"]

        return [RecordBlock("essai", "Bloc d'essai", EssaiBlockForm,
                            lambda s: {"finess": self.finess.get(s.id, "")}, save, order=15)]

    @hookimpl
    def list_columns(self, name, context):
        return [Column("essai", "Colonne d'essai", lambda ids: {i: f"essai-{name}-{i}" for i in ids})]

    @hookimpl
    def list_filters(self, name, context):
        if name == "user_search":
            return [Filter("essai_nom", "Nom commençant par", lambda v: User.id.in_(_last_name_starts(v)))]
        return [Filter("essai_nom", "Nom commençant par", lambda v: Membership.user_id.in_(_last_name_starts(v)))]

    @hookimpl
    def history_snapshot(self, action, membership):
        self.seen_before_snapshot = [n for n, _ in self.changes]  # the event's domain_change ran first
        return {"essai": f"instantané {action} de {membership.id}"}

    @hookimpl
    def replaces_core_rules(self):
        return self.replaces

    @hookimpl
    def register_blueprints(self):
        return [essai_bp]

    @hookimpl
    def register_commands(self):
        @click.command("essai")
        def essai():
            click.echo("commande d'essai")

        return [essai]

    @hookimpl
    def register_migrations(self):
        return str(self.migrations_dir) if self.migrations_dir else None

    @hookimpl
    def register_spaces(self):
        return [ESSAI]

    @hookimpl
    def navigation_entries(self, user):
        if getattr(user, "is_authenticated", False):
            return [NavEntry(href="/essai/", label="Lien d'essai")]
        return None

    @hookimpl
    def permission_vote(self, actor, action, obj):
        if action == "space.access" and obj == ESSAI:
            return actor.last_name.startswith("A")
        if action == "essai.read":
            return {"allow": True, "deny": False}.get(obj)
        return None

    @hookimpl
    def permission_filter(self, actor, action, model):
        if action == "essai.read" and model is User:
            return QueryRule(allow=User.last_name.like("A%"), deny=User.is_admin.is_(True))
        return None

    @hookimpl
    def domain_event(self, event):
        self.events.append(event.name)

    @hookimpl
    def template_slot(self, name, context):
        if name == "account_sections":
            return Markup(f"<section><h2>Bloc d'essai de {context['user'].first_name}</h2></section>")
        return Markup(f"<p>Emplacement {name}</p>")

    @hookimpl
    def validate_structure(self, structure, changes):
        if "INTERDIT" in changes.get("designation", ""):
            return [("designation", "Raison sociale refusée par le module d'essai.")]
        if "ATTENTION" in changes.get("designation", ""):
            return [StructureWarning("designation", "Raison sociale inhabituelle.")]
        return None

    @hookimpl
    def register_history_actions(self):
        return {"essai.action": "Action d'essai"}

    @hookimpl
    def register_document_types(self):
        return [("essai", "Pièce d'essai")]

    @hookimpl
    def populate_demo(self, demo):
        self.demo_seen = sorted(k for k in demo if k not in ("logins", "created"))
        demo["logins"].append(("essai@demo.chorus.test", "compte d'essai"))


class Failing:
    @hookimpl(tryfirst=True)
    def domain_event(self, event):
        raise RuntimeError("listener bug")


@pytest.fixture
def plugin():
    return ThrowAway()


@pytest.fixture
def essai_app(make_app, plugin):
    application = make_app(EXTRA_PLUGINS=[plugin])
    with application.app_context():
        yield application


def test_every_hookspec_has_a_test_and_an_implementation():
    specs = {name for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, "chorus_spec")}
    assert specs, "no hookspec found"
    tests = {name[len("test_hook_"):] for name in globals() if name.startswith("test_hook_")}
    assert specs - tests == set(), "hooks without a test_hook_<name> test"
    implemented = {name for name in specs if hasattr(getattr(ThrowAway, name, None), "chorus_impl")}
    assert specs - implemented == set(), "hooks the throw-away plugin does not implement"


def test_every_hookspec_has_a_one_line_contract():
    for name, f in inspect.getmembers(hookspecs, inspect.isfunction):
        if hasattr(f, "chorus_spec"):
            assert f.__doc__ and "\n" not in f.__doc__.strip(), name


def test_hook_register_blueprints(essai_app, accounts):
    client = essai_app.test_client()
    accounts.create()
    accounts.login(client)
    assert "Page d'essai" in client.get("/essai/").get_data(as_text=True)


def test_hook_register_commands(essai_app):
    result = essai_app.test_cli_runner().invoke(args=["chorus", "essai"])
    assert result.exit_code == 0
    assert "commande d'essai" in result.output


def test_hook_register_migrations(make_app, tmp_path):
    from chorus import migrations

    versions = tmp_path / "essai_versions"
    versions.mkdir()
    (versions / "e001_essai_note.py").write_text(textwrap.dedent('''
        from alembic import op
        import sqlalchemy as sa

        revision = "e001"
        down_revision = None
        branch_labels = ("essai",)
        depends_on = "0001"

        def upgrade():
            op.create_table("essai_note", sa.Column("id", sa.Integer, primary_key=True),
                            sa.Column("user_id", sa.Integer, sa.ForeignKey("user_account.id")))

        def downgrade():
            op.drop_table("essai_note")
    '''))
    application = make_app(EXTRA_PLUGINS=[ThrowAway(migrations_dir=versions)])
    with application.app_context():
        migrations.upgrade()
        try:
            assert "essai_note" in sa_inspect(db.engine).get_table_names()
        finally:
            migrations.downgrade("essai@base")
        assert "essai_note" not in sa_inspect(db.engine).get_table_names()


def test_hook_register_spaces(essai_app, accounts):
    # SPEC ESP-1: modules register spaces. The space shows in the top bar of the users whom a permission
    # vote lets in, and only theirs.
    accounts.create("ada@exemple.fr", last_name="Arnaud")
    accounts.create("bob@exemple.fr", last_name="Bernard")
    alice, bob = essai_app.test_client(), essai_app.test_client()
    accounts.login(alice, "ada@exemple.fr")
    accounts.login(bob, "bob@exemple.fr")
    assert "Espace d&#39;essai" in alice.get("/mon-compte").get_data(as_text=True)
    assert "Espace d&#39;essai" not in bob.get("/mon-compte").get_data(as_text=True)


def test_hook_navigation_entries(essai_app, accounts):
    client = essai_app.test_client()
    assert "Lien d&#39;essai" not in client.get("/").get_data(as_text=True)
    accounts.create()
    accounts.login(client)
    assert "Lien d&#39;essai" in client.get("/mon-compte").get_data(as_text=True)


def test_hook_permission_vote(essai_app, accounts):
    user = accounts.create()
    assert can(user, "essai.read", "allow") is True
    assert can(user, "essai.read", "deny") is False
    assert can(user, "essai.read", "nobody votes") is False  # no vote = deny
    assert can(user, "nothing.registered") is False


def test_hook_permission_vote_any_deny_wins(make_app, accounts):
    class Denier:
        @hookimpl
        def permission_vote(self, actor, action, obj):
            return False if action == "essai.read" else None

    application = make_app(EXTRA_PLUGINS=[ThrowAway(), Denier()])
    with application.app_context():
        assert can(accounts.create(), "essai.read", "allow") is False


def test_hook_permission_filter(essai_app, accounts):
    actor = accounts.create("actor@exemple.fr", last_name="Zola")
    accounts.create("a1@exemple.fr", last_name="Arnaud")
    accounts.create("a2@exemple.fr", last_name="Aubert")
    accounts.create("a3@exemple.fr", last_name="Aubry", is_admin=True)  # denied although allowed
    accounts.create("b1@exemple.fr", last_name="Bernard")
    names = db.session.execute(
        select(User.last_name).where(allowed(actor, "essai.read", User)).order_by(User.last_name)
    ).scalars().all()
    assert names == ["Arnaud", "Aubert"]
    # An action no plugin filters lists nothing (deny by default).
    assert db.session.execute(select(func.count()).where(allowed(actor, "other", User))).scalar_one() == 0


def test_hook_domain_event(make_app, plugin):
    application = make_app(EXTRA_PLUGINS=[Failing(), plugin])
    with application.app_context():
        with transaction():
            events.emit("essai.done")
            assert plugin.events == []  # not before the commit
        assert plugin.events == ["essai.done"]  # delivered although another listener failed

        with pytest.raises(ZeroDivisionError):
            with transaction():
                events.emit("essai.rolled_back")
                raise ZeroDivisionError
        with transaction():
            pass
        assert plugin.events == ["essai.done"]  # a rolled-back change emits nothing


def test_hook_template_slot(essai_app, accounts):
    client = essai_app.test_client()
    accounts.create(first_name="Lina")
    accounts.login(client)
    assert "Bloc d&#39;essai de Lina" in client.get("/mon-compte").get_data(as_text=True) or \
        "Bloc d'essai de Lina" in client.get("/mon-compte").get_data(as_text=True)


def test_every_slot_is_in_the_readme():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    used = set()
    for template in (root / "templates").rglob("*.html"):
        used |= set(re.findall(r"slot\(\"([a-z_]+)\"", template.read_text()))
    readme = (root / "README.md").read_text()
    assert used and {name for name in used if f"`{name}`" not in readme} == set()


def test_hook_register_document_types(essai_app):
    # SPEC DOC-2: the list of kinds of document is open to plugins; whoever keeps documents offers them all
    # (tests/plugins/documents: the form offers and accepts them).
    from chorus.plugins import collect, hook

    assert ("essai", "Pièce d'essai") in collect(hook().register_document_types())


def test_hook_populate_demo(essai_app, plugin):
    from chorus.demo import load_demo

    demo = load_demo()
    assert "admin" in plugin.demo_seen  # the core's demo ran first
    assert ("essai@demo.chorus.test", "compte d'essai") in demo["logins"]
    assert load_demo()["created"] is False  # idempotent


def test_hook_validate_structure(essai_app, accounts):
    # The rule holds for the web form and for any other caller of the service (SPEC STR-7's mechanism).
    from chorus.structures.services import StructureError
    from helpers import make_structure

    owner = accounts.create()
    client = essai_app.test_client()
    accounts.login(client)
    response = client.post("/structures/nouvelle", data={
        "identifier_type": "SIRET", "identifier": new_siret(), "designation": "Société INTERDIT",
        "address": "1 rue Test", "country_code": "FR"})
    assert response.status_code == 422
    assert "Raison sociale refusée par le module d&#39;essai." in response.get_data(as_text=True)
    structure = make_structure(owner, "Société permise")
    with pytest.raises(StructureError) as refused:
        from chorus.structures import services

        services.update(owner, structure, {"designation": "INTERDIT aussi"})
    assert refused.value.errors == {"designation": "Raison sociale refusée par le module d'essai."}


def test_hook_register_history_actions(essai_app, accounts):
    from chorus.history import services as history
    from helpers import make_structure

    owner = accounts.create()
    structure = make_structure(owner, "Structure d'essai")
    with transaction():
        history.record(structure.id, owner, "essai.action", summary="Une action du module d'essai")
    client = essai_app.test_client()
    accounts.login(client)
    html = client.get(f"/structures/{structure.id}/historique").get_data(as_text=True)
    assert '<option value="essai.action">Action d&#39;essai</option>' in html
    filtered = client.get(f"/structures/{structure.id}/historique?action=essai.action").get_data(as_text=True)
    assert "Une action du module d&#39;essai" in filtered
    assert "Création de la structure Structure" not in filtered  # the other entry is filtered out


# ------------------------------------------------------------------ P4: modules take part in the core's writes


def _world(accounts):
    """A manager of one structure who is a plain member of another; a requester with a pending request."""
    from chorus.memberships import services as memberships

    manager = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
    requester = accounts.create("lucas@commune.example", first_name="Lucas", last_name="Garnier")
    other = accounts.create("nina@ailleurs.example", first_name="Nina", last_name="Perrin")
    structure = make_structure(manager, "Commune de Saint-Exemple")
    elsewhere = make_structure(other, "Atelier Perrin")
    attach(elsewhere, manager, "member")
    request = memberships.request_membership(requester, structure, comment="Agent comptable")
    return type("World", (), dict(manager=manager, requester=requester, other=other, structure=structure,
                                  elsewhere=elsewhere, request=request))


def _client(application, email):
    client = application.test_client()
    assert client.post("/connexion", data={"email": email, "password": PASSWORD}).status_code == 303
    return client


def test_hook_register_event_types(essai_app):
    with transaction():
        events.emit("essai.done")  # declared by the plugin
    with pytest.raises(LookupError):
        with transaction():
            events.emit("essai.undeclared")
    with pytest.raises(TypeError):  # a payload other than the declared one
        with transaction():
            events.emit("essai.done", surprise=1)


def test_every_emitted_event_name_is_in_the_catalogue(essai_app):
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    names = set()
    pm = essai_app.extensions["chorus.plugins"]
    # The core, and each feature plugin of plugins/ this app runs (a plugin switched off declares nothing).
    folders = [root / "chorus"] + [p for p in (root / "plugins").iterdir()
                                   if p.is_dir() and pm.get_plugin(f"plugins.{p.name}") is not None]
    for folder in folders:
        for source in folder.rglob("*.py"):
            text = source.read_text()
            names |= set(re.findall(r"emit\(\s*\"([^\"]+)\"", text))
            # A name chosen at run time: action = "membership.validated" if accept else "membership.refused"
            for pair in re.findall(r"action = \"([^\"]+)\" if .* else \"([^\"]+)\"", text):
                names |= set(pair)
    catalogue = events.catalogue()
    assert names and names - set(catalogue) == set()
    # Distinct names for distinct transitions (P4): attaching is not validating, expiring is not refusing.
    for name in ("membership.attached", "membership.expired", "membership.created_with_structure"):
        assert name in catalogue


def test_hook_domain_change(essai_app, plugin, accounts):
    owner = accounts.create()
    structure = make_structure(owner, "Atelier d'essai")
    # The plugin wrote in the same transaction as the structure, and saw the events in order.
    assert [n for n, _ in plugin.changes] == ["structure.created", "membership.created_with_structure"]
    fresh()
    assert db.session.execute(select(HistoryEntry.summary).where(
        HistoryEntry.structure_id == structure.id, HistoryEntry.action == "essai.action")).scalar_one() == \
        "Écrit par le module d'essai"
    assert plugin.events == ["structure.created", "membership.created_with_structure"]  # then, after commit


class Veto:
    """Refuses one kind of change, inside its transaction."""

    def __init__(self, name):
        self.name = name

    @hookimpl
    def domain_change(self, event):
        if event.name == self.name:
            raise Refused({"": f"Refusé par le module de veto ({self.name})."})


def _counts():
    from chorus.mail.models import OutboxMessage
    from chorus.structures.models import Structure

    fresh()
    return tuple(db.session.execute(select(func.count()).select_from(model)).scalar_one()
                 for model in (User, Structure, Membership, HistoryEntry, OutboxMessage))


VETOED_WRITES = {
    # event -> (the write, run with the world; what must be unchanged afterwards beside the row counts)
    "account.created": lambda w: __import__("chorus.accounts.services", fromlist=["x"]).register(
        __import__("chorus.accounts.services", fromlist=["x"]).AccountData("Neuf", "Compte", "neuf@exemple.fr")),
    "structure.created": lambda w: make_structure(w.manager, "Refusée"),
    "membership.created_with_structure": lambda w: make_structure(w.manager, "Refusée aussi"),
    "structure.updated": lambda w: __import__("chorus.structures.services", fromlist=["x"]).update(
        w.manager, w.structure, {"designation": "Nouveau nom"}),
    "membership.requested": lambda w: __import__("chorus.memberships.services", fromlist=["x"]).request_membership(
        w.other, w.structure),
    "membership.cancelled": lambda w: __import__("chorus.memberships.services", fromlist=["x"]).cancel_request(
        w.requester, w.request),
    "membership.validated": lambda w: __import__("chorus.memberships.services", fromlist=["x"]).decide(
        w.manager, [w.request.id], accept=True),
    "membership.refused": lambda w: __import__("chorus.memberships.services", fromlist=["x"]).decide(
        w.manager, [w.request.id], accept=False, reason="Inconnu"),
    "membership.attached": lambda w: __import__("chorus.memberships.services", fromlist=["x"]).attach_user(
        w.manager, w.structure, w.other, role="member"),
    "membership.removed": lambda w: __import__("chorus.memberships.services", fromlist=["x"]).remove(
        w.other, w.elsewhere, [w.member_elsewhere.id]),
    "structure.duplicated": lambda w: __import__("chorus.structures.duplication", fromlist=["x"]).duplicate(
        w.manager, w.structure, new_siret()),
    "membership.expired": lambda w: (__import__("chorus.clock", fromlist=["x"]).travel(
        __import__("datetime").timedelta(days=40)),
        __import__("chorus.memberships.services", fromlist=["x"]).expire_pending()),
}


@pytest.mark.parametrize("name", sorted(VETOED_WRITES))
def test_a_plugin_vetoes_every_core_write_and_nothing_is_left(make_app, accounts, name):
    application = make_app(EXTRA_PLUGINS=[Veto(name)])
    with application.app_context():
        if name in ("structure.created", "membership.created_with_structure"):
            world = None
            owner = accounts.create("sophie@commune.example")
            world = type("W", (), {"manager": owner})
        else:
            from chorus.memberships import services as memberships

            manager = accounts.create("sophie@commune.example", last_name="Lemoine")
            requester = accounts.create("lucas@commune.example", last_name="Garnier")
            other = accounts.create("nina@ailleurs.example", last_name="Perrin")
            # The world is built before the veto matters: its own events are other names (or vetoed later).
            structure = _unvetoed(application, lambda: make_structure(manager, "Commune"), name)
            elsewhere = _unvetoed(application, lambda: make_structure(other, "Atelier Perrin"), name)
            member = attach(elsewhere, manager, "member")
            attach(structure, other, "member", "refused")  # linked to the manager's structure: attachable
            request = _unvetoed(application, lambda: memberships.request_membership(requester, structure), name)
            world = type("W", (), dict(manager=manager, requester=requester, other=other, structure=structure,
                                       elsewhere=elsewhere, request=request, member_elsewhere=member))
        before = _counts()
        with pytest.raises(Refused) as refused:
            VETOED_WRITES[name](world)
        assert refused.value.errors == {"": f"Refusé par le module de veto ({name})."}
        assert _counts() == before  # no row, no history entry, no e-mail
        if name in ("membership.validated", "membership.refused", "membership.cancelled", "membership.expired"):
            assert db.session.get(Membership, world.request.id).status == "pending"
        if name == "membership.removed":
            assert db.session.get(Membership, world.member_elsewhere.id).status == "validated"
        if name == "structure.updated":
            assert db.session.get(type(world.structure), world.structure.id).designation == "Commune"
        if name == "structure.duplicated":  # SIR-2: the old structure is still active, its request still pending
            assert db.session.get(type(world.structure), world.structure.id).status == "active"
            assert db.session.get(Membership, world.request.id).status == "pending"


def _unvetoed(application, build, name):
    """Build a fixture object whose events may include the vetoed one: with the veto lifted meanwhile."""
    pm = application.extensions["chorus.plugins"]
    veto = next(p for p in pm.get_plugins() if isinstance(p, Veto))
    veto.name, saved = "-", veto.name
    try:
        return build()
    finally:
        veto.name = saved


def test_a_plugins_refusal_reaches_the_form_next_to_its_field(essai_app, accounts):
    world = _world(accounts)
    client = _client(essai_app, "nina@ailleurs.example")
    response = client.post("/mon-compte/rattachements/nouveau", data={
        "identifier_type": "SIRET", "identifier": world.structure.identifier, "role": "member", "comment": "",
        "essai_code": "NON"})
    assert response.status_code == 422
    html = page(response)
    assert 'id="essai_code-error"' in html and "Code refusé par le module d'essai." in html
    fresh()
    assert db.session.execute(select(func.count()).select_from(Membership).where(
        Membership.user_id == world.other.id, Membership.structure_id == world.structure.id)).scalar_one() == 0


def test_a_refusal_with_no_form_answers_a_422_page(make_app, accounts):
    application = make_app(EXTRA_PLUGINS=[Veto("membership.removed")])
    with application.app_context():
        owner = accounts.create("sophie@commune.example")
        member = accounts.create("lucas@commune.example", last_name="Garnier")
        structure = make_structure(owner, "Commune")
        m = attach(structure, member)
        client = _client(application, "sophie@commune.example")
        response = client.post(f"/structures/{structure.id}/rattachements/supprimer",
                               data={"ids": [m.id], "confirme": "oui"})
        html = page(client.get(response.headers["Location"])) if response.status_code == 303 else page(response)
        assert "Refusé par le module de veto (membership.removed)." in html
        fresh()
        assert db.session.get(Membership, m.id).status == "validated"


# ------------------------------------------------------------------ forms open to plugins


def test_a_refusal_on_a_route_without_form_answers_a_422_page(make_app, accounts):
    from chorus.memberships import services as memberships

    application = make_app(EXTRA_PLUGINS=[Veto("membership.cancelled")])
    with application.app_context():
        structure = make_structure(accounts.create("sophie@commune.example"), "Commune")
        requester = accounts.create("lucas@commune.example", last_name="Garnier")
        m = memberships.request_membership(requester, structure)
        client = _client(application, "lucas@commune.example")
        for headers in ({}, {"HX-Request": "true"}):
            response = client.post(f"/mon-compte/rattachements/{m.id}/annuler", headers=headers)
            assert response.status_code == 422
            assert "Refusé par le module de veto (membership.cancelled)." in page(response)
        fresh()
        assert db.session.get(Membership, m.id).status == "pending"


def test_hook_form_fields(essai_app, plugin, accounts):
    from chorus.memberships.forms import RequestForm

    world = _world(accounts)
    accounts.create("admin@dgfip.example", is_admin=True)
    yann = accounts.create("yann@ailleurs.example", first_name="Yann", last_name="Morvan")
    attach(world.structure, yann, "member", "refused")  # once refused: linked, so the search offers him
    manager = _client(essai_app, "sophie@commune.example")
    nina = _client(essai_app, "nina@ailleurs.example")
    forms = {  # form name -> (client, page showing the form, post url, data, event that carries the values)
        "account_create": (essai_app.test_client(), "/inscription", "/inscription", {
            "for_whom": "self", "last_name": "Neuf", "first_name": "Compte", "login_email": "neuf@exemple.fr"},
            "account.created"),
        "account_create (admin)": (_client(essai_app, "admin@dgfip.example"), "/administration/comptes/nouveau",
                                   "/administration/comptes/nouveau", {
                                       "last_name": "Agent", "first_name": "Public", "login_email": "pub@exemple.fr"},
                                   "account.created"),
        "membership_request": (nina, f"/mon-compte/rattachements/nouveau?identifier_type=SIRET&identifier="
                               f"{world.structure.identifier}", "/mon-compte/rattachements/nouveau",
                               {"identifier_type": "SIRET", "identifier": world.structure.identifier,
                                "role": "member"}, "membership.requested"),
        "membership_decision": (manager, f"/gestionnaire/rattachements/{world.request.id}",
                                f"/gestionnaire/rattachements/{world.request.id}",
                                {"action": "valider", "role": "member"}, "membership.validated"),
        "membership_attach": (manager, f"/structures/{world.structure.id}/rattacher?last_name=morvan",
                              f"/structures/{world.structure.id}/rattacher",
                              {"user_id": yann.id, "role": "member"}, "membership.attached"),
        "structure_block": (manager, f"/structures/{world.structure.id}/modifier",
                            f"/structures/{world.structure.id}/modifier/identification",
                            {"designation": "Commune de Saint-Exemple"}, "structure.updated"),
    }
    slots = {"account_create": "account_create_form", "account_create (admin)": "account_create_form",
             "membership_request": "membership_request_form", "membership_decision": "membership_decision",
             "membership_attach": "membership_attach_form", "structure_block": "structure_edit"}
    for name, (client, get_url, post_url, data, event) in forms.items():
        shown = page(client.get(get_url))
        assert "Code d'essai" in shown and f"Emplacement {slots[name]}" in shown, name
        too_long = client.post(post_url, data={**data, "essai_code": "x" * 11})
        assert too_long.status_code == 422, name  # validated with the form
        assert "Code d'essai : " in page(too_long), name
        plugin.changes.clear()
        done = client.post(post_url, data={**data, "essai_code": f"E-{len(name)}"})
        assert done.status_code in (200, 303), (name, page(done))
        payloads = [p for n, p in plugin.changes if n == event]
        assert payloads and payloads[0]["extra"] == {"essai_code": f"E-{len(name)}"}, name
    # The bulk decision (RAT-4), on a fresh request.
    from chorus.memberships import services as memberships

    second = memberships.request_membership(accounts.create("zoe@commune.example", last_name="Zola"),
                                            world.structure)
    bulk = page(manager.get("/gestionnaire/rattachements"))
    assert "Code d'essai" in bulk and "Emplacement membership_bulk_decision" in bulk
    plugin.changes.clear()
    manager.post("/gestionnaire/rattachements", data={"ids": [second.id], "action": "refuser", "reason": "Non",
                                                      "essai_code": "LOT"})
    assert [p["extra"] for n, p in plugin.changes if n == "membership.refused"] == [{"essai_code": "LOT"}]
    # A field is added to one form instance, never to the class: nothing leaks into the next request.
    assert not hasattr(RequestForm, "essai_code")


# ------------------------------------------------------------------ the structure record


def test_hook_record_blocks(essai_app, plugin, accounts):
    world = _world(accounts)
    client = _client(essai_app, "sophie@commune.example")
    url = f"/structures/{world.structure.id}"
    edit = page(client.get(f"{url}/modifier"))
    assert "Bloc d'essai" in edit and "Numéro FINESS" in edit
    assert edit.index("Adresse postale du siège") < edit.index("Bloc d'essai") < edit.index("Paramètres")  # order
    refused = client.post(f"{url}/modifier/essai", data={"finess": "1234567890"})
    assert refused.status_code == 422 and "9 caractères" in page(refused)
    saved = client.post(f"{url}/modifier/essai", data={"finess": "560012345"},
                        headers={"HX-Request": "true", "HX-Target": "bloc-essai"})
    assert saved.status_code == 200 and "Modifications enregistrées." in page(saved)
    assert plugin.finess[world.structure.id] == "560012345"
    record = page(client.get(url))
    assert "Numéro FINESS" in record and "560012345" in record
    fresh()
    entry = db.session.execute(select(HistoryEntry).where(HistoryEntry.action == "structure.updated")).scalar_one()
    assert entry.detail["changes"] == [{"field": "finess", "label": "Numéro FINESS", "before": "",
                                        "after": "560012345"}]  # SPEC STR-10
    # A plain member sees the block on the record, read-only, and cannot save it.
    member = _client(essai_app, "sophie@commune.example")  # manager here, but a member of Atelier Perrin
    assert member.post(f"/structures/{world.elsewhere.id}/modifier/essai", data={"finess": "1"}).status_code == 403


def test_validate_structure_warnings_are_shown_after_saving(essai_app, accounts):
    # SPEC STR-7's second part: a rule may warn without refusing.
    world = _world(accounts)
    client = _client(essai_app, "sophie@commune.example")
    url = f"/structures/{world.structure.id}/modifier/identification"
    response = client.post(url, data={"designation": "Commune ATTENTION"},
                           headers={"HX-Request": "true", "HX-Target": "bloc-identification"})
    assert response.status_code == 200
    html = page(response)
    assert "Modifications enregistrées." in html and "Attention : Raison sociale inhabituelle." in html
    plain = client.post(url, data={"designation": "Commune ATTENTION bis"})
    assert plain.status_code == 303
    assert "Attention : Raison sociale inhabituelle." in page(client.get(plain.headers["Location"]))


def test_hook_replaces_core_rules(make_app, accounts):
    # SPEC STR-7: with no module keeping services, the core refuses "code service obligatoire"; a module that
    # enforces the rule itself says so, and the core's interim refusal gives way.
    from chorus.structures import services
    from chorus.structures.models import Structure
    from chorus.structures.services import STR_7_INTERIM, StructureError

    without_services = disabled_plugins("plugins.services")  # it enforces STR-7 itself (tests/plugins/services)
    with make_app(DISABLED_PLUGINS=without_services).app_context():
        owner = accounts.create()
        structure = make_structure(owner, "Sans services")
        with pytest.raises(StructureError) as refused:
            services.update(owner, structure, {"service_code_required": True})
        assert refused.value.errors == {"service_code_required": STR_7_INTERIM}
        services.update(owner, structure, {"service_code_required": False})  # unsetting is always fine
        ids = (owner.id, structure.id)
    with make_app(EXTRA_PLUGINS=[ThrowAway(replaces=["STR-7"])], DISABLED_PLUGINS=without_services).app_context():
        owner, structure = db.session.get(User, ids[0]), db.session.get(Structure, ids[1])
        assert services.update(owner, structure, {"service_code_required": True}).changes == {
            "service_code_required": (False, True)}


# ------------------------------------------------------------------ lists


def test_hook_list_columns(essai_app, accounts):
    world = _world(accounts)
    client = _client(essai_app, "sophie@commune.example")
    pending = page(client.get("/gestionnaire/rattachements"))
    assert "Colonne d'essai" in pending and f"essai-pending_requests-{world.request.id}" in pending
    fragment = page(client.get("/gestionnaire/rattachements", headers={"HX-Request": "true",
                                                                       "HX-Target": "demandes"}))
    assert f"essai-pending_requests-{world.request.id}" in fragment
    record = page(client.get(f"/structures/{world.structure.id}"))
    [own] = db.session.execute(select(Membership.id).where(Membership.structure_id == world.structure.id,
                                                           Membership.status == "validated")).scalars().all()
    assert f"essai-structure_users-{own}" in record
    found = page(client.get(f"/structures/{world.structure.id}/rattacher?last_name=garnier"))
    assert f"Colonne d'essai : essai-user_search-{world.requester.id}" in found


def test_hook_list_filters(essai_app, accounts):
    from chorus.memberships import services as memberships

    world = _world(accounts)
    zoe = accounts.create("zoe@commune.example", first_name="Zoé", last_name="Zola")
    memberships.request_membership(zoe, world.structure)
    client = _client(essai_app, "sophie@commune.example")
    both = page(client.get("/gestionnaire/rattachements"))
    assert "Lucas Garnier" in both and "Zoé Zola" in both and "Nom commençant par" in both
    only = page(client.get("/gestionnaire/rattachements?essai_nom=Zo"))
    assert "Zoé Zola" in only and "Lucas Garnier" not in only and "1 demande en attente" in only
    memberships.decide(world.manager, [world.request.id], accept=True)
    users = page(client.get(f"/structures/{world.structure.id}?essai_nom=Gar"))
    assert "Lucas Garnier" in users and "Sophie Lemoine" not in users.split("Utilisateurs rattachés")[1]
    found = page(client.get(f"/structures/{world.structure.id}/rattacher?essai_nom=Zo"))
    assert "Zoé Zola" in found and "Lucas Garnier" not in found


# ------------------------------------------------------------------ history, spaces


def test_hook_history_snapshot(essai_app, plugin, accounts):
    from chorus.memberships import services as memberships

    world = _world(accounts)
    plugin.changes.clear()
    memberships.decide(world.manager, [world.request.id], accept=True)
    # Taken after the event's domain_change: the snapshot sees what plugins wrote for the decision.
    assert plugin.seen_before_snapshot == ["membership.validated"]
    fresh()
    entry = db.session.execute(select(HistoryEntry).where(HistoryEntry.action == "membership.validated")).scalar_one()
    assert entry.detail["extra"] == {"essai": f"instantané membership.validated de {world.request.id}"}  # HIS-3
    assert entry.detail["request"]["comment"] == "Agent comptable"


def test_hook_structure_units(make_app, accounts):
    # A choice list names the sub-units plugins give (e.g. services), each once; none without such a plugin.
    from chorus.structures.units import units_of

    class Again:  # a second plugin naming the same unit
        @hookimpl
        def structure_units(self, structure):
            return [("essai-1", "Autre nom")]

    with make_app(EXTRA_PLUGINS=[ThrowAway(), Again()]).app_context():
        owner = accounts.create()
        with_units = make_structure(owner, "Avec unités")
        without = make_structure(owner, "Sans unités")
        assert dict(units_of(with_units))["essai-1"] in ("Unité d'essai", "Autre nom")
        assert [u for u, _ in units_of(with_units)].count("essai-1") == 1
        assert dict(units_of(without))["essai-1"] == "Autre nom"
    with make_app(EXTRA_PLUGINS=[ThrowAway()]).app_context():
        assert "essai-1" not in dict(units_of(without))


def test_hook_default_spaces(make_app, accounts):
    # SPEC ESP-2: the spaces of a new membership come from the modules that own spaces, none from the core.
    from chorus.memberships import services as memberships

    # The codes travel in the membership events' `spaces`, for the module keeping subscriptions to write them
    # in the same transaction.
    from chorus.memberships.spaces import default_spaces

    with make_app(DISABLED_PLUGINS=disabled_plugins("plugins.spaces")).app_context():
        owner = accounts.create()
        bare = make_structure(owner, "Sans module d'espaces")
        assert default_spaces(bare, "primary") == []
    plugin = ThrowAway()
    with make_app(EXTRA_PLUGINS=[plugin], DISABLED_PLUGINS=disabled_plugins("plugins.spaces")).app_context():
        world = _world(accounts)
        memberships.decide(world.manager, [world.request.id], accept=True)
        spaces = {name: payload["spaces"] for name, payload in plugin.changes if "spaces" in payload}
        assert spaces == {"membership.created_with_structure": ["ESSAI", "ESSAI_GESTION"],
                          "membership.validated": ["ESSAI"]}


def test_hook_unit_memberships(make_app, accounts):
    # Which memberships work in a sub-unit comes from the modules keeping the units, merged; unknown units: none.
    from chorus.structures.units import memberships_of_units

    class Other:
        @hookimpl
        def unit_memberships(self, structure, unit_ids):
            return {"essai-1": {-2}}

    with make_app(EXTRA_PLUGINS=[ThrowAway(), Other()]).app_context():
        structure = make_structure(accounts.create(), "Avec unités")
        assert memberships_of_units(structure, ["essai-1", "autre"]) == {"essai-1": {-1, -2}, "autre": set()}
        assert memberships_of_units(structure, []) == {}


def test_permission_votes_are_asked_once_per_question_in_a_reading_request(make_app, accounts):
    # A page asks the same question for its links, tabs and blocks: a GET asks the plugins once; a request
    # that writes asks them each time (what it changed must be seen).
    asked = []

    class Counter:
        @hookimpl
        def permission_vote(self, actor, action, obj):
            asked.append((action, obj))
            return True if action == "essai.count" else None

    application = make_app(EXTRA_PLUGINS=[Counter()])
    with application.app_context():
        user = accounts.create()
        with application.test_request_context("/", method="GET"):
            assert all(can(user, "essai.count", "x") for _ in range(3))
            assert can(user, "essai.count", "y")
            assert asked == [("essai.count", "x"), ("essai.count", "y")]
        asked.clear()
        with application.test_request_context("/", method="POST"):
            assert all(can(user, "essai.count", "x") for _ in range(3))
            assert len(asked) == 3
