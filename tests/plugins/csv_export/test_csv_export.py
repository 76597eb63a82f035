"""CSV export (SPEC USR-1, USR-3, MGR-2; QUALITY.md "CSV export"): the user search's rows, for French spreadsheets."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from chorus.extensions import db
from chorus.hookspecs import hookimpl
from chorus.memberships.models import Membership
from helpers import PASSWORD, attach, disabled_plugins, fresh, make_structure, page

URL = "/gestionnaire/utilisateurs/export.csv"
SEARCH = "/gestionnaire/utilisateurs"


@pytest.fixture
def world(app, accounts):
    """Sophie manages A (with Karim, Lucas whose account is pending, Nadia's request) and is a plain member of B
    (with Zoé). Names a spreadsheet would run as formulas, and with the CSV's own separators."""
    admin = accounts.create("admin@dgfip.example", is_admin=True)
    sophie = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
    karim = accounts.create("karim@commune.example", first_name="Karim", last_name="Benali")
    lucas = accounts.create("lucas@commune.example", first_name="Lucas", last_name="Garnier", status="pending",
                            password=None)
    nadia = accounts.create("nadia@ailleurs.example", first_name="Nadia", last_name='=HYPERLINK("http://x";"y")')
    bruno = accounts.create("bruno@boulangerie.example", first_name="Bruno", last_name="Boulanger")
    zoe = accounts.create("zoe@boulangerie.example", first_name="Zoé", last_name="Garnier")
    a = make_structure(sophie, "Commune; de \"Saint\"-Exemple", public=True, admin=admin)
    b = make_structure(bruno, "Boulangerie Bravo")
    attach(a, karim, "secondary")
    attach(a, lucas)
    attach(a, nadia, status="pending")
    attach(b, sophie)
    attach(b, zoe)
    return type("World", (), dict(sophie=sophie, karim=karim, lucas=lucas, nadia=nadia, zoe=zoe, a=a, b=b))


def client_as(app, email):
    client = app.test_client()
    assert client.post("/connexion", data={"email": email, "password": PASSWORD}).status_code == 303
    return client


def table(response) -> list[list[str]]:
    """The CSV as a spreadsheet reads it: rows of cells (the BOM checked and dropped)."""
    assert response.status_code == 200
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: French Excel reads the accents right
    text = raw[3:].decode("utf-8")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")  # CRLF only
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def membership_id(user, structure):
    fresh()
    return db.session.execute(select(Membership.id).where(Membership.user_id == user.id,
                                                          Membership.structure_id == structure.id)).scalar_one()


def test_exporter_utilisateurs_lists_every_membership_of_the_managers_structures(app, world):
    """USR-1, MGR-2: all of A (where Sophie manages), nothing of B (where she is a plain member)."""
    response = client_as(app, "sophie@commune.example").get(URL)
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="utilisateurs-')
    assert response.headers["Cache-Control"] == "no-store"
    rows = table(response)
    header, body = rows[0], rows[1:]
    assert header[:2] == ["Identifiant de la structure", "Désignation de la structure"]
    for column in ("Rôle", "Statut du rattachement", "Nom", "Prénom", "Adresse de connexion", "Adresse de contact",
                   "Statut du compte", "Date de la demande", "Début de validité"):
        assert column in header
    assert len(body) == 4  # Sophie, Karim, Lucas, Nadia's request
    cells = {r[header.index("Adresse de connexion")]: r for r in body}
    assert set(cells) == {"sophie@commune.example", "karim@commune.example", "lucas@commune.example",
                          "nadia@ailleurs.example"}
    lucas = cells["lucas@commune.example"]
    assert lucas[header.index("Adresse de contact")] == "lucas.contact@commune.example"
    assert lucas[header.index("Statut du compte")] == "En cours d'activation"
    assert lucas[header.index("Rôle")] == "Utilisateur simple"
    assert lucas[header.index("Statut du rattachement")] == "Validé"
    assert lucas[header.index("Identifiant de la structure")] == world.a.identifier
    assert lucas[header.index("Désignation de la structure")] == 'Commune; de "Saint"-Exemple'  # quotes, `;` kept
    assert cells["nadia@ailleurs.example"][header.index("Statut du rattachement")] == "En cours de validation"
    assert "Zoé" not in response.get_data(as_text=True)


def test_cells_a_spreadsheet_would_run_are_neutralised(app, world):
    nadia = next(r for r in table(client_as(app, "sophie@commune.example").get(URL)) if "nadia@" in ",".join(r))
    assert "'=HYPERLINK(\"http://x\";\"y\")" in nadia


@pytest.mark.parametrize("value", ["=1+1", "+33 6 00", "-2", "@SUM(A1)", "\tx", "\rx", "\uff1d1", "\uff0b1",
                                   "\uff0d1", "\uff201", " =1+1", "\u00a0 @SUM(A1)", "\u3000\uff1d1"])
def test_every_formula_start_is_neutralised(value):
    from plugins.csv_export.writer import cell

    assert cell(value) == "'" + value
    assert cell("Dupont") == "Dupont" and cell("") == "" and cell(None) == ""
    assert cell(" Dupont") == " Dupont" and cell("  ") == "  "  # blanks alone start no formula


def test_quotes_separators_and_newlines_survive_a_round_trip():
    from plugins.csv_export.writer import lines

    values = ['a "quoted" word', "semi;colon", "two\r\nlines", "Éloïse Œuvre"]
    text = b"".join(lines(["x"] * 4, [values])).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text, newline=""), delimiter=";")) == [["x"] * 4, values]


def test_the_export_has_exactly_the_rows_of_the_search(app, world):
    client = client_as(app, "sophie@commune.example")
    for criteria, expected in (({"nom": "garnier"}, 1), ({"statut": "pending"}, 1), ({"designation": "bravo"}, 0),
                               ({"prenom": "k", "tri": "adresse", "ordre": "desc"}, 1), ({}, 4)):
        screen = page(client.get(SEARCH, query_string=criteria))
        rows = table(client.get(URL, query_string=criteria))[1:]
        assert len(rows) == expected == screen.count('name="ids" value='), criteria
    # The search screen links its results' export with its criteria.
    assert f'href="{URL}?nom=garnier"' in page(client.get(SEARCH, query_string={"nom": "garnier"}))


def test_the_export_keeps_the_screens_order(app, world):
    client = client_as(app, "sophie@commune.example")
    rows = table(client.get(URL, query_string={"tri": "nom", "ordre": "desc"}))
    names = [r[rows[0].index("Nom")] for r in rows[1:]]
    assert names == ["Lemoine", "Garnier", "Benali", "'=HYPERLINK(\"http://x\";\"y\")"]


def test_the_results_export_link_follows_the_criteria_and_sort_as_htmx_refreshes_them(app, world):
    """The link "Exporter les résultats de la recherche" is refreshed with the results (an htmx search replaces the
    results alone), and keeps the sort: the export has the screen's rows in the screen's order."""
    client = client_as(app, "sophie@commune.example")
    criteria = {"nom": "e", "tri": "adresse", "ordre": "desc"}
    fragment = page(client.get(SEARCH, query_string=criteria,
                               headers={"HX-Request": "true", "HX-Target": "utilisateurs-resultats"}))
    assert "<h1>" not in fragment
    link = f'href="{URL}?nom=e&tri=adresse&ordre=desc"'
    assert link in fragment and link in page(client.get(SEARCH, query_string=criteria))
    rows = table(client.get(URL, query_string=criteria))
    exported = [r[rows[0].index("Adresse de connexion")] for r in rows[1:]]
    assert exported == ["sophie@commune.example", "nadia@ailleurs.example", "lucas@commune.example",
                        "karim@commune.example"]
    shown = page(client.get(SEARCH, query_string=criteria))
    assert sorted(exported, key=shown.index) == exported  # the screen's order too


def test_the_selection_is_exported_in_the_order_of_the_search_it_was_ticked_in(app, world):
    client = client_as(app, "sophie@commune.example")
    chosen = [membership_id(world.lucas, world.a), membership_id(world.karim, world.a),
              membership_id(world.sophie, world.a)]
    rows = table(client.post(URL, data={"ids": chosen, "retour": "tri=prenom&ordre=desc&page=1"}))
    assert [r[rows[0].index("Prénom")] for r in rows[1:]] == ["Sophie", "Lucas", "Karim"]
    rows = table(client.post(URL, data={"ids": chosen, "retour": "tri=inconnu"}))  # unknown: by name
    assert [r[rows[0].index("Nom")] for r in rows[1:]] == ["Benali", "Garnier", "Lemoine"]


def test_the_selected_users_are_exported_and_a_foreign_id_is_refused(app, world):
    client = client_as(app, "sophie@commune.example")
    chosen = [membership_id(world.lucas, world.a), membership_id(world.karim, world.a)]
    rows = table(client.post(URL, data={"ids": chosen}))
    assert [r[rows[0].index("Nom")] for r in rows[1:]] == ["Benali", "Garnier"]  # the screen's order
    zoe = membership_id(world.zoe, world.b)
    assert client.post(URL, data={"ids": [*chosen, zoe]}).status_code == 404
    nothing = client.post(URL, data={"ids": []}, follow_redirects=True)
    assert "Cochez au moins un utilisateur" in page(nothing)


def test_plain_members_export_nothing(app, world):
    client = client_as(app, "zoe@boulangerie.example")
    assert client.get(URL).status_code == 403
    assert client.post(URL, data={"ids": [membership_id(world.zoe, world.b)]}).status_code == 403


def test_the_export_buttons_are_on_the_dashboard_and_the_search(app, world):
    client = client_as(app, "sophie@commune.example")
    assert "Exporter utilisateurs" in page(client.get("/gestionnaire/"))
    search = page(client.get(SEARCH))
    assert "Exporter utilisateurs" in search and "Exporter la sélection" in search


def test_switched_off_the_search_works_without_export(make_app, accounts):
    app = make_app(DISABLED_PLUGINS=disabled_plugins("plugins.csv_export"))
    with app.app_context():
        sophie = accounts.create("sophie@commune.example", last_name="Lemoine")
        make_structure(sophie, "Commune")
        client = client_as(app, "sophie@commune.example")
        search = page(client.get(SEARCH))
        assert "Lemoine" in search
        assert "Exporter" not in search and "Exporter" not in page(client.get("/gestionnaire/"))
        assert client.get(URL).status_code == 404


class ExtraColumn:
    """Another module's export columns (core list "user_export"): a plain one and a list-valued one."""

    @hookimpl
    def list_columns(self, name, context):
        from chorus.lists import Column

        if name != "user_export":
            return None
        return [Column("badge", "Badge", lambda ids: {i: f"B{i}" for i in ids}, order=200),
                Column("espaces", "Espaces", lambda ids: {i: ["Factures reçues", "Sollicitations"] for i in ids[:1]},
                       order=210)]


def test_other_modules_add_columns_and_a_list_makes_one_line_per_item(make_app, accounts):
    app = make_app(EXTRA_PLUGINS=[ExtraColumn()])
    with app.app_context():
        sophie = accounts.create("sophie@commune.example", last_name="Lemoine")
        commune = make_structure(sophie, "Commune")
        attach(commune, accounts.create("karim@commune.example", last_name="Benali"))
        rows = table(client_as(app, "sophie@commune.example").get(URL))
    header, body = rows[0], rows[1:]
    assert header[-2:] == ["Badge", "Espaces"]
    # Benali (first in the screen's order) has two spaces: two lines; Lemoine one line with an empty cell.
    assert [(r[header.index("Nom")], r[-1]) for r in body] == [
        ("Benali", "Factures reçues"), ("Benali", "Sollicitations"), ("Lemoine", "")]
    assert all(r[-2].startswith("B") for r in body)


def test_the_export_is_streamed_in_blocks(app, world):
    """Bounded memory (QUALITY.md): the body comes in blocks as rows are read, not as one string."""
    from helpers import many_requests

    many_requests(world.a, 3000, tag="foule")
    response = client_as(app, "sophie@commune.example").get(URL)
    blocks = list(response.response)
    assert len(blocks) > 3 and max(len(b) for b in blocks) < 128 * 1024
    assert b"".join(blocks).count(b"\r\n") == 1 + 4 + 3000


def test_the_lines_are_those_csv_writer_writes_whatever_the_cells():
    """The writer joins plain rows itself (writer._csv_text): every batch it cannot prove plain goes to csv.writer,
    so the file is byte for byte csv.writer's, quoting and all, wherever the odd cell falls."""
    from plugins.csv_export import writer

    odd = ['a "quoted" word', "semi;colon", "two\r\nlines", "cr\ronly", "lf\nonly", None, 42, ""]
    plain = ["Dupont", "Éloïse", "", "x@exemple.fr"]
    rows = [list(plain) for _ in range(10 * writer.BATCH + 7)]
    for n, value in enumerate(odd):  # one odd cell alone in each of the first 8 batches, none in the next two
        rows[n * writer.BATCH + n][n % 4] = value
    rows.append([""])  # a lone empty cell: csv.writer quotes it
    reference = io.StringIO()
    csv.writer(reference, delimiter=";", lineterminator="\r\n").writerows([["h"] * 4, *rows])
    assert b"".join(writer.lines(["h"] * 4, [list(r) for r in rows], text=[])) == \
        (writer.BOM + reference.getvalue()).encode("utf-8")


@pytest.mark.parametrize("value", ["=1+1", "+33 6 00", "-2", "@SUM(A1)", "\tx", "\rx", "\nx", "\uff1d1", "\uff0b1",
                                   "\uff0d1", "\uff201", " =1+1", "\u00a0-2"])
def test_a_formula_in_any_row_of_a_typed_column_is_neutralised(value):
    """lines() looks at the typed columns (`text`) a batch at once: the formula is found wherever it falls."""
    from plugins.csv_export import writer

    rows = [["Dupont", "=x", "Jean"] for _ in range(2 * writer.BATCH + 3)]
    rows[writer.BATCH + 7][2] = value
    rows[-1][2] = value
    out = b"".join(writer.lines(["a", "b", "c"], rows, text=[0, 2])).decode("utf-8-sig")
    read = list(csv.reader(io.StringIO(out, newline=""), delimiter=";"))[1:]
    assert [r[2] for r in read if r[2] != "Jean"] == ["'" + value] * 2
    assert {r[1] for r in read} == {"=x"}  # not a typed column: as it is


def test_a_large_export_has_the_same_bytes_as_a_small_one(app, world, monkeypatch):
    """Above people.LARGE rows the statement is planned another way (SQLite: the users' name index; PostgreSQL:
    the manager's structures as an array of ids): the same file, with or without search criteria."""
    from chorus.memberships import people

    client = client_as(app, "sophie@commune.example")
    queries = ["", "?nom=garnier", "?statut=active&designation=commune"]
    before = [client.get(URL + q).get_data() for q in queries]
    assert all(b.count(b"\r\n") > 1 for b in before[:2])
    monkeypatch.setattr(people, "LARGE", 0)
    assert [client.get(URL + q).get_data() for q in queries] == before


def test_the_read_ahead_hands_every_row_in_order_and_ends_with_its_reader(app, world, monkeypatch):
    """PostgreSQL reads the export's statement in another thread, on a connection of its own, CHUNK rows at a
    time: the same rows in the same order; closed early (a download cancelled), the thread and its connection end;
    an error of the reading thread is raised in the writing one."""
    import threading

    from sqlalchemy import text

    from plugins.csv_export import views

    monkeypatch.setattr(views, "CHUNK", 2)
    stmt = select(Membership.id, Membership.user_id).order_by(Membership.id)
    with app.app_context():
        expected = [tuple(r) for r in db.session.execute(stmt)]
        chunks = list(views._read_ahead(stmt))
        assert len(expected) > 4 and [len(c) for c in chunks] == [2] * (len(expected) // 2) + [len(expected) % 2] * (
            len(expected) % 2)
        assert [tuple(r) for c in chunks for r in c] == expected
        reading = views._read_ahead(stmt)
        next(reading)
        reading.close()
        assert not [t for t in threading.enumerate() if t.name == "csv-export-read-ahead"]
        with pytest.raises(Exception, match="no_such_table"):
            list(views._read_ahead(select(text("1")).select_from(text("no_such_table"))))
