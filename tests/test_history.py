"""The history is append-only, down to the database (SPEC HIS-1..4), and filterable."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from chorus import clock
from chorus.database import transaction
from chorus.extensions import db
from chorus.history import services as history
from chorus.history.models import HistoryEntry
from chorus.memberships.models import Membership
from chorus.structures import services
from chorus.structures.models import Structure
from helpers import attach, fresh, make_structure, page


@pytest.fixture
def structure(logged_in):
    s = make_structure(logged_in.user, "Atelier Test")
    services.update(logged_in.user, s, {"city": "Lorient"})
    return s


def test_the_database_refuses_to_change_or_delete_history(app, structure):
    # SPEC HIS-4
    for statement in ("UPDATE history_entry SET summary = 'effacé'", "DELETE FROM history_entry"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))
    with pytest.raises(DBAPIError, match="append-only"):
        with transaction():
            db.session.execute(update(HistoryEntry).values(comment="Validée"))
    if db.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text("TRUNCATE history_entry CASCADE"))
    fresh()
    entries = db.session.execute(select(HistoryEntry).order_by(HistoryEntry.id)).scalars().all()
    assert [e.action for e in entries] == ["structure.created", "structure.updated"]
    assert entries[1].summary == "Modification de la structure : ville"


def test_history_page_filters(logged_in, accounts, structure, travel):
    with transaction():
        history.record(structure.id, logged_in.user, "membership.validated", comment=history.VALIDATED,
                       summary="Demande de Jeanne Roy validée")
    travel(days=3)
    services.update(logged_in.user, structure, {"city": "Vannes"})
    accounts.login(logged_in)  # three days later
    url = f"/structures/{structure.id}/historique"
    html = page(logged_in.get(url))
    assert html.count("<tr>") == 1 + 4  # header + 4 actions, newest first
    assert html.index("ville") < html.index("Demande de Jeanne Roy")
    only_validated = page(logged_in.get(url, query_string={"commentaire": "Validée"}))
    assert "Demande de Jeanne Roy validée" in only_validated and only_validated.count("<tr>") == 2
    today = clock.now().date().isoformat()
    recent = page(logged_in.get(url, query_string={"du": today}))
    assert recent.count("<tr>") == 2 and "Demande de Jeanne Roy" not in recent
    bad_date = page(logged_in.get(url, query_string={"du": "32/13/2026"}))
    assert "Date non valable" in bad_date and bad_date.count("<tr>") == 5


def test_history_detail_belongs_to_its_structure(logged_in, structure, accounts):
    other = make_structure(logged_in.user, "Autre atelier")
    entry = db.session.execute(select(HistoryEntry).where(HistoryEntry.structure_id == other.id)).scalars().first()
    assert logged_in.get(f"/structures/{structure.id}/historique/{entry.id}").status_code == 404
    assert logged_in.get(f"/structures/{other.id}/historique/{entry.id}").status_code == 200


def test_one_primary_manager_under_concurrent_attempts(app, accounts):
    # SPEC TRF-1: several requests try to make someone primary manager of a structure at once
    owner = accounts.create()
    structure = make_structure(owner, "Atelier Test")
    with transaction():
        db.session.execute(update(Membership).values(role="secondary"))  # no primary for a moment
    candidates = [accounts.create(f"candidat{i}@exemple.fr") for i in range(6)]
    results = []
    barrier = threading.Barrier(len(candidates))

    def attempt(user_id):
        with app.app_context():
            barrier.wait()
            try:
                with transaction():
                    db.session.add(Membership(user_id=user_id, structure_id=structure.id, role="primary",
                                              status="validated", comment="", decision_reason="",
                                              created_at=clock.now()))
                results.append("ok")
            except IntegrityError:
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(c.id,)) for c in candidates]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] + ["refused"] * 5
    fresh()
    assert db.session.execute(select(func.count()).where(
        Membership.structure_id == structure.id, Membership.role == "primary",
        Membership.status == "validated")).scalar_one() == 1


def test_a_member_cannot_read_the_history(client, accounts, structure):
    member = accounts.create("membre@atelier.example")
    attach(db.session.get(Structure, structure.id), member, "member")
    accounts.login(client, "membre@atelier.example")
    assert client.get(f"/structures/{structure.id}/historique").status_code == 403
