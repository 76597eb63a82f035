"""« Modifier l'identifiant » (SPEC SIR-1..5): the managers' three steps, the e-mails, the modules' copies with each
module on or off, a module's failure, and the directory's changes for local authorities (service and command)."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from chorus.events import Refused
from chorus.extensions import db
from chorus.history.models import HistoryEntry
from chorus.hookspecs import hookimpl
from chorus.mail.models import OutboxMessage
from chorus.memberships.models import Membership
from chorus.structures.models import Structure
from helpers import PASSWORD, attach, contact_address, disabled_plugins, fresh, make_structure, new_siret, page

HTMX = {"HX-Request": "true"}
BUTTON = "Modifier l'identifiant"


class Veto:
    @hookimpl
    def domain_change(self, event):
        if event.name == "structure.duplicated":
            raise Refused("La copie des données d'un module a échoué.")


def _people(accounts):
    return type("People", (), dict(
        owner=accounts.create("sophie@atelier.example", first_name="Sophie", last_name="Lemoine"),
        second=accounts.create("marc@atelier.example", first_name="Marc", last_name="Dupuis"),
        member=accounts.create("lea@atelier.example", first_name="Léa", last_name="Roux"),
        admin=accounts.create("admin@dgfip.example", last_name="Admin", is_admin=True)))


@pytest.fixture
def world(app, accounts):
    """A private structure (primary, secondary, member); another one where its secondary manager is a member."""
    p = _people(accounts)
    structure = make_structure(p.owner, "Atelier Lemoine", vat_number="FR40303265045")
    attach(structure, p.second, "secondary")
    attach(structure, p.member, "member")
    other = make_structure(p.member, "Atelier Roux")
    attach(other, p.second, "member")
    p.structure, p.other = structure, other
    return p


def _client(app, email):
    client = app.test_client()
    assert client.post("/connexion", data={"email": email, "password": PASSWORD}).status_code == 303
    return client


def _counts():
    fresh()
    return tuple(db.session.execute(select(func.count()).select_from(m)).scalar_one()
                 for m in (Structure, Membership, HistoryEntry, OutboxMessage))


def _base(structure):
    return f"/structures/{structure.id}/modifier-identifiant"


def test_the_button_is_for_the_managers_of_an_active_structure(app, world):
    # SPEC SIR-1: on the record, for its primary and secondary managers.
    for email, shown in (("sophie@atelier.example", True), ("marc@atelier.example", True),
                         ("lea@atelier.example", False), ("admin@dgfip.example", False)):
        html = page(_client(app, email).get(f"/structures/{world.structure.id}"))
        assert (BUTTON in html) is shown, email
    assert BUTTON not in page(_client(app, "marc@atelier.example").get(f"/structures/{world.other.id}"))


def test_a_local_authority_changes_through_the_directory_not_the_screen(app, accounts):
    # SPEC SIR-5: the referential does it for local authorities; their managers have no button.
    p = _people(accounts)
    commune = make_structure(p.owner, "Commune de Saint-Exemple", public=True, admin=p.admin, category="collectivite")
    epn = make_structure(p.owner, "Musée national", public=True, admin=p.admin, category="epn")
    client = _client(app, "sophie@atelier.example")
    assert BUTTON not in page(client.get(f"/structures/{commune.id}"))
    assert client.get(_base(commune)).status_code == 403
    assert BUTTON in page(client.get(f"/structures/{epn.id}"))  # other public structures: the same screen


def test_the_three_steps_write_only_at_the_last(app, world, outbox):
    client = _client(app, "marc@atelier.example")  # a secondary manager
    before = _counts()
    for url in (_base(world.structure), _base(world.structure) + "/nouveau"):
        full, fragment = client.get(url), client.get(url, headers=HTMX)
        assert full.status_code == fragment.status_code == 200
        assert "<html" in page(full) and "<html" not in page(fragment) and "<title>" in page(fragment)
    start = page(client.get(_base(world.structure)))
    assert "Continuer" in start and "mandat de facturation" in start
    assert "Identifiant" in page(client.get(_base(world.structure) + "/nouveau"))
    siret = new_siret()
    confirm = client.post(_base(world.structure) + "/nouveau", data={"identifier": siret[:7] + " " + siret[7:]})
    assert confirm.status_code == 200
    html = page(confirm)
    assert "Confirmer le changement d'identifiant" in html and siret in html
    assert "Confirmer le changement d'identifiant" in page(
        client.post(_base(world.structure) + "/nouveau", data={"identifier": siret}, headers=HTMX))
    assert _counts() == before  # nothing written before the last confirmation
    done = client.post(_base(world.structure) + "/confirmer", data={"identifier": siret})
    assert done.status_code == 303
    fresh()
    new = db.session.execute(select(Structure).where(Structure.identifier == siret)).scalar_one()
    assert done.headers["Location"].endswith(f"/structures/{new.id}")
    record = page(client.get(f"/structures/{new.id}"))
    assert "L'identifiant est modifié" in record and "Structure d'origine" in record
    assert world.structure.identifier in record
    assert db.session.get(Structure, world.structure.id).status == "inactive"
    assert new.vat_number == "" and new.designation == "Atelier Lemoine"
    # The old structure: no button any more, and the screen refuses.
    assert BUTTON not in page(client.get(f"/structures/{world.structure.id}"))
    assert client.get(_base(world.structure)).status_code == 403


@pytest.mark.parametrize("case, message", [("invalid", "n'est pas valide"), ("short", "14 chiffres"),
                                           ("used", "existe déjà"), ("same", "structure actuelle"),
                                           ("empty", "obligatoire")])
def test_the_new_siret_is_checked(app, world, case, message):
    identifier = {"invalid": "12345678901234", "short": "1234", "used": world.other.identifier,
                  "same": world.structure.identifier, "empty": ""}[case]
    client = _client(app, "sophie@atelier.example")
    before = _counts()
    for step in ("/nouveau", "/confirmer"):
        response = client.post(_base(world.structure) + step, data={"identifier": identifier})
        assert response.status_code == 422, step
        assert message in page(response) or case == "empty" and step == "/confirmer"
        assert 'name="identifier"' in page(response)  # back to step 2, the field in error
    assert _counts() == before


def test_an_identifier_taken_between_the_steps_is_refused_at_the_last(app, world):
    client = _client(app, "sophie@atelier.example")
    siret = new_siret()
    assert client.post(_base(world.structure) + "/nouveau", data={"identifier": siret}).status_code == 200
    make_structure(world.member, "Concurrent", siret=siret)
    before = _counts()
    response = client.post(_base(world.structure) + "/confirmer", data={"identifier": siret})
    assert response.status_code == 422 and "existe déjà" in page(response)
    assert _counts() == before


def test_only_the_managers_of_that_structure_may_post(app, world):
    # Foreign ids: a structure where the actor is a member (403), one they cannot see (404).
    stranger = make_structure(world.owner, "Atelier Sophie")
    before = _counts()
    marc = _client(app, "marc@atelier.example")
    assert marc.post(_base(world.other) + "/confirmer", data={"identifier": new_siret()}).status_code == 403
    assert marc.post(_base(stranger) + "/confirmer", data={"identifier": new_siret()}).status_code == 404
    assert marc.post(_base(stranger) + "/nouveau", data={"identifier": new_siret()}).status_code == 404
    lea = _client(app, "lea@atelier.example")
    assert lea.post(_base(world.structure) + "/confirmer", data={"identifier": new_siret()}).status_code == 403
    assert _counts() == before


def test_both_structures_managers_are_told_at_their_contact_address(app, world, outbox):
    client = _client(app, "sophie@atelier.example")
    siret = new_siret()
    client.post(_base(world.structure) + "/confirmer", data={"identifier": siret})
    mails = outbox.all()
    assert sorted(m.to_addr for m in mails) == sorted(
        contact_address(e) for e in ("sophie@atelier.example", "marc@atelier.example"))  # not the member
    assert all(siret in m.subject and world.structure.identifier in m.body for m in mails)
    fresh()
    new = db.session.execute(select(Structure).where(Structure.identifier == siret)).scalar_one()
    assert f"/structures/{new.id}" in mails[0].body


def test_a_failure_in_a_modules_copy_leaves_nothing_half_done(make_app, accounts):
    # SPEC SIR-2 and issue P10 (4): no new structure, the old one active, no history, no e-mail.
    application = make_app(EXTRA_PLUGINS=[Veto()])
    with application.app_context():
        p = _people(accounts)
        structure = make_structure(p.owner, "Atelier Lemoine")
        attach(structure, p.second, "secondary")
        before = _counts()
        siret = new_siret()
        response = _client(application, "sophie@atelier.example").post(
            _base(structure) + "/confirmer", data={"identifier": siret})
        assert response.status_code == 422 and "La copie des données d'un module a échoué." in page(response)
        assert _counts() == before
        assert db.session.get(Structure, structure.id).status == "active"


@pytest.mark.parametrize("off", [None, "plugins.services", "plugins.documents"])
def test_each_modules_copy_with_the_others_on_or_off(make_app, accounts, off):
    """The core copies the record and memberships whatever runs; each module on copies its own data."""
    disabled = disabled_plugins(*([off] if off else []))
    application = make_app(DISABLED_PLUGINS=disabled)
    with application.app_context():
        pm = application.extensions["chorus.plugins"]
        services_on, documents_on = (pm.get_plugin(n) is not None for n in ("plugins.services", "plugins.documents"))
        p = _people(accounts)
        structure = make_structure(p.owner, "Atelier Lemoine")
        attach(structure, p.member, "member")
        if services_on:
            from plugins.services import services
            from plugins.services.services import ServiceData

            services.create(p.owner, structure, ServiceData("ACHATS", "Achats", services.today()))
        if documents_on:
            from plugins.documents import services as documents

            documents.add(p.owner, structure, io.BytesIO(b"texte\n"), "note.txt", "Note", "autre")
        from plugins.siret_change import services as siret_change

        new = siret_change.change_identifier(p.owner, structure, new_siret())
        fresh()
        assert db.session.execute(select(func.count()).select_from(Membership).where(
            Membership.structure_id == new.id)).scalar_one() == 2
        if services_on:
            from plugins.services.models import Service

            assert sorted(db.session.execute(select(Service.code).where(Service.structure_id == new.id)).scalars()) \
                == ["ACHATS", "FACTURES_PUBLIQUES"]
        if documents_on:
            from plugins.documents.models import Document

            assert db.session.execute(select(Document.file_name).where(Document.structure_id == new.id)
                                      ).scalars().all() == ["note.txt"]


# ------------------------------------------------------------------ SIR-5: the directory, for local authorities


@pytest.fixture
def communes(app, accounts):
    p = _people(accounts)
    p.a = make_structure(p.owner, "Commune d'Alpha", public=True, admin=p.admin, category="collectivite")
    p.b = make_structure(p.owner, "Commune de Bravo", public=True, admin=p.admin, category="collectivite")
    p.epn = make_structure(p.owner, "Musée national", public=True, admin=p.admin, category="epn")
    return p


def test_the_command_reports_a_modules_veto_and_goes_on_with_the_file(make_app, accounts, tmp_path):
    """SIR-5: a module refusing the copy refuses that pair, said on its line; the next pairs are tried."""
    application = make_app(EXTRA_PLUGINS=[Veto()])
    with application.app_context():
        p = _people(accounts)
        a = make_structure(p.owner, "Commune d'Alpha", public=True, admin=p.admin, category="collectivite")
        b = make_structure(p.owner, "Commune de Bravo", public=True, admin=p.admin, category="collectivite")
        pairs = tmp_path / "pairs.csv"
        pairs.write_text(f"{a.identifier};{new_siret()}\n{b.identifier};{new_siret()}\n")
        result = application.test_cli_runner().invoke(args=["chorus", "change-identifier", "--file", str(pairs)])
        assert "applied: 0, already applied: 0, refused: 2" in result.output, result.output
        assert result.output.count("La copie des données d'un module a échoué.") == 2
        fresh()
        assert db.session.get(Structure, a.id).status == db.session.get(Structure, b.id).status == "active"


def test_the_command_applies_a_file_of_pairs_once(app, communes, tmp_path, outbox):
    new_a, new_b = new_siret(), new_siret()
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"ancien;nouveau\n{communes.a.identifier};{new_a}\n{communes.b.identifier} ; {new_b}\n")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["chorus", "change-identifier", "--file", str(pairs)])
    assert first.exit_code == 0, first.output
    assert "applied: 2, already applied: 0, refused: 0" in first.output
    fresh()
    successors = {s.predecessor_id: s for s in db.session.execute(
        select(Structure).where(Structure.identifier.in_([new_a, new_b]))).scalars()}
    assert set(successors) == {communes.a.id, communes.b.id}
    assert db.session.get(Structure, communes.a.id).status == "inactive"
    entry = db.session.execute(select(HistoryEntry).where(HistoryEntry.structure_id == successors[communes.a.id].id)
                               ).scalar_one()
    assert entry.actor_id is None and entry.action == "structure.duplicated"  # the system, no person
    assert len(outbox.all()) == 2  # the one manager, for each commune
    before = _counts()
    second = runner.invoke(args=["chorus", "change-identifier", "--file", str(pairs)])
    assert second.exit_code == 0, second.output
    assert "applied: 0, already applied: 2, refused: 0" in second.output and "déjà appliqué" in second.output
    assert _counts() == before


def test_the_command_takes_one_pair_and_refuses_what_is_not_a_local_authority(app, communes):
    runner = app.test_cli_runner()
    epn = runner.invoke(args=["chorus", "change-identifier", communes.epn.identifier, new_siret()])
    assert epn.exit_code == 1 and "n'est pas une collectivité locale" in epn.output
    unknown = runner.invoke(args=["chorus", "change-identifier", new_siret(), new_siret()])
    assert unknown.exit_code == 1 and "aucune structure n'a ce SIRET" in unknown.output
    invalid = runner.invoke(args=["chorus", "change-identifier", communes.a.identifier, "123"])
    assert invalid.exit_code == 1 and "14 chiffres" in invalid.output
    fresh()
    assert db.session.get(Structure, communes.a.id).status == "active"
    siret = new_siret()
    done = runner.invoke(args=["chorus", "change-identifier", communes.a.identifier, siret])
    assert done.exit_code == 0 and "applied: 1" in done.output
    usage = runner.invoke(args=["chorus", "change-identifier", communes.a.identifier])
    assert usage.exit_code == 2


def test_two_managers_confirming_at_once_make_one_successor(app, world, outbox):
    # QUALITY.md (business flows): both reached the last step with the structure active; one change is made.
    import threading

    from chorus.accounts.models import User
    from plugins.siret_change import services as siret_change

    barrier = threading.Barrier(2)
    outcomes = []

    def confirm(user_id, siret):
        with app.app_context():
            actor = db.session.get(User, user_id)
            structure = db.session.get(Structure, world.structure.id)
            assert structure.is_active
            barrier.wait()
            try:
                outcomes.append(siret_change.change_identifier(actor, structure, siret).identifier)
            except Refused as e:
                outcomes.append(e.errors)
            db.session.remove()

    threads = [threading.Thread(target=confirm, args=(u.id, new_siret())) for u in (world.owner, world.second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = [o for o in outcomes if isinstance(o, str)]
    assert len(made) == 1 and outcomes != made
    assert [o for o in outcomes if isinstance(o, dict)] == [{"": "Cette structure est inactive : son identifiant a "
                                                                 "déjà été modifié."}]
    fresh()
    assert db.session.execute(select(func.count()).select_from(Structure).where(
        Structure.predecessor_id == world.structure.id)).scalar_one() == 1
    assert len(outbox.all()) == 2  # one change told, once to each manager
