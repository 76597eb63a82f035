"""The core's guard of a space's routes (SPEC ESP-5, chorus.spaces.guard), with a throw-away space: no module of
spaces needed. GET and HEAD ask "space.access", other methods "space.modify", on the structure a route names."""
from __future__ import annotations

import pytest
from flask import Blueprint

from chorus.hookspecs import hookimpl
from chorus.spaces import Space, SpaceOn
from helpers import disabled_plugins

GARDE = Space(code="GARDE", label="Espace gardé", endpoint="garde.index", order=90, prefix="/garde")
garde = Blueprint("garde", __name__, url_prefix="/garde")
garde.add_url_rule("/", "index", lambda: "<p>accueil</p>", methods=["GET", "POST"])
garde.add_url_rule("/structures/<id:structure_id>", "on", lambda structure_id: "<p>ok</p>", methods=["GET", "POST"])
garde.add_url_rule("/nom/<structure_id>", "named", lambda structure_id: "<p>ok</p>")  # not an id
outside = Blueprint("hors_espace", __name__)
outside.add_url_rule("/gardeur", "near", lambda: "<p>hors de l'espace</p>")  # shares the prefix's letters only


class Guarded:
    """Reading for everyone signed in; acting for nobody, except on structure 7."""

    @hookimpl
    def register_spaces(self):
        return [GARDE]

    @hookimpl
    def register_blueprints(self):
        return [garde, outside]

    @hookimpl
    def permission_vote(self, actor, action, obj):
        if action == "space.access" and (obj == GARDE or isinstance(obj, SpaceOn) and obj.space == GARDE):
            return True
        if action == "space.modify" and isinstance(obj, SpaceOn) and obj.space == GARDE:
            return obj.structure_id == 7
        return None


@pytest.fixture
def guarded(make_app, accounts):
    application = make_app(EXTRA_PLUGINS=[Guarded()], DISABLED_PLUGINS=disabled_plugins("plugins.spaces"))
    with application.app_context():
        accounts.create()
        client = application.test_client()
        accounts.login(client)
        yield client


def test_reading_needs_access_and_acting_needs_modify(guarded):
    assert guarded.get("/garde/").status_code == 200
    assert guarded.head("/garde/").status_code == 200
    assert guarded.post("/garde/").status_code == 403  # no "space.modify" vote for the space as a whole
    assert guarded.post("/garde/structures/7").status_code == 200  # asked on the structure the route names
    assert guarded.post("/garde/structures/8").status_code == 403
    assert guarded.get("/garde/nom/7").status_code == 403  # a structure named otherwise than by an id: refused


def test_the_prefix_owns_its_path_segments_only(guarded):
    assert guarded.get("/gardeur").status_code == 200
    assert guarded.post("/garde/nulle-part").status_code == 403  # refused before "not found"


def test_without_a_session_the_login_page(make_app):
    client = make_app(EXTRA_PLUGINS=[Guarded()], DISABLED_PLUGINS=disabled_plugins("plugins.spaces")).test_client()
    response = client.get("/garde/nulle-part")
    assert response.status_code == 303 and "/connexion" in response.headers["Location"]
