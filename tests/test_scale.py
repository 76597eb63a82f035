"""Lists at national scale: one page at a time with its count, folded searches, one role check per request."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, insert, select

from chorus import clock
from chorus.accounts.models import User
from chorus.database import transaction
from chorus.extensions import db
from chorus.history.models import HistoryEntry
from chorus.memberships.models import Membership
from chorus.structures import services
from chorus.structures.models import Structure
from helpers import make_structure, page

HX = {"HX-Request": "true"}


@pytest.fixture
def own(logged_in):
    return make_structure(logged_in.user, "Atelier Test")


def many_members(structure, n, tag="membres"):
    """n people with a validated membership of `structure`, written in bulk; Membre00000 joined first,
    a minute before Membre00001, and so on."""
    start = clock.now() - timedelta(days=30)
    domain = f"@{tag}.example"
    with transaction():
        db.session.execute(insert(User), [
            {"last_name": f"Membre{i:05d}", "first_name": "Agent", "login_email": f"m{i}{domain}",
             "contact_email": f"m{i}{domain}", "phone": "", "status": "active", "kind": "person",
             "origin": "self", "is_pigp": False, "is_admin": False, "created_at": start} for i in range(n)])
        ids = db.session.execute(select(User.id).where(User.login_email.like(f"%{domain}"))).scalars().all()
        db.session.execute(insert(Membership), [
            {"user_id": uid, "structure_id": structure.id, "role": "member", "status": "validated", "comment": "",
             "decision_reason": "", "start_date": start.date(), "created_at": start + timedelta(minutes=i)}
            for i, uid in enumerate(sorted(ids))])


def member_rows(html: str) -> list[str]:
    return re.findall(r'id="member-\d+" aria-label="Sélectionner ([^"]+)"', html)


# ------------------------------------------------------------------ the record of a large structure


def test_the_record_of_a_5000_member_structure_shows_one_page_of_members_and_a_pager(logged_in, own):
    many_members(own, 5000)
    html = page(logged_in.get(f"/structures/{own.id}"))
    assert "5001 rattachements (de 1 à 50, page 1 sur 101)" in html
    rows = member_rows(html)
    assert len(rows) == 49  # 50 rows, the primary manager's without a checkbox
    assert rows[0] == "Agent Membre04999" and rows[-1] == "Agent Membre04951"  # the latest first
    assert html.index("Claire Martin") < html.index("Membre04999")  # the primary manager comes first
    assert f'href="/structures/{own.id}?membres=2#s-users"' in html
    assert "page précédente" not in html


def test_member_pages_follow_each_other_and_the_last_holds_the_rest(logged_in, own):
    many_members(own, 120)  # 121 with the primary manager: pages of 50, 50, 21
    second = page(logged_in.get(f"/structures/{own.id}?membres=2"))
    assert "121 rattachements (de 51 à 100, page 2 sur 3)" in second
    assert member_rows(second)[0] == "Agent Membre00070" and member_rows(second)[-1] == "Agent Membre00021"
    assert f'href="/structures/{own.id}?membres=1#s-users"' in second
    last = page(logged_in.get(f"/structures/{own.id}?membres=3"))
    assert len(member_rows(last)) == 21 and "page suivante" not in last
    beyond = page(logged_in.get(f"/structures/{own.id}?membres=99"))  # an old link: the last page
    assert "(de 101 à 121, page 3 sur 3)" in beyond


def test_secondary_managers_come_before_members_on_the_first_page(logged_in, accounts, own):
    many_members(own, 60)
    from helpers import attach

    attach(own, accounts.create("adjoint@atelier.example", first_name="Zoé", last_name="Adjointe"), "secondary")
    rows = member_rows(page(logged_in.get(f"/structures/{own.id}")))
    assert rows[:2] == ["Zoé Adjointe", "Agent Membre00059"] and len(rows) == 49
    assert member_rows(page(logged_in.get(f"/structures/{own.id}?membres=2")))[0] == "Agent Membre00011"


def test_a_small_structure_shows_no_pager(logged_in, own):
    many_members(own, 3)
    html = page(logged_in.get(f"/structures/{own.id}"))
    assert "4 rattachements : les gestionnaires, puis" in html and 'aria-label="Pagination"' not in html


# ------------------------------------------------------------------ the dashboard


def test_a_manager_of_many_structures_attaches_from_each_row(logged_in):
    for n in range(101):
        make_structure(logged_in.user, f"Structure {n:03d}")
    html = page(logged_in.get("/gestionnaire/"))
    assert "Vous gérez 101 structures" in html and 'id="attach-structure"' not in html
    assert "101 structures (page 1 sur 6)" in html
    assert html.count('aria-label="Rattacher un utilisateur à Structure') == 20
    first = db.session.execute(select(Structure.id).where(Structure.designation == "Structure 000")).scalar_one()
    for link in (f"/structures/{first}", f"/structures/{first}/modifier", f"/structures/{first}/historique",
                 f"/structures/{first}/rattacher"):
        assert f'<a href="{link}" aria-label=' in html, link


def test_a_manager_of_few_structures_chooses_in_a_list(logged_in):
    for name in ("Zinguerie", "Atelier"):
        make_structure(logged_in.user, name)
    html = page(logged_in.get("/gestionnaire/"))
    options = re.findall(r'<option value="\d+">([^<]+)</option>', html)
    assert options == ["Atelier", "Zinguerie"]


# ------------------------------------------------------------------ folded searches


@pytest.mark.parametrize("q", ["ecole", "ÉCOLE", "saint-oeuvre", "SAINT-ŒUVRE", "élémentaire", "Ecole  Elementaire"])
def test_the_search_ignores_case_and_accents(logged_in, q):
    make_structure(logged_in.user, "École Élémentaire Saint-Œuvre")
    make_structure(logged_in.user, "Boulangerie")
    html = page(logged_in.get("/gestionnaire/", query_string={"q": q}))
    assert "1 structure pour" in html and "École Élémentaire Saint-Œuvre" in html, q


def test_a_siret_or_siren_finds_its_structure(logged_in):
    wanted = make_structure(logged_in.user, "Atelier Recherché")
    make_structure(logged_in.user, "Atelier Voisin")
    siret = wanted.identifier
    for q in (siret, f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}", siret[:9]):
        html = page(logged_in.get("/gestionnaire/", query_string={"q": q}))
        assert "1 structure pour" in html and "Atelier Recherché" in html, q


def test_renaming_a_structure_updates_what_the_search_finds(logged_in, own):
    services.update(logged_in.user, own, {"designation": "Forge Übel"})
    assert "1 structure pour" in page(logged_in.get("/gestionnaire/", query_string={"q": "ubel"}))
    assert "Aucune structure ne correspond" in page(logged_in.get("/gestionnaire/", query_string={"q": "atelier"}))


def test_search_pages_count_every_match(logged_in):
    for n in range(45):
        make_structure(logged_in.user, f"Mairie {n:02d}")
    make_structure(logged_in.user, "Boulangerie")
    html = page(logged_in.get("/gestionnaire/", query_string={"q": "mairie", "page": 3}))
    assert "45 structures pour « mairie » (page 3 sur 3)" in html
    assert re.findall(r"<td>(Mairie \d+)</td>", html) == ["Mairie 40", "Mairie 41", "Mairie 42", "Mairie 43",
                                                          "Mairie 44"]


# ------------------------------------------------------------------ pending requests


def statements_of(get):
    """The SQL statements one request sends (BEGIN/COMMIT/ROLLBACK left out), and its response."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = get()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return sent, response


def test_pending_requests_come_fifty_a_page_in_a_fixed_number_of_statements(logged_in, own):
    from helpers import many_requests

    many_requests(own, 3, tag="few")
    few, _ = statements_of(lambda: logged_in.get("/gestionnaire/rattachements"))
    many_requests(own, 117)
    many, response = statements_of(lambda: logged_in.get("/gestionnaire/rattachements"))
    html = page(response)
    assert "120 demandes en attente (page 1 sur 3)" in html
    assert len(re.findall(r'name="ids" value="\d+"', html)) == 50
    shown = [re.findall(r'name="ids" value="(\d+)"', page(logged_in.get(f"/gestionnaire/rattachements?page={n}")))
             for n in (1, 2, 3)]
    assert [len(ids) for ids in shown] == [50, 50, 20] and len(set(sum(shown, []))) == 120
    assert len(many) == len(few)  # no statement per row
    # counted on the requests alone, never over an ordered subquery
    counts = [s for s in many if "count(" in s.lower()]
    assert counts and not any("ORDER BY" in s.upper() for s in counts)


# ------------------------------------------------------------------ history


def test_history_is_paged_and_offers_every_declared_action(logged_in, own):
    for n in range(55):
        services.update(logged_in.user, own, {"city": f"Ville {n}"})
    html = page(logged_in.get(f"/structures/{own.id}/historique"))
    assert "56 actions" in html and "Page 1 sur 2" in html
    assert html.count(">Détail<span") == 50
    # Actions from the modules' declarations, even those this structure never saw.
    assert '<option value="membership.removed">Rattachement supprimé</option>' in html
    newest = db.session.execute(select(func.max(HistoryEntry.id))).scalar_one()
    assert f'<a href="/structures/{own.id}/historique/{newest}">Détail' in html
    assert "<td>Claire Martin</td>" in html  # the manager who did it
    second = page(logged_in.get(f"/structures/{own.id}/historique?page=2"))
    assert second.count(">Détail<span") == 6
    filtered = page(logged_in.get(f"/structures/{own.id}/historique?action=structure.created"))
    assert "1 action," in filtered


# ------------------------------------------------------------------ one role check per request


def test_the_record_asks_the_database_for_the_managers_role_once(logged_in, own):
    many_members(own, 3)
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if re.match(r"SELECT membership\.role\s+FROM membership", statement):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        html = page(logged_in.get(f"/structures/{own.id}"))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert "Modifier la structure" in html and "Rattacher un utilisateur" in html and "Historique" in html
    assert len(statements) == 1


def test_a_role_changed_during_a_request_is_read_again(app, accounts, own, logged_in):
    from chorus.memberships.queries import role_of
    from helpers import attach

    other = accounts.create("autre@atelier.example")
    with app.test_request_context(method="POST"):  # a writing request
        assert role_of(other, own.id) is None
        attach(own, other, "secondary")
        assert role_of(other, own.id) == "secondary"


# ------------------------------------------------------------------ folded copies kept right by every writer


def test_folded_names_follow_every_way_of_writing_an_account(app, accounts, own):
    from chorus.accounts.services import update_profile

    user = accounts.create("agent@ville.example", last_name="Lefèvre", first_name="Œdipe")
    assert (user.last_name_folded, user.first_name_folded) == ("lefevre", "oedipe")
    update_profile(user, user, last_name="DUPRÉ-ÇA", first_name="Élise", contact_email="agent@ville.example",
                   phone="")
    db.session.expire_all()
    assert (user.last_name_folded, user.first_name_folded) == ("dupre-ca", "elise")
    many_members(own, 2, tag="bulk")  # a Core bulk INSERT, as importers and the benchmark write
    folded = db.session.execute(select(User.last_name_folded).where(User.login_email.like("%@bulk.example"))
                                ).scalars().all()
    assert sorted(folded) == ["membre00000", "membre00001"]


def test_renamed_structures_keep_their_folded_designation(app, logged_in, own):
    services.update(logged_in.user, own, {"designation": "Œuvres Sociales de Saint-Étienne"})
    db.session.expire_all()
    assert db.session.get(Structure, own.id).designation_folded == "oeuvres sociales de saint-etienne"


@pytest.mark.parametrize("q,found", [("de", 1), ('"ecole', 0), ("é d'ar", 1), ("c*", 0), ("arts AND", 0)])
def test_short_or_odd_searches_are_taken_literally(logged_in, q, found):
    make_structure(logged_in.user, "École d'Arts de Lorient")
    make_structure(logged_in.user, "Boulangerie")
    response = logged_in.get("/gestionnaire/", query_string={"q": q})
    assert response.status_code == 200
    assert ("1 structure pour" in page(response)) == bool(found), q


def test_a_letters_only_identifier_is_found_whole(logged_in):
    from chorus.structures.services import StructureData, create_private

    create_private(logged_in.user, StructureData("AUTRE", "ABC-LETTRES", "Société Sans Chiffres", "1 rue Test"))
    assert "1 structure pour" in page(logged_in.get("/gestionnaire/", query_string={"q": "abc-lettres"}))
    assert "1 structure pour" in page(logged_in.get("/gestionnaire/", query_string={"q": "sans chiffres"}))


def test_administrators_search_every_structure_ignoring_accents(client, accounts):
    accounts.create("admin@chorus.example", is_admin=True)
    owner = accounts.create("gerant@ecole.example")
    wanted = make_structure(owner, "École Élémentaire Saint-Œuvre")
    make_structure(owner, "Boulangerie")
    accounts.login(client, email="admin@chorus.example")
    for q in ("ecole elem", "SAINT-OEUVRE", "mentaire"):
        html = page(client.get("/administration/structures", query_string={"q": q}))
        assert "1 structure" in html and "École Élémentaire Saint-Œuvre" in html, q
    services.update(owner, wanted, {"designation": "Collège Victor-Hugo"})  # the index follows a rename
    assert "Collège Victor-Hugo" in page(client.get("/administration/structures", query_string={"q": "college"}))
    assert "Saint-Œuvre" not in page(client.get("/administration/structures", query_string={"q": "oeuvre"}))


def test_an_empty_page_costs_its_count_alone(app, own):
    from chorus.pagination import paginate

    listing = select(Structure).where(Structure.designation == "Atelier Test").order_by(Structure.id)
    sent, found = statements_of(lambda: paginate(listing, page=1, per_page=10))
    assert [s.designation for s in found.items] == ["Atelier Test"] and len(sent) == 2
    sent, past = statements_of(lambda: paginate(listing, page=2, per_page=10))
    assert past.items == [] and past.total == 1 and past.pages == 1 and len(sent) == 1
    sent, empty = statements_of(lambda: paginate(listing.where(Structure.id < 0), page=1, per_page=10))
    assert empty.items == [] and empty.total == 0 and len(sent) == 1
