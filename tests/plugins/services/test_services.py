"""The services module (SPEC SRV-1..8, STR-6, STR-7): rules in the service layer, and the screens."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from chorus import clock
from chorus.database import transaction
from chorus.extensions import db
from chorus.history.models import HistoryEntry
from chorus.structures import services as structures
from chorus.structures.services import StructureError
from helpers import attach, disabled_plugins, fresh, make_structure, page
from plugins.services import services
from plugins.services.models import Service
from plugins.services.services import ServiceData, ServiceError

HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(app, accounts):
    manager = accounts.create("sophie@commune.example", first_name="Sophie", last_name="Lemoine")
    member = accounts.create("lucas@commune.example", first_name="Lucas", last_name="Garnier")
    outsider = accounts.create("nina@ailleurs.example", first_name="Nina", last_name="Durand")
    structure = make_structure(manager, "Commune de Saint-Exemple")
    elsewhere = make_structure(outsider, "Atelier Durand")
    attach(structure, member)
    return type("World", (), {"manager": manager, "member": member, "outsider": outsider, "structure": structure,
                              "elsewhere": elsewhere})


def _client(app, accounts, email):
    client = app.test_client()
    accounts.login(client, email)
    return client


def _codes(structure_id):
    fresh()
    return db.session.execute(select(Service.code).where(Service.structure_id == structure_id)
                              .order_by(Service.id)).scalars().all()


def _add(world, code="ACHATS", start=None, end=None, **kw):
    return services.create(world.manager, world.structure,
                           ServiceData(code, kw.pop("label", f"Service {code}"), start or services.today(), end, **kw))


# ------------------------------------------------------------------ SRV-3: FACTURES_PUBLIQUES


def test_every_new_structure_has_factures_publiques(world):
    # SPEC SRV-3: created with the structure, in its transaction.
    assert _codes(world.structure.id) == ["FACTURES_PUBLIQUES"]
    assert _codes(world.elsewhere.id) == ["FACTURES_PUBLIQUES"]


def test_factures_publiques_cannot_be_modified_or_deleted_through_the_service_layer(world):
    # SPEC SRV-3
    default = services.of_structure(world.structure.id)
    default = db.session.execute(default).scalars().first()
    assert default.is_default
    with pytest.raises(ServiceError) as refused:
        services.update(world.manager, world.structure, default, ServiceData("AUTRE", "Autre", date(2026, 1, 1)))
    assert refused.value.errors == {"": services.LOCKED}
    with pytest.raises(ServiceError):
        services.delete_many(world.manager, world.structure, [default.id])
    assert _codes(world.structure.id) == ["FACTURES_PUBLIQUES"]


def test_factures_publiques_cannot_be_modified_or_deleted_through_the_web(app, accounts, world):
    # SPEC SRV-3
    default_id = db.session.execute(select(Service.id).where(Service.structure_id == world.structure.id)).scalar_one()
    client = _client(app, accounts, "sophie@commune.example")
    base = f"/structures/{world.structure.id}/services"
    listing = page(client.get(base))
    assert f'value="{default_id}"' not in listing  # no checkbox
    edit = page(client.get(f"{base}/{default_id}/modifier"))
    assert services.LOCKED in edit and 'name="code"' not in edit
    posted = client.post(f"{base}/{default_id}/modifier", data={"code": "PIRATE", "label": "x",
                                                                "start_date": "2026-01-01"})
    assert posted.status_code == 403
    for data in ({"ids": [str(default_id)]}, {"ids": [str(default_id)], "confirme": "oui"}):
        deleted = client.post(f"{base}/supprimer", data=data)
        assert deleted.status_code == 303  # no confirmation step offered for it
        assert services.LOCKED in page(client.get(deleted.headers["Location"]))
    assert _codes(world.structure.id) == ["FACTURES_PUBLIQUES"]


def test_the_migration_gives_existing_structures_their_factures_publiques(make_app, accounts):
    # SPEC SRV-3, for the structures made before the module: its data migration.
    from chorus import migrations

    application = make_app(DISABLED_PLUGINS=disabled_plugins())
    with application.app_context():
        owner = accounts.create()
        structure = make_structure(owner, "Ancienne structure")
        migrations.downgrade("services@base")
        migrations.upgrade()
        fresh()
        rows = db.session.execute(select(Service).where(Service.structure_id == structure.id)).scalars().all()
        assert [(s.code, s.is_default, s.start_date) for s in rows] == [
            ("FACTURES_PUBLIQUES", True, structure.created_at.date())]


# ------------------------------------------------------------------ SRV-1, SRV-2


def test_a_service_keeps_its_fields_and_its_dates_set_by_the_system(world, travel):
    # SPEC SRV-1
    service = _add(world, "ACHATS", label="Achats", description="Service des achats", end=date(2099, 1, 1),
                   engagement_required=True)
    created = service.created_at
    fresh()
    service = db.session.get(Service, service.id)
    assert (service.code, service.label, service.description, service.end_date, service.engagement_required) == (
        "ACHATS", "Achats", "Service des achats", date(2099, 1, 1), True)
    travel(days=2)
    services.update(world.manager, world.structure, service, ServiceData("ACHATS", "Achats publics",
                                                                          service.start_date, None))
    fresh()
    service = db.session.get(Service, service.id)
    assert service.created_at == created and service.updated_at > created + timedelta(days=1)
    assert service.end_date is None


@pytest.mark.parametrize("code, label, field", [("C" * 101, "Libellé", "code"), ("CODE", "L" * 101, "label"),
                                                ("", "Libellé", "code"), ("CODE", "  ", "label")])
def test_code_and_label_are_required_and_at_most_100_characters(world, code, label, field):
    # SPEC SRV-2
    with pytest.raises(ServiceError) as refused:
        _add(world, code, label=label)
    assert field in refused.value.errors
    _add(world, "C" * 100, label="L" * 100)  # exactly 100: accepted


def test_the_validity_start_is_required_and_the_end_not_before_it(world):
    # SPEC SRV-1
    with pytest.raises(ServiceError) as refused:
        services.create(world.manager, world.structure, ServiceData("A", "A", None))
    assert refused.value.errors == {"start_date": "La date de début de validité est obligatoire."}
    with pytest.raises(ServiceError) as refused:
        _add(world, "B", start=date(2026, 5, 2), end=date(2026, 5, 1))
    assert "end_date" in refused.value.errors


def test_a_code_is_unique_within_a_structure_whatever_its_case_and_spaces(world):
    # SPEC SRV-2
    _add(world, "Achats")
    for same in ("ACHATS", " achats ", "ａｃｈａｔｓ"):
        with pytest.raises(ServiceError) as refused:
            _add(world, same)
        assert refused.value.errors == {"code": "Un service de cette structure a déjà ce code."}
    # The same code on another structure is fine.
    services.create(world.outsider, world.elsewhere, ServiceData("ACHATS", "Achats", services.today()))
    assert _codes(world.elsewhere.id) == ["FACTURES_PUBLIQUES", "ACHATS"]


def test_the_database_itself_refuses_a_second_code(world):
    # SPEC SRV-2, enforced by the unique index (structure_id, code_key), not only by the service's check.
    now = clock.now()
    with pytest.raises(IntegrityError):
        with transaction():
            db.session.add(Service(structure_id=world.structure.id, code="factures_publiques",
                                   code_key="factures_publiques", label="x", description="", start_date=now.date(),
                                   engagement_required=False, is_default=False, created_at=now, updated_at=now))


def test_modifying_a_service_to_another_ones_code_is_refused(world):
    _add(world, "ACHATS")
    voirie = _add(world, "VOIRIE")
    with pytest.raises(ServiceError):
        services.update(world.manager, world.structure, voirie, ServiceData("achats", "x", voirie.start_date))


def test_only_managers_manage_services(world):
    # SPEC STR-4 through structure.edit: a member sees, does not manage; an outsider does not even see.
    from chorus.permissions import Denied

    with pytest.raises(Denied) as member:
        services.create(world.member, world.structure, ServiceData("X", "X", services.today()))
    assert member.value.hidden is False
    with pytest.raises(Denied) as outsider:
        services.create(world.outsider, world.structure, ServiceData("X", "X", services.today()))
    assert outsider.value.hidden is True


# ------------------------------------------------------------------ SRV-4: status from the dates


def test_status_follows_the_validity_dates_in_the_applications_clock(world, travel):
    # SPEC SRV-4: active from its start date to its end date, both included; no job at midnight.
    today = services.today()
    starts_today = _add(world, "AUJOURDHUI", start=today)
    starts_tomorrow = _add(world, "DEMAIN", start=today + timedelta(days=1))
    ended_yesterday = _add(world, "HIER", start=today - timedelta(days=10), end=today - timedelta(days=1))
    ends_today = _add(world, "FINIT", start=today - timedelta(days=10), end=today)
    no_end = _add(world, "TOUJOURS", start=today - timedelta(days=400))

    def active():
        return [s.code for s in services.active_services(world.structure.id)]

    assert set(active()) == {"FACTURES_PUBLIQUES", "AUJOURDHUI", "FINIT", "TOUJOURS"}
    assert starts_today.is_active_on(today) and not starts_tomorrow.is_active_on(today)
    assert not ended_yesterday.is_active_on(today) and ends_today.is_active_on(today) and no_end.is_active_on(today)
    travel(days=1)
    assert set(active()) == {"FACTURES_PUBLIQUES", "AUJOURDHUI", "DEMAIN", "TOUJOURS"}


# ------------------------------------------------------------------ STR-7


def test_service_code_required_is_refused_without_a_service_of_ones_own(world):
    # SPEC STR-7
    with pytest.raises(StructureError) as refused:
        structures.update(world.manager, world.structure, {"service_code_required": True})
    assert refused.value.errors == {"service_code_required": services.STR_7_REFUSED}
    _add(world, "ACHATS")
    saved = structures.update(world.manager, world.structure, {"service_code_required": True})
    assert saved.changes == {"service_code_required": (False, True)} and saved.warnings == []


def test_service_code_required_warns_when_no_service_of_ones_own_is_active(world):
    # SPEC STR-7 (beyond): saved, but no supplier could comply.
    _add(world, "PLUS_TARD", start=services.today() + timedelta(days=30))
    saved = structures.update(world.manager, world.structure, {"service_code_required": True})
    assert [w.message for w in saved.warnings] == [services.STR_7_WARNING]


def test_the_last_service_of_ones_own_stays_while_the_code_is_required(world):
    # SPEC STR-7 holds after the record is saved: deleting every service of one's own is refused meanwhile.
    a, b = _add(world, "ACHATS"), _add(world, "VOIRIE")
    structures.update(world.manager, world.structure, {"service_code_required": True})
    with pytest.raises(ServiceError) as refused:
        services.delete_many(world.manager, world.structure, [a.id, b.id])
    assert refused.value.errors == {"": services.STR_7_LAST}
    assert services.delete_many(world.manager, world.structure, [a.id]) == 1  # one is left: fine
    structures.update(world.manager, world.structure, {"service_code_required": False})
    assert services.delete_many(world.manager, world.structure, [b.id]) == 1


def test_service_code_required_through_the_record_form(app, accounts, world):
    # SPEC STR-7 on the web: refused next to the field.
    client = _client(app, accounts, "sophie@commune.example")
    response = client.post(f"/structures/{world.structure.id}/modifier/parametres",
                           data={"service_code_required": "y"})
    assert response.status_code == 422 and services.STR_7_REFUSED in page(response)


# ------------------------------------------------------------------ SRV-7, STR-6: the supplier's check


def test_check_service_code(world):
    # SPEC SRV-7 and STR-6 (b, c, d), and the service's own "engagement obligatoire" (SRV-1).
    s = world.structure
    today = services.today()
    _add(world, "ACHATS")
    _add(world, "ENGAGE", engagement_required=True)
    _add(world, "FERME", start=today - timedelta(days=5), end=today - timedelta(days=1))
    check = services.check_service_code
    assert check(s, "", "") == []  # nothing required
    assert check(s, " achats ", "") == []
    assert check(s, "INCONNU", "") == ["Le code service « INCONNU » n'existe pas sur la structure "
                                       "Commune de Saint-Exemple."]
    assert check(s, "FERME", "") == ["Le service « FERME » n'est pas actif aujourd'hui sur la structure "
                                     "Commune de Saint-Exemple."]
    assert check(s, "ENGAGE", "") == ["Le numéro d'engagement est obligatoire pour le service « ENGAGE »."]
    assert check(s, "ENGAGE", "EJ-1") == []
    structures.update(world.manager, s, {"service_code_required": True})
    assert check(s, "", "EJ-1") == ["Le code service doit être renseigné : cette structure l'exige de ses "
                                    "fournisseurs."]
    structures.update(world.manager, s, {"service_code_required": False, "engagement_required": True})
    assert check(s, "ACHATS", "") == ["Le numéro d'engagement doit être renseigné : cette structure l'exige de ses "
                                      "fournisseurs."]
    structures.update(world.manager, s, {"engagement_required": False, "engagement_or_service_required": True})
    assert check(s, "", "") == ["Le numéro d'engagement ou le code service est obligatoire pour cette structure."]
    assert check(s, "", "EJ-1") == [] and check(s, "ACHATS", "") == []


def test_the_suppliers_page_shows_requirements_and_active_codes_and_checks_a_pair(app, accounts, world):
    # SPEC SRV-8: anyone logged in finds a public structure by its identifier and sees its active service codes.
    private = world.elsewhere.identifier
    with transaction():
        db.session.get(type(world.structure), world.structure.id).kind = "public"
    today = services.today()
    _add(world, "ACHATS", label="Achats")
    _add(world, "FERME", start=today - timedelta(days=5), end=today - timedelta(days=1))
    structures.update(world.manager, world.structure, {"service_code_required": True})
    client = _client(app, accounts, "nina@ailleurs.example")  # not a member of the structure
    url = f"/fournisseurs/structure?identifier_type=SIRET&identifier={world.structure.identifier}"
    for headers in ({}, HTMX):
        response = client.get(url, headers=headers)
        html = page(response)
        assert response.status_code == 200 and ("<html" in html) == (headers == {})
        assert "Commune de Saint-Exemple" in html and "ACHATS" in html and "FERME" not in html
        assert "Le code service doit être renseigné par le fournisseur</dt><dd>Oui" in html
    bad = page(client.get(url + "&code=FERME&engagement=&verifier=1"))
    assert "Une facture avec ces valeurs serait refusée" in bad and "n'est pas actif aujourd'hui" in bad
    good = page(client.get(url + "&code=achats&engagement=&verifier=1"))
    assert "Ces valeurs conviennent" in good
    for identifier in ("12345678901234", private):  # a private structure answers as an unknown one
        unknown = client.get(f"/fournisseurs/structure?identifier_type=SIRET&identifier={identifier}")
        assert unknown.status_code == 422 and "Aucune structure publique active n'a cet identifiant." in page(unknown)
    odd_type = client.get(f"/fournisseurs/structure?identifier_type=xx&identifier={private}")
    assert odd_type.status_code == 422


# ------------------------------------------------------------------ SRV-5, SRV-6: the screens


def test_the_record_shows_the_services_block_to_its_users(app, accounts, world):
    _add(world, "ACHATS", label="Achats")
    member = _client(app, accounts, "lucas@commune.example")
    record = page(member.get(f"/structures/{world.structure.id}"))
    block = record.split('id="s-services"')[1]
    assert "FACTURES_PUBLIQUES" in block and "ACHATS" in block
    assert "Ajouter des services" not in block and 'name="ids"' not in block  # members see, do not manage
    manager = _client(app, accounts, "sophie@commune.example")
    assert "Ajouter des services" in page(manager.get(f"/structures/{world.structure.id}")).split('id="s-services"')[1]


def test_add_a_service_then_its_page_shows_spaces_and_users(app, accounts, world):
    # SPEC SRV-5 "Valider", SRV-6
    client = _client(app, accounts, "sophie@commune.example")
    url = f"/structures/{world.structure.id}/services/nouveau"
    assert "Valider et créer un autre service" in page(client.get(url))
    response = client.post(url, data={"code": "ACHATS", "label": "Achats", "description": "",
                                      "start_date": services.today().isoformat(), "end_date": "",
                                      "engagement_required": "y", "action": "valider"})
    assert response.status_code == 303
    shown = page(client.get(response.headers["Location"]))
    assert "Service ACHATS" in shown and "Liste des espaces" in shown and "Utilisateurs rattachés au service" in shown
    spaces_on = app.extensions["chorus.plugins"].get_plugin("plugins.spaces") is not None
    assert ("Aucun espace n'est ouvert pour ce service." if spaces_on else "Aucun module d'espaces n'est installé") \
        in shown
    fresh()
    service = db.session.execute(select(Service).where(Service.code == "ACHATS")).scalar_one()
    assert service.engagement_required is True
    entry = db.session.execute(select(HistoryEntry).where(HistoryEntry.action == "service.created")).scalar_one()
    assert entry.summary == "Création du service ACHATS (Achats)" and entry.actor_id == world.manager.id


def test_valider_et_creer_un_autre_service(app, accounts, world):
    # SPEC SRV-5, without htmx (a redirect to an empty form) and with htmx (the empty form in place).
    client = _client(app, accounts, "sophie@commune.example")
    url = f"/structures/{world.structure.id}/services/nouveau"
    data = {"label": "Un", "description": "", "start_date": "2026-01-01", "end_date": "", "action": "autre"}
    plain = client.post(url, data={**data, "code": "UN"})
    assert plain.status_code == 303 and plain.headers["Location"] == url
    assert "Le service UN est créé." in page(client.get(url))
    htmx = client.post(url, data={**data, "code": "DEUX"}, headers=HTMX)
    html = page(htmx)
    assert htmx.status_code == 200 and "<html" not in html and "Le service DEUX est créé." in html
    assert 'name="code" required type="text" value=""' in html or 'value="DEUX"' not in html
    assert _codes(world.structure.id) == ["FACTURES_PUBLIQUES", "UN", "DEUX"]


def test_a_form_with_errors_answers_422_in_french(app, accounts, world):
    _add(world, "ACHATS")
    client = _client(app, accounts, "sophie@commune.example")
    url = f"/structures/{world.structure.id}/services/nouveau"
    for headers in ({}, HTMX):
        response = client.post(url, data={"code": "achats", "label": "", "start_date": "pas une date",
                                          "action": "valider"}, headers=headers)
        html = page(response)
        assert response.status_code == 422
        assert "Le champ « Libellé » est obligatoire." in html
    response = client.post(url, data={"code": " achats ", "label": "x", "start_date": "2026-01-01"})
    assert response.status_code == 422 and "Un service de cette structure a déjà ce code." in page(response)


def test_modify_a_service_records_before_and_after(app, accounts, world):
    # SPEC SRV-5; history of modifications (HIS).
    service = _add(world, "ACHATS", label="Achats")
    client = _client(app, accounts, "sophie@commune.example")
    url = f"/structures/{world.structure.id}/services/{service.id}/modifier"
    assert 'value="Achats"' in page(client.get(url))
    response = client.post(url, data={"code": "ACHATS", "label": "Achats publics", "description": "",
                                      "start_date": service.start_date.isoformat(), "end_date": ""})
    assert response.status_code == 303
    fresh()
    assert db.session.get(Service, service.id).label == "Achats publics"
    entry = db.session.execute(select(HistoryEntry).where(HistoryEntry.action == "service.updated")).scalar_one()
    assert entry.detail["changes"] == [{"field": "label", "label": "Libellé", "before": "Achats",
                                        "after": "Achats publics"}]
    detail = page(client.get(f"/structures/{world.structure.id}/historique/{entry.id}"))
    assert "Achats publics" in detail


def test_a_service_of_another_structure_is_not_found_here(app, accounts, world):
    other = services.create(world.outsider, world.elsewhere, ServiceData("VENTES", "Ventes", services.today()))
    client = _client(app, accounts, "sophie@commune.example")
    base = f"/structures/{world.structure.id}/services"
    assert client.get(f"{base}/{other.id}").status_code == 404
    assert client.post(f"{base}/{other.id}/modifier", data={"code": "X", "label": "X",
                                                             "start_date": "2026-01-01"}).status_code == 404
    # Deleting: an id of another structure's service is ignored.
    client.post(f"{base}/supprimer", data={"ids": [str(other.id)], "confirme": "oui"})
    assert _codes(world.elsewhere.id) == ["FACTURES_PUBLIQUES", "VENTES"]


def test_delete_several_services_after_a_confirmation(app, accounts, world):
    # SPEC SRV-5: several at once, by checkboxes, confirmed first.
    a, b = _add(world, "A1"), _add(world, "B2")
    _add(world, "C3")
    client = _client(app, accounts, "sophie@commune.example")
    url = f"/structures/{world.structure.id}/services/supprimer"
    for headers in ({}, HTMX):
        confirm = client.post(url, data={"ids": [str(a.id), str(b.id)]}, headers=headers)
        html = page(confirm)
        assert confirm.status_code == 200 and "Confirmer la suppression" in html and 'class="danger"' in html
        assert _codes(world.structure.id) == ["FACTURES_PUBLIQUES", "A1", "B2", "C3"]  # nothing yet
    done = client.post(url, data={"ids": [str(a.id), str(b.id)], "confirme": "oui"})
    assert done.status_code == 303
    assert "2 services supprimés." in page(client.get(done.headers["Location"]))
    assert _codes(world.structure.id) == ["FACTURES_PUBLIQUES", "C3"]
    fresh()
    assert db.session.execute(select(func.count()).where(HistoryEntry.action == "service.deleted")).scalar_one() == 2


def test_the_service_pages_as_pages_and_htmx_fragments(app, accounts, world):
    service = _add(world, "ACHATS")
    client = _client(app, accounts, "sophie@commune.example")
    base = f"/structures/{world.structure.id}/services"
    for url in (base, f"{base}/nouveau", f"{base}/{service.id}", f"{base}/{service.id}/modifier"):
        full, fragment = client.get(url), client.get(url, headers=HTMX)
        assert full.status_code == fragment.status_code == 200, url
        assert "<html" in page(full) and "<html" not in page(fragment) and "<title>" in page(fragment), url
        assert "HX-Request" in full.headers.get("Vary", ""), url


def test_the_list_is_paginated(app, accounts, world):
    from plugins.services.views import PAGE_SIZE

    now = clock.now()
    with transaction():
        db.session.add_all([Service(structure_id=world.structure.id, code=f"S{i:03d}", code_key=f"s{i:03d}",
                                    label="x", description="", start_date=now.date(), engagement_required=False,
                                    is_default=False, created_at=now, updated_at=now) for i in range(PAGE_SIZE + 5)])
    client = _client(app, accounts, "lucas@commune.example")
    first = page(client.get(f"/structures/{world.structure.id}/services"))
    second = page(client.get(f"/structures/{world.structure.id}/services?page=2"))
    assert f"{PAGE_SIZE + 6} services" in first and "Page 1 sur 2" in first
    assert first.count("<tr>") - 1 == PAGE_SIZE and second.count("<tr>") - 1 == 6
    record = page(client.get(f"/structures/{world.structure.id}")).split('id="s-services"')[1]
    # The record's block: FACTURES_PUBLIQUES and the next 19, then a link to the whole list.
    assert f"voir les {PAGE_SIZE + 6} services" in record and "S018" in record and "S019" not in record


def test_switched_off_nothing_of_it_shows(make_app, accounts):
    # CHORUS_DISABLED_PLUGINS=plugins.services: the app starts, no block, no link, no page, and STR-7 falls back
    # on the core's interim refusal.
    application = make_app(DISABLED_PLUGINS=disabled_plugins("plugins.services"))
    with application.app_context():
        owner = accounts.create()
        structure = make_structure(owner, "Sans le module")
        client = application.test_client()
        accounts.login(client)
        record = page(client.get(f"/structures/{structure.id}"))
        assert "FACTURES_PUBLIQUES" not in record and 'id="s-services"' not in record
        assert "Structures destinataires" not in record
        assert client.get("/fournisseurs/structure").status_code == 404
        assert client.get(f"/structures/{structure.id}/services").status_code == 404
        with pytest.raises(StructureError) as refused:
            structures.update(owner, structure, {"service_code_required": True})
        assert refused.value.errors == {"service_code_required": structures.STR_7_INTERIM}


def test_a_service_is_active_on_the_structures_calendar_day(world):
    """SRV-4 "active when its start date is today": at 00:30 in Paris (22:30 UTC) today is the new day."""
    from datetime import UTC, date, datetime

    _add(world, "JUILLET", start=date(2027, 7, 1))
    _add(world, "JUIN", start=date(2027, 6, 1), end=date(2027, 6, 30))
    clock.travel(datetime(2027, 6, 30, 22, 30, tzinfo=UTC) - clock.now())
    assert services.check_service_code(world.structure, "JUILLET", "") == []
    assert services.check_service_code(world.structure, "JUIN", "") == [
        "Le service « JUIN » n'est pas actif aujourd'hui sur la structure Commune de Saint-Exemple."]


def test_a_code_with_a_bidirectional_override_is_refused(world):
    """A service code is shown to suppliers: U+202E would make one code read as another."""
    with pytest.raises(ServiceError, match="caractère de contrôle"):
        _add(world, "X5\u202e21")
