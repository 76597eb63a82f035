"""Fixtures of the documents plugin's tests: a structure with its manager, a member, an administrator and a
stranger, logged-in clients, and files of every kind the uploads meet."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers import attach, make_structure

sys.path.insert(0, str(Path(__file__).parent))  # documents_samples, shared with bench/documents_memory.py

# Switched off for this run (tests/conftest.py, CHORUS_TEST_DISABLED_PLUGINS): not even imported, since their
# imports would add the plugin's tables to the core's metadata.
_OFF = os.environ.get("CHORUS_TEST_DISABLED_PLUGINS", "")
collect_ignore_glob = ["test_*.py"] if _OFF == "all" or "plugins.documents" in _OFF.split(",") else []

@pytest.fixture
def world(app, accounts):
    manager = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
    member = accounts.create("lucas@commune.example", first_name="Lucas", last_name="Garnier")
    accounts.create("admin@dgfip.example", last_name="Admin", is_admin=True)
    stranger_owner = accounts.create("nina@ailleurs.example", first_name="Nina", last_name="Morvan")
    structure = make_structure(manager, "Commune de Saint-Exemple")
    elsewhere = make_structure(stranger_owner, "Atelier Morvan")
    attach(structure, member, "member")
    clients = {}
    for name, email in (("manager", "sophie@commune.example"), ("member", "lucas@commune.example"),
                        ("admin", "admin@dgfip.example"), ("stranger", "nina@ailleurs.example")):
        clients[name] = app.test_client()
        accounts.login(clients[name], email)
    return SimpleNamespace(app=app, manager_user=manager, member_user=member, structure=structure, elsewhere=elsewhere,
                           base=f"/structures/{structure.id}/pieces-jointes",
                           other_base=f"/structures/{elsewhere.id}/pieces-jointes", **clients)
