"""SPEC ESP-5: every route of a space is guarded by one declaration (chorus.spaces.guard), routes a test plugin
adds under a space's prefix included; the right decides reading (Consultation) and acting (Modification)."""
from __future__ import annotations

import re

import pytest
from flask import Blueprint
from spaces_helpers import subscribe

from chorus.hookspecs import hookimpl
from helpers import page
from plugins.spaces.catalogue import SPACES

# Routes another module would add to each space, which the spaces module knows nothing of.
later = Blueprint("module_ulterieur", __name__)
for _code, _space in SPACES.items():
    slug = _space.prefix
    later.add_url_rule(f"{slug}/objets", f"{_code}_list", lambda: "<p>liste</p>", methods=["GET"])
    later.add_url_rule(f"{slug}/objets", f"{_code}_create", lambda: "<p>créé</p>", methods=["POST"])
    later.add_url_rule(f"{slug}/structures/<id:structure_id>/objets", f"{_code}_on",
                       lambda structure_id: f"<p>{structure_id}</p>", methods=["GET", "POST"])


class LaterModule:
    @hookimpl
    def register_blueprints(self):
        return [later]


@pytest.fixture
def later_app(make_app, world):
    application = make_app(EXTRA_PLUGINS=[LaterModule()])
    return application


def _client(application, accounts, email):
    client = application.test_client()
    with application.app_context():
        accounts.login(client, email)
    return client


# right held by the member on the commune -> (page, list, create, on the commune GET/POST, on the département GET)
EXPECTED = {
    None: (403, 403, 403, 403, 403, 403),
    "consultation": (200, 200, 403, 200, 403, 403),
    "modification": (200, 200, 200, 200, 200, 403),
}


@pytest.mark.parametrize("right", [None, "consultation", "modification"])
@pytest.mark.parametrize("code", list(SPACES))
def test_space_by_right_by_page_or_action(later_app, world, accounts, code, right):
    # SPEC ESP-5: no subscription, refused whatever the URL; consultation reads only, modification acts too;
    # a route naming a structure asks the right on that structure (none on the département).
    if right:
        subscribe(world.member, world.commune, code, right)
    client = _client(later_app, accounts, "lucas@commune.example")
    prefix = SPACES[code].prefix
    got = (client.get(f"{prefix}/").status_code,
           client.get(f"{prefix}/objets").status_code,
           client.post(f"{prefix}/objets").status_code,
           client.get(f"{prefix}/structures/{world.commune.id}/objets").status_code,
           client.post(f"{prefix}/structures/{world.commune.id}/objets").status_code,
           client.get(f"{prefix}/structures/{world.departement.id}/objets").status_code)
    assert got == EXPECTED[right]
    # An address under the prefix that no module serves: refused alike without a right (nothing learnt).
    assert client.get(f"{prefix}/inconnue").status_code == (404 if right else 403)
    # SPEC ESP-5: the top bar shows exactly the reachable spaces.
    bar = re.search(r'<nav aria-label="Espaces">(.*?)</nav>', page(client.get("/mon-compte")), re.S).group(1)
    assert (SPACES[code].label in bar) == bool(right)
    assert [s for s in SPACES.values() if s.label in bar] == ([SPACES[code]] if right else [])


def test_a_subscription_of_a_membership_no_longer_in_force_opens_nothing(world, client_as):
    # Who sees which space is decided by memberships and subscriptions together: a removed membership closes all.
    from chorus.extensions import db
    from chorus.memberships import services as memberships
    from chorus.memberships.models import Membership

    subscribe(world.member, world.commune, "FACTURES_RECUES", "modification")
    client = client_as("lucas@commune.example")
    assert client.get("/factures-recues/").status_code == 200
    membership = db.session.execute(db.select(Membership.id).where(
        Membership.user_id == world.member.id, Membership.structure_id == world.commune.id)).scalar_one()
    memberships.remove(world.manager, world.commune, [membership])
    assert client.get("/factures-recues/").status_code == 403


def test_anonymous_visitors_go_to_the_login_page(client):
    response = client.get("/factures-recues/objets")
    assert response.status_code == 303 and "/connexion" in response.headers["Location"]


def test_the_landing_page_says_what_the_space_will_hold_and_the_rights_held(world, client_as):
    subscribe(world.member, world.commune, "SOLLICITATIONS_EMISES", "consultation")
    html = page(client_as("lucas@commune.example").get("/sollicitations-emises/"))
    assert "<h1>Sollicitations émises</h1>" in html and "sollicitations que vous adressez" in html
    assert "Commune de Saint-Exemple" in html and "Consultation" in html
