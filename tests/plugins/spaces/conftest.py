"""Fixtures of the spaces plugin's tests: a public commune (its primary manager holds the four spaces from its
creation, ESP-2), a member attached without any space, a second public structure, and clients."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers import attach, make_structure

sys.path.insert(0, str(Path(__file__).parent))  # spaces_helpers

_OFF = os.environ.get("CHORUS_TEST_DISABLED_PLUGINS", "")
collect_ignore_glob = ["test_*.py"] if _OFF == "all" or "plugins.spaces" in _OFF.split(",") else []


@pytest.fixture
def world(app, accounts):
    admin = accounts.create("admin@dgfip.example", last_name="Admin", is_admin=True)
    manager = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
    second = accounts.create("karim@commune.example", first_name="Karim", last_name="Benali")
    member = accounts.create("lucas@commune.example", first_name="Lucas", last_name="Garnier")
    other_manager = accounts.create("paul@departement.example", first_name="Paul", last_name="Aubert")
    commune = make_structure(manager, "Commune de Saint-Exemple", public=True, admin=admin)
    departement = make_structure(other_manager, "Département du Morbihan", public=True, admin=admin)
    attach(commune, second, "secondary")
    attach(commune, member, "member")
    attach(departement, member, "member")
    return SimpleNamespace(app=app, admin=admin, manager=manager, second=second, member=member,
                           other_manager=other_manager, commune=commune, departement=departement)


@pytest.fixture
def client_as(app, accounts):
    def make(email):
        client = app.test_client()
        accounts.login(client, email)
        return client
    return make
