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

from chorus import events, hookspecs
from chorus.accounts.models import User
from chorus.database import transaction
from chorus.extensions import db
from chorus.hookspecs import hookimpl
from chorus.permissions import QueryRule, allowed, can
from chorus.spaces import NavEntry, Space
from helpers import new_siret

ESSAI = Space(code="ESSAI", label="Espace d'essai", endpoint="essai.page", order=10)

essai_bp = Blueprint("essai", __name__, url_prefix="/essai")


@essai_bp.get("/")
def page():
    return "<p>Page d'essai</p>"


class ThrowAway:
    """Implements every hook; records what it saw."""

    def __init__(self, migrations_dir=None):
        self.events = []
        self.demo_seen = None
        self.migrations_dir = migrations_dir

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
        return None

    @hookimpl
    def validate_structure(self, structure, changes):
        if "INTERDIT" in changes.get("designation", ""):
            return [("designation", "Raison sociale refusée par le module d'essai.")]
        return None

    @hookimpl
    def register_history_actions(self):
        return {"essai.action": "Action d'essai"}

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
