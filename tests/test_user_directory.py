"""Rechercher un utilisateur and its actions (SPEC USR-2, USR-3, MGR-2, RAT-7, NOT-1)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from chorus.extensions import db
from chorus.forms import required_message
from chorus.history.models import HistoryEntry
from chorus.mail.models import OutboxMessage
from chorus.memberships.models import Membership
from helpers import PASSWORD, attach, fresh, make_structure, page

URL = "/gestionnaire/utilisateurs"
RESULTS = {"HX-Request": "true", "HX-Target": "utilisateurs-resultats"}


@pytest.fixture
def world(app, accounts):
    """Sophie: primary manager of the Commune (A) and of the Atelier (C), plain member of the Boulangerie (B).
    A: Karim (secondary), Lucas (member, account pending), Éloïse (member), Nadia (pending request), a technical
    user. B: Bruno (its primary), Zoé (member). C: Lucas again (member)."""
    admin = accounts.create("admin@dgfip.example", is_admin=True)
    sophie = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
    karim = accounts.create("karim@commune.example", first_name="Karim", last_name="Benali")
    lucas = accounts.create("lucas@commune.example", first_name="Lucas", last_name="Garnier", status="pending",
                            password=None)
    eloise = accounts.create("eloise@commune.example", first_name="Éloïse", last_name="Lefèvre")
    nadia = accounts.create("nadia@ailleurs.example", first_name="Nadia", last_name="Garnier")
    bruno = accounts.create("bruno@boulangerie.example", first_name="Bruno", last_name="Boulanger")
    zoe = accounts.create("zoe@boulangerie.example", first_name="Zoé", last_name="Garnier", status="pending",
                          password=None)
    robot = accounts.create("robot@commune.example", first_name="Robot", last_name="Garnier", kind="technical")
    a = make_structure(sophie, "Commune de Saint-Exemple", public=True, admin=admin)
    b = make_structure(bruno, "Boulangerie Bravo")
    c = make_structure(sophie, "Atelier Charlie")
    attach(a, karim, "secondary")
    attach(a, lucas)
    attach(a, eloise)
    request = attach(a, nadia, status="pending")
    attach(a, robot)
    attach(a, accounts.create("ancien@commune.example", last_name="Garnier"), status="removed")
    attach(b, sophie)
    attach(b, zoe)
    attach(c, lucas)
    return type("World", (), dict(admin=admin, sophie=sophie, karim=karim, lucas=lucas, eloise=eloise, nadia=nadia,
                                  bruno=bruno, zoe=zoe, a=a, b=b, c=c, request=request))


def client_as(app, email):
    client = app.test_client()
    assert client.post("/connexion", data={"email": email, "password": PASSWORD}).status_code == 303
    return client


def rows(html: str) -> list[str]:
    """The result rows' text, one string per row."""
    match = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    if not match:
        return []
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip()
            for r in re.findall(r"<tr[\s>](.*?)</tr>", match.group(1), re.S)]


def membership_id(user, structure):
    fresh()
    return db.session.execute(select(Membership.id).where(
        Membership.user_id == user.id, Membership.structure_id == structure.id,
        Membership.status.in_(["validated", "pending"]))).scalar_one()


def search(client, **criteria):
    response = client.get(URL, query_string=criteria)
    assert response.status_code == 200
    return rows(page(response))


# ------------------------------------------------------------------ the search (USR-2, MGR-2)


def test_a_manager_sees_the_people_of_the_structures_they_manage_only(app, world):
    """SPEC MGR-2: Sophie manages A and C and is a plain member of B: B's people are not hers to see."""
    found = search(client_as(app, "sophie@commune.example"))
    # A: Sophie, Karim, Lucas, Éloïse, Nadia (pending request); C: Sophie, Lucas. Not the technical user,
    # not the removed membership, nobody of B.
    assert len(found) == 7
    text = " ".join(found)
    assert "Zoé" not in text and "Bruno" not in text and "Robot" not in text and "ancien@" not in text
    assert sum("Boulangerie" in r for r in found) == 0
    assert sum("Lucas" in r for r in found) == 2  # one row per structure


def test_an_account_of_any_id_is_found(app, world, accounts):
    """The search's index hint (user_id >= SQLite's smallest integer) keeps every row: an id of 0 or below too."""
    from sqlalchemy import update

    from chorus.accounts.models import User

    for new_id, email in ((0, "zero@commune.example"), (-7, "moins@commune.example")):
        person = accounts.create(email, first_name="Yves", last_name="Garnier")
        db.session.execute(update(User).where(User.id == person.id).values(id=new_id))
        db.session.commit()
        attach(world.a, db.session.get(User, new_id))
    found = search(client_as(app, "sophie@commune.example"), nom="garnier")
    assert sum("Yves" in r for r in found) == 2


def test_a_secondary_manager_sees_their_structure_only(app, world):
    found = search(client_as(app, "karim@commune.example"))
    assert len(found) == 5 and all("Commune de Saint-Exemple" in r for r in found)


def test_a_plain_member_has_no_user_search(app, world):
    client = client_as(app, "eloise@commune.example")
    assert client.get(URL).status_code == 403
    assert client.get(URL, headers=RESULTS).status_code == 403


@pytest.mark.parametrize("criteria, expected", [
    ({"nom": "garnier"}, 3),  # Lucas twice, Nadia; not Zoé (B), the robot or the removed one
    ({"nom": "GARNIER", "prenom": "luc"}, 2),
    ({"nom": "lefevre"}, 1),  # accents and case ignored
    ({"prenom": "eloise"}, 1),
    ({"adresse": "@commune.example"}, 5),  # Sophie twice, Karim, Lucas twice, Éloïse... minus Nadia
    ({"adresse": "nadia@ailleurs.example"}, 1),
    ({"statut": "pending"}, 2),  # Lucas on A and C
    ({"statut": "active", "designation": "atelier"}, 1),
    ({"designation": "saint-exemple"}, 5),
    ({"designation": "boulangerie"}, 0),  # B is not hers
    ({"nom": "garnier", "statut": "active"}, 1),
    ({"nom": "%"}, 0),  # LIKE wildcards are plain characters
    ({"statut": "inconnu"}, 7),  # an unknown status is ignored, never an error
])
def test_criteria_combine(app, world, criteria, expected):
    if criteria.get("adresse") == "@commune.example":
        expected = 6  # Sophie (A, C), Karim, Lucas (A, C), Éloïse
    assert len(search(client_as(app, "sophie@commune.example"), **criteria)) == expected


def test_results_are_sorted_by_the_chosen_column_both_ways(app, world):
    client = client_as(app, "sophie@commune.example")
    names = [r.split()[0] for r in search(client)]
    assert names == sorted(names, key=lambda n: n.lower().replace("è", "e"))
    assert names[0] == "Benali"
    by_first = [r.split()[1] for r in search(client, tri="prenom", ordre="desc")]
    assert by_first == ["Sophie", "Sophie", "Nadia", "Lucas", "Lucas", "Karim", "Éloïse"]  # folded: É as E
    by_structure = search(client, tri="structure")
    assert "Atelier Charlie" in by_structure[0] and "Commune" in by_structure[-1]
    # An unknown sort key falls back to the names.
    assert [r.split()[0] for r in search(client, tri="password")] == names


def test_results_are_paginated_and_the_pager_keeps_the_criteria(app, world, accounts):
    from helpers import many_requests

    many_requests(world.a, 120, tag="foule")
    client = client_as(app, "sophie@commune.example")
    first = page(client.get(URL, query_string={"statut": "active"}))
    assert "page 1 sur 3" in first and len(rows(first)) == 50
    assert "statut=active" in first.split('aria-label="Pagination"')[1]
    last = page(client.get(URL, query_string={"statut": "active", "page": 3}))
    assert len(rows(last)) == 125 - 100  # 120 requesters (active) + Sophie x2, Karim, Éloïse, Nadia
    beyond = client.get(URL, query_string={"statut": "active", "page": 99})
    assert len(rows(page(beyond))) == 25  # clamped to the last page, not an empty list


@pytest.mark.parametrize("sort", ["nom", "prenom", "adresse", "statut", "structure"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_page_after_page_the_rows_of_one_sorted_list(app, world, sort, order):
    """Each page reads its ids first, then their columns: pages 1, 2, 3 hold the rows of the whole sorted list
    (matching(), one statement), each once, in its order."""
    from chorus.memberships import people
    from helpers import many_requests

    many_requests(world.a, 120, tag="foule")
    many_requests(world.c, 10, tag="atelier")
    client = client_as(app, "sophie@commune.example")
    shown = []
    for n in (1, 2, 3):
        html = page(client.get(URL, query_string={"tri": sort, "ordre": order, "page": n}))
        shown += [int(i) for i in re.findall(r'name="ids" value="(\d+)"', html)]
    with app.test_request_context(URL):
        fresh()
        sophie = db.session.get(type(world.sophie), world.sophie.id)
        found = people.criteria(sophie, {"tri": sort, "ordre": order})
        expected = db.session.execute(people.matching(sophie, found, *people.ROW_COLUMNS)).scalars().all()
    assert len(expected) == 137 and shown == expected


def test_a_search_by_name_reads_few_rows_in_one_pass_and_many_by_count_then_page(app, world, monkeypatch):
    """Up to people.FEW rows, a search on names or addresses reads its ids in one statement and counts them as
    read; above, it counts then pages. Both give the same rows, pages, total and clamping."""
    from chorus.memberships import people
    from helpers import many_requests

    many_requests(world.a, 120, tag="foule")  # "Demandeur00000".."Demandeur00119", "Agent"
    client = client_as(app, "sophie@commune.example")
    queries = [{"nom": "demandeur"}, {"nom": "demandeur", "page": 3}, {"nom": "demandeur", "page": 99},
               {"prenom": "agent", "tri": "adresse", "ordre": "desc", "page": 2}, {"adresse": "foule"},
               {"nom": "garnier"}, {"nom": "personne"}]

    def shown(q):
        html = page(client.get(URL, query_string=q))
        return re.findall(r'name="ids" value="(\d+)"', html), re.search(r"<caption>(.*?)</caption>", html, re.S)

    one_pass = [shown(q) for q in queries]
    assert len(one_pass[0][0]) == 50 and "120 rattachements" in one_pass[0][1].group(1)
    assert len(one_pass[2][0]) == 20 and "page 3 sur 3" in one_pass[2][1].group(1)  # page 99: the last one
    assert one_pass[-1] == ([], None)
    fresh()
    sophie = db.session.get(type(world.sophie), world.sophie.id)

    def pages(q):  # (page, total) for every query, read by the service itself
        return [(found.page, found.total) for found in (
            people.search(sophie, people.criteria(sophie, q), page=int(q.get("page", 1)), per_page=50)
            for q in queries + [{"nom": "personne", "page": 5}])]

    read_once = pages(queries)
    monkeypatch.setattr(people, "FEW", -1)  # even an empty result is counted, then paged
    counted = [shown(q) for q in queries]
    assert [(ids, c and c.group(1)) for ids, c in counted] == [(ids, c and c.group(1)) for ids, c in one_pass]
    assert pages(queries) == read_once and read_once[-1] == (1, 0)


def test_htmx_refreshes_the_results_alone_and_the_whole_page_works_without_javascript(app, world):
    client = client_as(app, "sophie@commune.example")
    full = page(client.get(URL, query_string={"nom": "garnier"}))
    assert "<h1>Rechercher un utilisateur</h1>" in full and 'hx-get="/gestionnaire/utilisateurs"' in full
    assert 'action="/gestionnaire/utilisateurs"' in full and 'method="get"' in full  # no JavaScript needed
    assert "Réinitialiser" in full and "Rechercher</button>" in full
    fragment = page(client.get(URL, query_string={"nom": "garnier"}, headers=RESULTS))
    assert "<h1>" not in fragment and "<form method=\"get\"" not in fragment
    assert len(rows(fragment)) == 3
    whole = page(client.get(URL, headers={"HX-Request": "true"}))  # the whole content block, with its title
    assert "<title>" in whole and "<html" not in whole


def test_the_dashboard_links_to_the_user_search(app, world):
    dashboard = page(client_as(app, "sophie@commune.example").get("/gestionnaire/"))
    assert 'href="/gestionnaire/utilisateurs"' in dashboard and "Rechercher un utilisateur" in dashboard


# ------------------------------------------------------------------ one person (USR-3)


def test_a_person_page_lists_their_structures_among_the_managers_only(app, world):
    client = client_as(app, "sophie@commune.example")
    lucas = page(client.get(f"{URL}/{world.lucas.id}"))
    assert "Commune de Saint-Exemple" in lucas and "Atelier Charlie" in lucas
    assert "lucas.contact@commune.example" in lucas and "En cours d'activation" in lucas
    assert "Envoyer le courriel d'activation" in lucas
    karim = client_as(app, "karim@commune.example")
    assert "Atelier Charlie" not in page(karim.get(f"{URL}/{world.lucas.id}"))  # C is not Karim's
    # People of B only, or unknown: not found (MGR-2).
    assert client.get(f"{URL}/{world.zoe.id}").status_code == 404
    assert client.get(f"{URL}/{world.bruno.id}").status_code == 404
    assert client.get(f"{URL}/999999").status_code == 404


def entries(action, structure=None):
    fresh()
    stmt = select(HistoryEntry).where(HistoryEntry.action == action)
    if structure is not None:
        stmt = stmt.where(HistoryEntry.structure_id == structure.id)
    return db.session.execute(stmt.order_by(HistoryEntry.id)).scalars().all()


EDIT = "account.updated_by_manager"


def test_a_manager_modifies_a_persons_data(app, world, outbox):
    """SPEC USR-3 "modifier les données de l'utilisateur en accédant à son compte": names, contact address and
    phone; never the login address (a posted one is ignored); the person is told by e-mail, the previous
    contact address too; an entry in the history of each of the manager's structures the person is in (HIS-1)."""
    client = client_as(app, "sophie@commune.example")
    form = page(client.get(f"{URL}/{world.lucas.id}", query_string={"retour": "nom=garnier"}))
    assert 'name="last_name"' in form and 'value="Garnier"' in form and "lucas@commune.example" in form
    response = client.post(f"{URL}/{world.lucas.id}", data={
        "last_name": "Garnier-Roux", "first_name": "Lucas", "contact_email": "L.Roux@Ailleurs.example",
        "phone": "01 23 45 67 89", "login_email": "pirate@ailleurs.example", "status": "active",
        "retour": "nom=garnier"})
    assert response.status_code == 303 and "retour=nom%3Dgarnier" in response.headers["Location"]
    shown = page(client.get(response.headers["Location"]))
    assert "Les données de Lucas Garnier-Roux sont enregistrées." in shown
    assert 'href="/gestionnaire/utilisateurs?nom=garnier"' in shown  # back to the same search
    fresh()
    lucas = db.session.get(type(world.lucas), world.lucas.id)
    assert (lucas.last_name, lucas.contact_email, lucas.phone) == ("Garnier-Roux", "l.roux@ailleurs.example",
                                                                   "01 23 45 67 89")
    assert (lucas.login_email, lucas.status) == ("lucas@commune.example", "pending")  # mass assignment ignored
    told = outbox.last(to="l.roux@ailleurs.example")
    assert told.template == "account_updated_by_manager"
    assert "Sophie Lemoine" in told.body and "nom, adresse de contact, téléphone" in told.body
    warned = outbox.last(to="lucas.contact@commune.example")
    assert warned.template == "contact_changed" and "Sophie Lemoine" in warned.body
    # Lucas is in A and C (both Sophie's): one entry in each, none in B.
    assert [e.structure_id for e in entries(EDIT)] == sorted([world.a.id, world.c.id])
    entry = entries(EDIT, world.a)[0]
    assert (entry.actor_id, entry.subject_user_id) == (world.sophie.id, world.lucas.id)
    assert "nom, adresse de contact, téléphone" in entry.summary
    history = page(client.get(f"/structures/{world.a.id}/historique"))
    assert "Données d'un utilisateur modifiées" in history


def test_saving_the_same_data_changes_nothing(app, world, outbox):
    client = client_as(app, "karim@commune.example")  # A's secondary manager may do it too
    before = len(outbox.all())
    response = client.post(f"{URL}/{world.eloise.id}", data={
        "last_name": "Lefèvre", "first_name": "Éloïse", "contact_email": "eloise.contact@commune.example"})
    assert response.status_code == 303
    assert "Aucune modification à enregistrer." in page(client.get(response.headers["Location"]))
    assert len(outbox.all()) == before and entries(EDIT) == []


def test_bad_data_is_refused_in_french_and_nothing_is_saved(app, world, outbox):
    client = client_as(app, "sophie@commune.example")
    for headers in ({}, {"HX-Request": "true"}):
        response = client.post(f"{URL}/{world.eloise.id}", headers=headers, data={
            "last_name": "", "first_name": "Éloïse", "contact_email": "pas-une-adresse", "phone": "01 23"})
        html = page(response)
        assert response.status_code == 422 and ("<html" in html) == (not headers)
        assert "Saisissez une adresse électronique valide" in html and required_message("Nom") in html
    fresh()
    eloise = db.session.get(type(world.eloise), world.eloise.id)
    assert (eloise.last_name, eloise.contact_email) == ("Lefèvre", "eloise.contact@commune.example")
    assert outbox.all(to="pas-une-adresse") == [] and entries(EDIT) == []


def test_only_the_managers_people_can_be_modified(app, world):
    """MGR-2: a pending request does not make someone the manager's person (read-only, POST 403); people of a
    structure where the actor is a plain member are not found (404); a plain member may not search (403)."""
    sophie = client_as(app, "sophie@commune.example")
    data = {"last_name": "Piraté", "first_name": "X", "contact_email": "pirate@ailleurs.example"}
    nadia = page(sophie.get(f"{URL}/{world.nadia.id}"))
    assert 'name="last_name"' not in nadia and "quand sa demande de rattachement sera validée" in nadia
    assert sophie.post(f"{URL}/{world.nadia.id}", data=data).status_code == 403
    assert sophie.post(f"{URL}/{world.zoe.id}", data=data).status_code == 404  # B: Sophie is a member there
    assert sophie.post(f"{URL}/{world.admin.id}", data=data).status_code == 404
    eloise = client_as(app, "eloise@commune.example")
    assert eloise.post(f"{URL}/{world.lucas.id}", data=data).status_code == 403
    bruno = client_as(app, "bruno@boulangerie.example")  # B's manager: Sophie is his member, Lucas is not
    assert bruno.post(f"{URL}/{world.lucas.id}", data=data).status_code == 404
    fresh()
    names = db.session.execute(select(type(world.nadia).last_name).where(
        type(world.nadia).id.in_([world.nadia.id, world.zoe.id, world.lucas.id, world.admin.id]))).scalars().all()
    assert "Piraté" not in names and entries(EDIT) == []


def test_a_pending_request_row_opens_the_request(app, world):
    found = page(client_as(app, "sophie@commune.example").get(URL, query_string={"prenom": "nadia"}))
    assert f'href="/gestionnaire/rattachements/{world.request.id}"' in found and "Traiter la demande" in found


# ------------------------------------------------------------------ activation mails (USR-3, NOT-1)


def activation_mails(to):
    fresh()
    return db.session.execute(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.to_addr == to, OutboxMessage.template == "activation")).scalar_one()


def test_the_activation_mail_is_sent_again_to_the_login_address(app, world, outbox):
    client = client_as(app, "sophie@commune.example")
    old = outbox.all()
    response = client.post(f"{URL}/activation", data={"un": membership_id(world.lucas, world.a)})
    assert response.status_code == 303 and response.headers["Location"].startswith(URL)
    assert activation_mails("lucas@commune.example") == 1  # to the login address (NOT-1), not the contact one
    link = outbox.link("lucas@commune.example")
    assert link.startswith("/activation/")
    assert client_as(app, "sophie@commune.example").get("/gestionnaire/").status_code == 200
    assert len(outbox.all()) == len(old) + 1


def test_activation_for_the_selected_people_skips_active_accounts(app, world, accounts):
    client = client_as(app, "sophie@commune.example")
    ids = [membership_id(world.lucas, world.a), membership_id(world.lucas, world.c),
           membership_id(world.eloise, world.a)]
    response = client.post(f"{URL}/activation", data={"ids": ids}, follow_redirects=True)
    assert activation_mails("lucas@commune.example") == 1  # once, though he was ticked twice
    assert activation_mails("eloise@commune.example") == 0
    assert "déjà activé" in page(response)


def test_activation_resends_are_limited_per_recipient_and_per_manager(make_app, accounts):
    app = make_app(ACTIVATION_RESENDS_PER_MANAGER=4)
    with app.app_context():
        sophie = accounts.create("sophie@commune.example", last_name="Lemoine")
        commune = make_structure(sophie, "Commune")
        people = [accounts.create(f"p{i}@commune.example", last_name=f"P{i}", status="pending", password=None)
                  for i in range(6)]
        for p in people:
            attach(commune, p)
        ids = [membership_id(p, commune) for p in people]
        client = client_as(app, "sophie@commune.example")
        # Per recipient (MAIL_REQUESTS_PER_RECIPIENT = 3 an hour): the fourth is refused.
        for _ in range(4):
            response = client.post(f"{URL}/activation", data={"un": ids[0]}, follow_redirects=True)
        assert activation_mails("p0@commune.example") == 3
        assert "trop de courriels" in page(response)
        # Per manager: 3 sent so far, one more allowed out of the five selected.
        client.post(f"{URL}/activation", data={"ids": ids[1:]})
        assert sum(activation_mails(f"p{i}@commune.example") for i in range(1, 6)) == 1


def test_a_foreign_id_sends_nothing(app, world):
    client = client_as(app, "sophie@commune.example")
    zoe = membership_id(world.zoe, world.b)  # pending account, but in B, where Sophie is a plain member
    assert client.post(f"{URL}/activation", data={"un": zoe}).status_code == 404
    assert client.post(f"{URL}/activation", data={"ids": [membership_id(world.lucas, world.a), zoe]}
                       ).status_code == 404
    assert activation_mails("zoe@boulangerie.example") == 0 and activation_mails("lucas@commune.example") == 0


# ------------------------------------------------------------------ removal (USR-3, RAT-7)


def history_count():
    fresh()
    return db.session.execute(select(func.count()).select_from(HistoryEntry).where(
        HistoryEntry.action == "membership.removed")).scalar_one()


def test_removing_the_selected_memberships_asks_for_a_confirmation(app, world):
    client = client_as(app, "sophie@commune.example")
    ids = [membership_id(world.lucas, world.a), membership_id(world.lucas, world.c),
           membership_id(world.sophie, world.a), membership_id(world.nadia, world.a)]
    confirm = client.post(f"{URL}/rattachements/supprimer", data={"ids": ids, "retour": "nom=garnier"})
    html = page(confirm)
    assert confirm.status_code == 200 and "Confirmer la suppression" in html
    assert "Atelier Charlie" in html and "Commune de Saint-Exemple" in html
    assert "2 lignes cochées ne peuvent pas être supprimées" in html  # the primary manager, the pending request
    assert history_count() == 0
    done = client.post(f"{URL}/rattachements/supprimer", data={"ids": ids, "confirme": "oui", "retour": "nom=garnier"})
    assert done.status_code == 303 and done.headers["Location"] == f"{URL}?nom=garnier"
    assert history_count() == 2
    fresh()
    statuses = dict(db.session.execute(select(Membership.id, Membership.status).where(Membership.id.in_(ids))).all())
    assert [statuses[i] for i in ids] == ["removed", "removed", "validated", "pending"]


def test_the_rows_of_a_structure_left_inactive_by_a_siret_change_are_not_removed(app, world):
    """SIR-3: the structure a change of SIRET leaves inactive keeps its memberships as they were. Its rows still
    show, without "Supprimer le rattachement"; a selection holding one removes the others (never a 403)."""
    from chorus.structures import duplication
    from helpers import new_siret

    old_lucas = membership_id(world.lucas, world.c)
    duplication.duplicate(world.sophie, world.c, new_siret())
    client = client_as(app, "sophie@commune.example")
    html = page(client.get(URL, query_string={"nom": "garnier"}))
    assert html.count('aria-label="Supprimer le rattachement de Lucas Garnier à Atelier Charlie"') == 1  # the new C
    assert f'name="un" value="{old_lucas}" class="link-button danger"' not in html
    person = page(client.get(f"{URL}/{world.lucas.id}"))
    assert person.count(">Supprimer le rattachement</button>") == 2  # on A and on the new C, not on the old C
    eloise = membership_id(world.eloise, world.a)
    confirm = page(client.post(f"{URL}/rattachements/supprimer", data={"ids": [old_lucas, eloise]}))
    assert "Confirmer la suppression" in confirm and "1 ligne cochée ne peut pas être supprimée" in confirm
    done = client.post(f"{URL}/rattachements/supprimer", data={"ids": [old_lucas, eloise], "confirme": "oui"})
    assert done.status_code == 303
    fresh()
    assert [db.session.get(Membership, i).status for i in (old_lucas, eloise)] == ["validated", "removed"]
    alone = client.post(f"{URL}/rattachements/supprimer", data={"un": old_lucas}, follow_redirects=True)
    assert "structure inactive" in page(alone)


def test_removal_refuses_a_foreign_id(app, world):
    client = client_as(app, "sophie@commune.example")
    zoe = membership_id(world.zoe, world.b)
    response = client.post(f"{URL}/rattachements/supprimer",
                           data={"ids": [membership_id(world.eloise, world.a), zoe], "confirme": "oui"})
    assert response.status_code == 404
    assert history_count() == 0
    fresh()
    assert db.session.get(Membership, zoe).status == "validated"


def test_actions_without_a_selection_say_so(app, world):
    client = client_as(app, "sophie@commune.example")
    for action in ("activation", "rattachements/supprimer"):
        response = client.post(f"{URL}/{action}", data={"ids": ["abc"]}, follow_redirects=True)
        assert "Cochez au moins" in page(response)


def test_a_large_list_read_from_the_name_index_has_the_same_rows_in_the_same_order(app, world, monkeypatch):
    """Above people.LARGE rows, a name-sorted list is read in the users' name index (no sort): the same rows.
    (Which plan SQLite takes depends on the statistics of a large database: bench/csv_export.py shows it.)"""
    from chorus.memberships import people

    client = client_as(app, "sophie@commune.example")
    queries = [{}, {"nom": "garnier"}, {"statut": "active", "designation": "commune"}, {"ordre": "desc"},
               {"tri": "structure"}]
    before = [search(client, **q) for q in queries]
    monkeypatch.setattr(people, "LARGE", 0)
    assert [search(client, **q) for q in queries] == before
