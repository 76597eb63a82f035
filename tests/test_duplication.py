"""The core's change of identifier (SPEC SIR-2..4, STR-9) and the inactive structure's rule (SIR-3), with or without
feature plugins: chorus.structures.duplication and the events flagged `requires_active_structure`."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chorus import events
from chorus.accounts.models import User
from chorus.database import transaction
from chorus.events import EventType, Refused
from chorus.extensions import db
from chorus.history.models import HistoryEntry
from chorus.hookspecs import hookimpl
from chorus.mail.models import OutboxMessage
from chorus.memberships import invitations
from chorus.memberships import services as memberships
from chorus.memberships.models import Membership
from chorus.permissions import Denied
from chorus.structures import duplication
from chorus.structures import services as structures
from chorus.structures.models import Structure
from helpers import PASSWORD, Outbox, attach, fresh, make_structure, new_siret, page

RECORD = {"address_complement_1": "Bâtiment B", "address_complement_2": "2e étage", "phone": "02 97 00 00 00",
          "fax": "02 97 00 00 01", "email": "accueil@atelier.example", "payment_status_not_reported": True,
          "engagement_required": True, "engagement_or_service_required": True,
          # The five columns of STR-9 a change of identifier leaves behind.
          "billing_mandate": True, "pacage_number": "012345678", "social_regime": "Régime général",
          "vat_number": "FR40303265045", "connection_info": "Raccordement EDI, flux 42."}


class Recorder:
    """Sees the events inside their transaction; declares one event that creates something on a structure."""

    def __init__(self):
        self.changes = []

    @hookimpl
    def register_event_types(self):
        return [EventType("essai.created", ("structure_id",), "something made on a structure",
                          requires_active_structure=True),
                EventType("essai.seen", ("structure_id",), "something read on a structure")]

    @hookimpl
    def domain_change(self, event):
        self.changes.append((event.name, dict(event.payload)))


class Veto:
    @hookimpl
    def domain_change(self, event):
        if event.name == "structure.duplicated":
            raise Refused("Copie refusée par le module d'essai.")


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def world(make_app, accounts, recorder):
    """An old structure with a full record, its primary and secondary managers (the secondary is a plain member
    elsewhere), a member, a pending request, a refused one, a removed member and a technical user."""
    application = make_app(EXTRA_PLUGINS=[recorder])
    with application.app_context():
        owner = accounts.create("sophie@atelier.example", first_name="Sophie", last_name="Lemoine")
        second = accounts.create("marc@atelier.example", first_name="Marc", last_name="Dupuis")
        member = accounts.create("lea@atelier.example", first_name="Léa", last_name="Roux")
        requester = accounts.create("lucas@ailleurs.example", first_name="Lucas", last_name="Garnier")
        refused = accounts.create("nina@ailleurs.example", first_name="Nina", last_name="Perrin")
        removed = accounts.create("paul@ailleurs.example", first_name="Paul", last_name="Morel")
        technical = accounts.create("api@atelier.example", last_name="Technique", kind="technical")
        old = make_structure(owner, "Atelier Lemoine", **RECORD)
        elsewhere = make_structure(refused, "Atelier Perrin")
        attach(elsewhere, second, "member")
        attach(old, second, "secondary")
        attach(old, member, "member")
        attach(old, refused, "member", "refused")
        attach(old, removed, "member", "removed")
        attach(old, technical, "member")
        pending = memberships.request_membership(requester, old, comment="Agent comptable")
        yield type("World", (), dict(app=application, owner=owner, second=second, member=member, requester=requester,
                                     refused=refused, technical=technical, old=old, elsewhere=elsewhere,
                                     pending=pending))


def _open(structure_id):
    return db.session.execute(select(Membership).where(Membership.structure_id == structure_id)
                              .order_by(Membership.id)).scalars().all()


def _counts():
    fresh()
    return tuple(db.session.execute(select(func.count()).select_from(m)).scalar_one()
                 for m in (Structure, Membership, HistoryEntry, OutboxMessage))


def test_the_successor_has_every_field_of_the_record_but_the_exceptions(world):
    # SPEC SIR-2, STR-9: field by field; the exceptions take their defaults.
    siret = new_siret()
    new = duplication.duplicate(world.owner, world.old, siret)
    fresh()
    old, new = db.session.get(Structure, world.old.id), db.session.get(Structure, new.id)
    own = {"id", "identifier", "status", "predecessor_id", "created_at", "updated_at"}
    exceptions = {"billing_mandate": False, "pacage_number": "", "social_regime": "", "vat_number": "",
                  "connection_info": ""}
    for column in Structure.__table__.columns:
        name = column.key
        if name in own:
            continue
        if name in exceptions:
            assert getattr(old, name) == RECORD[name], name  # still on the old record (readable)
            assert getattr(new, name) == exceptions[name], name
        else:
            assert getattr(new, name) == getattr(old, name), name
    assert (new.identifier, new.identifier_type, new.status) == (siret, "SIRET", "active")
    assert (old.status, new.predecessor_id) == ("inactive", old.id)  # SIR-3, SIR-4
    assert duplication.successor_of(old.id).id == new.id
    assert new.designation == "Atelier Lemoine" and new.email == "accueil@atelier.example"


def test_memberships_are_copied_with_roles_and_statuses_but_not_the_technical_user(world, recorder):
    new = duplication.duplicate(world.owner, world.old, new_siret())
    fresh()
    copied = {(m.user_id, m.role, m.status, m.comment) for m in _open(new.id)}
    assert copied == {(world.owner.id, "primary", "validated", ""), (world.second.id, "secondary", "validated", ""),
                      (world.member.id, "member", "validated", ""),
                      (world.requester.id, "member", "pending", "Agent comptable")}  # SIR-2; STR-9: no technical user
    # The event names both structures and maps each copied membership.
    [(name, payload)] = [(n, p) for n, p in recorder.changes if n == "structure.duplicated"]
    assert payload["structure_id"] == new.id and payload["source_id"] == world.old.id
    mapping = payload["memberships"]
    for old_id, new_id in mapping.items():
        a, b = db.session.get(Membership, old_id), db.session.get(Membership, new_id)
        assert (a.user_id, a.role, a.created_at, a.start_date) == (b.user_id, b.role, b.created_at, b.start_date)
        assert b.structure_id == new.id
    assert len(mapping) == 4
    # The old structure keeps its members, readable; its pending request goes on with the successor only.
    old_statuses = {m.user_id: m.status for m in _open(world.old.id)}
    assert old_statuses[world.member.id] == "validated" and old_statuses[world.technical.id] == "validated"
    assert old_statuses[world.requester.id] == "cancelled"
    assert "Demande reprise par la structure" in db.session.get(Membership, world.pending.id).decision_reason


def test_both_records_have_their_history_entry(world):
    # SPEC HIS-1 (and STR-10): who did it, on both structures.
    new = duplication.duplicate(world.owner, world.old, new_siret())
    fresh()
    on_old = db.session.execute(select(HistoryEntry).where(HistoryEntry.structure_id == world.old.id,
                                                           HistoryEntry.action == "structure.identifier_changed")
                                ).scalar_one()
    on_new = db.session.execute(select(HistoryEntry).where(HistoryEntry.structure_id == new.id)).scalars().all()
    assert on_old.actor_id == world.owner.id and new.identifier in on_old.summary
    assert [e.action for e in on_new] == ["structure.duplicated"]
    assert world.old.identifier in on_new[0].summary and "mandat de facturation" in on_new[0].summary


@pytest.mark.parametrize("case", ["invalid", "same", "used", "blank"])
def test_the_new_identifier_must_be_valid_another_one_and_unused(world, case):
    identifier = {"invalid": "12345678901234", "same": world.old.identifier, "used": world.elsewhere.identifier,
                  "blank": "  "}[case]
    before = _counts()
    with pytest.raises(Refused) as refused:
        duplication.duplicate(world.owner, world.old, identifier)
    assert "identifier" in refused.value.errors
    assert _counts() == before
    assert db.session.get(Structure, world.old.id).status == "active"


def test_an_inactive_structure_cannot_be_duplicated_again(world):
    duplication.duplicate(world.owner, world.old, new_siret())
    fresh()
    with pytest.raises(Refused, match="inactive"):
        duplication.duplicate(world.owner, db.session.get(Structure, world.old.id), new_siret())


def test_a_failure_in_a_modules_copy_leaves_nothing_done(make_app, accounts):
    # SPEC SIR-2 in one transaction: a module refusing its copy rolls back the structure, history, memberships.
    application = make_app(EXTRA_PLUGINS=[Veto()])
    with application.app_context():
        owner = accounts.create("sophie@atelier.example")
        old = make_structure(owner, "Atelier Lemoine")
        attach(old, accounts.create("lea@atelier.example"), "member")
        before = _counts()
        siret = new_siret()
        with pytest.raises(Refused, match="Copie refusée"):
            duplication.duplicate(owner, old, siret)
        assert _counts() == before
        assert db.session.get(Structure, old.id).status == "active"
        assert db.session.execute(select(Structure).where(Structure.identifier == siret)).first() is None


# ------------------------------------------------------------------ SIR-3: the old structure, frozen but readable


def test_flagged_events_are_refused_on_an_inactive_structure_whichever_module_emits_them(world):
    duplication.duplicate(world.owner, world.old, new_siret())
    fresh()
    with pytest.raises(Refused, match="inactive"):
        with transaction():
            events.emit("essai.created", structure_id=world.old.id)  # a plugin's event, flagged
    with transaction():
        events.emit("essai.seen", structure_id=world.old.id)  # not flagged: goes through
    with transaction():
        events.emit("essai.created", structure_id=world.elsewhere.id)  # an active structure
    for name in ("structure.updated", "membership.requested", "membership.validated", "membership.attached",
                 "membership.invited", "membership.invitation_accepted"):
        assert events.catalogue()[name].requires_active_structure, name
    for name in ("membership.refused", "membership.removed", "membership.expired", "membership.cancelled"):
        assert not events.catalogue()[name].requires_active_structure, name


def test_the_old_structure_refuses_new_members_and_changes(world, accounts):
    duplication.duplicate(world.owner, world.old, new_siret())
    fresh()
    old = db.session.get(Structure, world.old.id)
    newcomer = accounts.create("zoe@ailleurs.example")
    before = _counts()
    with pytest.raises(Refused):
        memberships.request_membership(newcomer, old)
    with pytest.raises(Refused):  # the rule itself, not only the permission: straight to the event
        with transaction():
            events.emit("membership.attached", membership_id=0, user_id=newcomer.id, structure_id=old.id,
                        role="member", spaces=[], extra={})
    with pytest.raises(Denied):  # nobody manages it any more (structure.edit, membership.attach refused)
        invitations.invite(world.owner, old, "zoe@ailleurs.example", role="member")
    with pytest.raises(Denied):
        structures.update(world.owner, old, {"designation": "Autre nom"})
    with pytest.raises(Refused, match="inactive"):  # the rule itself, whoever calls
        with transaction():
            events.emit("structure.updated", structure_id=old.id, block="", changes={}, extra={})
    assert memberships.find_structure("SIRET", old.identifier) is None  # RAT-1: not offered to new requests
    assert _counts() == before


def test_the_old_record_stays_readable_and_both_point_to_each_other(world):
    new = duplication.duplicate(world.owner, world.old, new_siret())
    client = world.app.test_client()
    assert client.post("/connexion", data={"email": "marc@atelier.example", "password": PASSWORD}).status_code == 303
    old_page = client.get(f"/structures/{world.old.id}")
    assert old_page.status_code == 200
    html = page(old_page)
    assert "Structure qui lui succède" in html and new.identifier in html and "est inactive" in html
    assert f'href="/structures/{new.id}"' in html
    assert "Modifier la structure" not in html  # SIR-3: nothing to modify there
    assert client.get(f"/structures/{world.old.id}/modifier").status_code == 403
    assert client.get(f"/structures/{world.old.id}/historique").status_code == 200  # HIS-1 stays readable
    new_page = page(client.get(f"/structures/{new.id}"))
    assert "Structure d'origine" in new_page and world.old.identifier in new_page
    assert f'href="/structures/{world.old.id}"' in new_page and "Modifier la structure" in new_page
    fragment = client.get(f"/structures/{new.id}", headers={"HX-Request": "true"})
    assert "Structure d'origine" in page(fragment) and "<html" not in page(fragment)
    # Both history entries open their detail (HIS-3), and "Mon compte" tells which structure is the inactive one.
    for structure_id in (world.old.id, new.id):
        entry = db.session.execute(select(HistoryEntry.id).where(HistoryEntry.structure_id == structure_id)
                                   .order_by(HistoryEntry.id.desc())).scalars().first()
        detail = client.get(f"/structures/{structure_id}/historique/{entry}")
        assert detail.status_code == 200 and "identifiant" in page(detail)
    account = page(client.get("/mon-compte"))
    assert f"{world.old.identifier} <small>(structure inactive)</small>" in account and new.identifier in account


def test_the_successors_link_is_plain_text_for_someone_who_cannot_open_it(world, accounts):
    # The technical user was not carried; a member removed from the successor still sees the old record.
    new = duplication.duplicate(world.owner, world.old, new_siret())
    fresh()
    copy = db.session.execute(select(Membership).where(Membership.structure_id == new.id,
                                                       Membership.user_id == world.member.id)).scalar_one()
    memberships.remove(world.owner, db.session.get(Structure, new.id), [copy.id])
    client = world.app.test_client()
    assert client.post("/connexion", data={"email": "lea@atelier.example", "password": PASSWORD}).status_code == 303
    html = page(client.get(f"/structures/{world.old.id}"))
    assert new.identifier in html and f'href="/structures/{new.id}"' not in html
    assert client.get(f"/structures/{new.id}").status_code == 404



def test_asking_to_join_by_the_old_identifier_names_the_new_one(world):
    # RAT-1: the old structure is not offered; the person learns the identifier to ask with (SIR-4).
    first = duplication.duplicate(world.owner, world.old, new_siret())
    fresh()
    second = duplication.duplicate(world.owner, db.session.get(Structure, first.id), new_siret())
    client = world.app.test_client()
    assert client.post("/connexion", data={"email": "nina@ailleurs.example", "password": PASSWORD}).status_code == 303
    for old in (world.old.identifier, first.identifier):
        html = page(client.get(f"/mon-compte/rattachements/nouveau?identifier_type=SIRET&identifier={old}"))
        assert f"elle a maintenant l'identifiant {second.identifier}" in html
    html = page(client.get("/mon-compte/rattachements/nouveau?identifier_type=SIRET&identifier=" + new_siret()))
    assert "Aucune structure active n'a cet identifiant." in html
    assert duplication.current_identifier("SIRET", second.identifier) is None


def test_lists_and_pages_agree_that_nobody_manages_the_old_structure(world):
    # can() and allowed() are one rule: "Mes structures" and the attachment list leave it out, as its pages refuse.
    from chorus.permissions import allowed, can

    new = duplication.duplicate(world.owner, world.old, new_siret())
    fresh()
    for actor in (world.owner, world.second):
        managed = set(db.session.execute(select(Structure.id).where(allowed(actor, "structure.edit", Structure)))
                      .scalars())
        assert world.old.id not in managed and new.id in managed
        assert not can(actor, "structure.edit", db.session.get(Structure, world.old.id))
        assert can(actor, "structure.view", db.session.get(Structure, world.old.id))  # still readable
        assert world.old.id in set(db.session.execute(select(Structure.id).where(
            allowed(actor, "structure.view", Structure))).scalars())


def test_an_invitation_not_yet_answered_joins_the_successor(world, accounts):
    # RAT-6: the link mailed before the change still works, and attaches to the structure that goes on.
    invitations.invite(world.owner, world.old, "zoe@ailleurs.example", role="member")
    link = Outbox().link("zoe@ailleurs.example")
    new = duplication.duplicate(world.owner, world.old, new_siret())
    accounts.create("zoe@ailleurs.example", first_name="Zoé", last_name="Zola")
    client = world.app.test_client()
    assert client.post("/connexion", data={"email": "zoe@ailleurs.example", "password": PASSWORD}).status_code == 303
    assert client.post(link, data={"action": "accepter"}).status_code == 303
    fresh()
    joined = db.session.execute(select(Membership.structure_id).where(
        Membership.user_id.in_(select(User.id).where(User.login_email == "zoe@ailleurs.example")))).scalars().all()
    assert joined == [new.id]
