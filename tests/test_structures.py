"""Structures: identifiers, creation, who edits what, and every change in the history (SPEC STR)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chorus.extensions import db
from chorus.history.models import HistoryEntry
from chorus.memberships.models import Membership
from chorus.structures import services
from chorus.structures.identifiers import make_siret, normalize, problem
from chorus.structures.models import Structure
from helpers import attach, fresh, make_structure, new_siret, page

HX = {"HX-Request": "true"}


def create_form(**fields):
    data = {"identifier_type": "SIRET", "identifier": new_siret(), "designation": "Menuiserie Leroy",
            "address": "4 impasse des Chênes", "address_complement_1": "", "address_complement_2": "",
            "postal_code": "29000", "city": "Quimper", "country_code": "FR", "phone": "", "fax": "", "email": ""}
    data.update(fields)
    return data


# ------------------------------------------------------------------ identifiers (SPEC STR-1)


@pytest.mark.parametrize("id_type,value,expected", [
    ("SIRET", "732 829 320 00074", None),
    ("SIRET", "73282932000075", "clé de contrôle incorrecte"),
    ("SIRET", "7328293200007", "exactement 14 chiffres"),
    ("SIRET", "35600000000048", None),  # La Poste: not Luhn-valid, yet a real SIRET
    ("SIRET", "3560000000004X", "exactement 14 chiffres"),
    ("UE_HORS_FRANCE", "BE 0403.170.701", None),
    ("UE_HORS_FRANCE", "BE0403170702", "TVA intracommunautaire valide"),
    ("UE_HORS_FRANCE", "FR40303265045", "par son SIRET"),
    ("RIDET", "1234567.001", None),
    ("TAHITI", "A12345001", None),
    ("TAHITI", "A1234500", "6 caractères suivis de 3 chiffres"),
    ("HORS_UE", "US-12-3456789", None),
    ("PARTICULIER", "", "obligatoire"),
    ("AUTRE", "<script>", "ne peut contenir que"),
])
def test_identifier_rules(app, id_type, value, expected):
    message = problem(id_type, normalize(id_type, value))
    if expected is None:
        assert message is None
    else:
        assert expected in message


def test_a_structure_is_unique_by_identifier_type_and_identifier(logged_in):
    siret = new_siret()
    assert logged_in.post("/structures/nouvelle", data=create_form(identifier=siret)).status_code == 303
    again = logged_in.post("/structures/nouvelle", data=create_form(identifier=" ".join([siret[:9], siret[9:]])))
    assert again.status_code == 422
    assert "Une structure existe déjà avec cet identifiant." in page(again)
    fresh()
    assert len(Structure.query.all()) == 1


# ------------------------------------------------------------------ creation (SPEC STR-2, STR-3)


def test_a_private_structure_makes_its_creator_primary_manager(logged_in):
    response = logged_in.post("/structures/nouvelle", data=create_form(identifier="732 829 320 00074"))
    assert response.status_code == 303
    fresh()
    structure = Structure.query.one()
    assert response.headers["Location"] == f"/structures/{structure.id}"
    assert (structure.kind, structure.identifier, structure.category) == ("private", "73282932000074", None)
    membership = Membership.query.one()
    assert (membership.user_id, membership.role, membership.status) == (logged_in.user.id, "primary", "validated")
    html = page(logged_in.get("/mon-compte"))
    assert "Menuiserie Leroy" in html and "Gestionnaire principal" in html  # SPEC ACC-5
    assert ">Activités du gestionnaire</a>" in html  # SPEC ESP-2: the new manager's space
    entry = HistoryEntry.query.one()
    assert entry.action == "structure.created" and entry.actor_id == logged_in.user.id


def test_public_structures_are_created_by_platform_administrators_only(client, accounts):
    manager = accounts.create("maire@commune.example")
    accounts.create("admin@dgfip.example", is_admin=True)
    form = create_form(category="collectivite", primary_manager="maire@commune.example")
    accounts.login(client, "maire@commune.example")
    assert client.post("/administration/structures/nouvelle", data=form).status_code == 403
    fresh()
    assert Structure.query.count() == 0

    accounts.login(client, "admin@dgfip.example")
    response = client.post("/administration/structures/nouvelle", data=form)
    assert response.status_code == 303
    fresh()
    structure = Structure.query.one()
    assert (structure.kind, structure.category, structure.edi_can_receive) == ("public", "collectivite", True)
    assert Membership.query.one().user_id == manager.id  # named primary manager
    assert "Collectivité locale" in page(client.get(response.headers["Location"]))


def test_public_structure_needs_an_existing_primary_manager_and_a_siret(client, accounts):
    accounts.create("admin@dgfip.example", is_admin=True)
    accounts.login(client, "admin@dgfip.example")
    response = client.post("/administration/structures/nouvelle", data=create_form(
        category="etat", primary_manager="personne@nulle.part"))
    assert response.status_code == 422 and "Aucun compte utilisateur" in page(response)
    response = client.post("/administration/structures/nouvelle", data=create_form(
        category="etat", primary_manager="admin@dgfip.example", identifier_type="HORS_UE", identifier="ABC123"))
    assert response.status_code == 422 and "s'identifie par son SIRET" in page(response)


@pytest.mark.parametrize("field,value,message", [
    ("designation", "", "Le champ « Raison sociale » est obligatoire."),
    ("address", "", "Le champ « Adresse » est obligatoire."),
    ("address", "1 rue\r\nX", "retour à la ligne"),
    ("identifier_type", "INCONNU", "choix"),
    ("country_code", "XX", "choix valide"),
    ("email", "pas une adresse", "adresse électronique valide"),
])
def test_creation_errors_are_french_and_next_to_their_field(logged_in, field, value, message):
    response = logged_in.post("/structures/nouvelle", data=create_form(**{field: value}))
    assert response.status_code == 422
    html = page(response)
    assert f'id="{field}-error"' in html and message in html


# ------------------------------------------------------------------ modification (SPEC STR-4..8, STR-10)


@pytest.fixture
def own(logged_in):
    return make_structure(logged_in.user, "Atelier Test")


def test_manager_edits_the_address_and_the_history_keeps_before_and_after(logged_in, own):
    response = logged_in.post(f"/structures/{own.id}/modifier/adresse", data={
        "address": "9 rue Neuve", "postal_code": "56000", "city": "Vannes", "country_code": "FR"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/structures/{own.id}/modifier#bloc-adresse"
    assert "Adresse postale du siège : Modifications enregistrées." in page(
        logged_in.get(f"/structures/{own.id}/modifier"))
    fresh()
    structure = db.session.get(Structure, own.id)
    assert (structure.address, structure.country_code) == ("9 rue Neuve", "FR")
    entry = HistoryEntry.query.filter_by(action="structure.updated").one()  # SPEC STR-10
    assert entry.actor_id == logged_in.user.id
    assert entry.detail["changes"] == [
        {"field": "address", "label": "Adresse", "before": "1 rue Test", "after": "9 rue Neuve"}]
    detail = page(logged_in.get(f"/structures/{own.id}/historique/{entry.id}"))
    assert "1 rue Test" in detail and "9 rue Neuve" in detail


def test_saving_unchanged_values_records_nothing(logged_in, own):
    logged_in.post(f"/structures/{own.id}/modifier/adresse", data={
        "address": "1 rue Test", "postal_code": "56000", "city": "Vannes", "country_code": "FR"})
    fresh()
    assert HistoryEntry.query.filter_by(action="structure.updated").count() == 0


def test_parameters_and_complementary_fields_are_saved(logged_in, own):
    # SPEC STR-6 (what suppliers must provide) and STR-9 (the fields a SIRET change leaves behind)
    logged_in.post(f"/structures/{own.id}/modifier/parametres", data={
        "payment_status_not_reported": "y", "engagement_or_service_required": "y"})
    logged_in.post(f"/structures/{own.id}/modifier/complements", data={
        "billing_mandate": "y", "pacage_number": "056123456", "social_regime": "Général",
        "vat_number": "FR40303265045", "connection_info": "Raccordement API"})
    fresh()
    s = db.session.get(Structure, own.id)
    assert (s.payment_status_not_reported, s.service_code_required, s.engagement_required,
            s.engagement_or_service_required) == (True, False, False, True)
    assert (s.billing_mandate, s.pacage_number, s.social_regime, s.vat_number, s.connection_info) == (
        True, "056123456", "Général", "FR40303265045", "Raccordement API")
    html = page(logged_in.get(f"/structures/{own.id}"))
    assert "Le numéro d'engagement ou le code service est obligatoire</dt><dd>Oui" in html
    assert "Numéro PACAGE</dt><dd>056123456" in html


def test_htmx_saves_one_block_and_gets_that_block_back(logged_in, own):
    response = logged_in.post(f"/structures/{own.id}/modifier/parametres",
                              data={"engagement_required": "y"}, headers=HX)
    assert response.status_code == 200
    html = page(response)
    assert html.lstrip().startswith('<section id="bloc-parametres"')
    assert "Modifications enregistrées." in html and "<h1>" not in html
    assert 'name="engagement_required" type="checkbox" value="y"' in html and "checked" in html
    invalid = logged_in.post(f"/structures/{own.id}/modifier/adresse", data={"address": "", "country_code": "FR"},
                             headers=HX)
    assert invalid.status_code == 422 and 'id="bloc-adresse"' in page(invalid)
    assert "Le champ « Adresse » est obligatoire." in page(invalid)


def test_edi_flags_and_identity_cannot_be_set_by_a_manager(logged_in, own):
    # SPEC STR-5; mass assignment is ignored
    for slug in ("identification", "adresse", "parametres", "complements"):
        logged_in.post(f"/structures/{own.id}/modifier/{slug}", data={
            "designation": "Atelier Test", "address": "1 rue Test", "country_code": "FR",
            "edi_emitter": "y", "edi_connection_active": "y", "kind": "public", "status": "inactive",
            "identifier": "35600000000048", "category": "etat"})
    fresh()
    s = db.session.get(Structure, own.id)
    assert (s.edi_emitter, s.edi_connection_active, s.kind, s.status, s.category) == (
        False, False, "private", "active", None)
    assert s.identifier != "35600000000048"
    html = page(logged_in.get(f"/structures/{own.id}/modifier"))
    assert 'name="edi_emitter"' not in html and "Est émetteur de flux EDI" in html  # shown read-only
    with pytest.raises(services.StructureError):
        services.update(logged_in.user, s, {"edi_emitter": True})


def test_only_public_structures_can_be_moa(logged_in, accounts, own):
    # SPEC STR-8
    assert logged_in.post(f"/structures/{own.id}/modifier/moa", data={"moa": "only"}).status_code == 404
    assert 'id="bloc-moa"' not in page(logged_in.get(f"/structures/{own.id}/modifier"))
    with pytest.raises(services.StructureError) as refused:
        services.update(logged_in.user, own, {"moa": "with"})
    assert "Seules les structures publiques" in refused.value.errors["moa"]
    admin = accounts.create("admin@dgfip.example", is_admin=True)
    public = make_structure(logged_in.user, "Commune", public=True, admin=admin)
    response = logged_in.post(f"/structures/{public.id}/modifier/moa", data={"moa": "only"})
    assert response.status_code == 303
    fresh()
    assert db.session.get(Structure, public.id).moa == "only"


def test_members_consult_but_do_not_modify(client, accounts, own):
    # SPEC STR-4
    member = accounts.create("membre@atelier.example")
    attach(own, member, "member")
    accounts.login(client, "membre@atelier.example")
    html = page(client.get(f"/structures/{own.id}"))
    assert "Atelier Test" in html and "Modifier la structure" not in html
    assert client.get(f"/structures/{own.id}/modifier").status_code == 403
    response = client.post(f"/structures/{own.id}/modifier/identification", data={"designation": "Piraté"})
    assert response.status_code == 403
    fresh()
    assert db.session.get(Structure, own.id).designation == "Atelier Test"


def test_secondary_managers_modify(client, accounts, own):
    secondary = accounts.create("second@atelier.example")
    attach(own, secondary, "secondary")
    accounts.login(client, "second@atelier.example")
    assert client.post(f"/structures/{own.id}/modifier/identification",
                       data={"designation": "Atelier Test et Fils"}).status_code == 303


def test_another_structure_answers_404(client, accounts, own):
    # SPEC MGR-2
    accounts.create("autre@ailleurs.example")
    accounts.login(client, "autre@ailleurs.example")
    for url in (f"/structures/{own.id}", f"/structures/{own.id}/modifier", f"/structures/{own.id}/historique",
                "/structures/999999"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/structures/{own.id}/modifier/adresse", data={"address": "x"}).status_code == 404


def test_structure_record_lists_its_users_for_managers(logged_in, accounts, own):
    member = accounts.create("membre@atelier.example", first_name="Jeanne", last_name="Roy")
    attach(own, member, "member")
    attach(own, accounts.create("attente@atelier.example", last_name="Attente"), "member", status="pending")
    html = page(logged_in.get(f"/structures/{own.id}"))
    assert "Utilisateurs rattachés à la structure" in html
    assert "Jeanne Roy" in html and "Utilisateur simple" in html and "Attente" not in html
    assert "2 rattachements" in html


def test_manager_dashboard_search(logged_in, accounts):
    for name in ("Atelier Nord", "Atelier Sud", "Boulangerie Centrale"):
        make_structure(logged_in.user, name)
    make_structure(accounts.create("autre@ailleurs.example"), "Atelier Étranger")
    html = page(logged_in.get("/gestionnaire/?q=atelier"))
    html = html[html.index('id="mes-structures-resultats"'):]  # the results, not the dashboard's other blocks
    assert "Atelier Nord" in html and "Atelier Sud" in html
    assert "Boulangerie" not in html and "Étranger" not in html  # SPEC MGR-2
    fragment = page(logged_in.get("/gestionnaire/?q=boul", headers={**HX, "HX-Target": "mes-structures-resultats"}))
    assert "<h1>" not in fragment and "Boulangerie Centrale" in fragment and "Atelier" not in fragment
    assert "Aucune structure ne correspond à « 100% »" in page(logged_in.get("/gestionnaire/?q=100%"))


def test_primary_manager_is_unique_in_the_database(app, accounts, own):
    # SPEC TRF-1: a second validated primary manager is refused by the database itself
    from sqlalchemy.exc import IntegrityError

    other = accounts.create("autre@atelier.example")
    with pytest.raises(IntegrityError):
        attach(own, other, "primary")
    fresh()
    assert db.session.execute(
        select(func.count()).where(Membership.structure_id == own.id, Membership.role == "primary")
    ).scalar_one() == 1


def test_make_siret_gives_valid_sirets():
    from stdnum.fr import siret

    assert siret.is_valid(make_siret("12345678", "0001"))


def test_search_folds_accented_capitals(logged_in):
    # SQLite's own lower() folds ASCII only; the search must find "École" from "école" and "ÉCOLE".
    make_structure(logged_in.user, "École Saint-Joseph")
    for q in ("école", "ÉCOLE", "École"):
        html = page(logged_in.get("/gestionnaire/", query_string={"q": q}))
        assert "1 structure pour" in html, q


def test_saving_the_designation_with_htmx_refreshes_it_above_the_blocks(logged_in, own):
    response = logged_in.post(f"/structures/{own.id}/modifier/identification",
                              data={"designation": "Atelier Renommé"}, headers=HX)
    html = page(response)
    assert '<p class="structure-identity" id="structure-identity" hx-swap-oob="true"><strong>Atelier Renommé' in html
    assert 'autofocus>Modifications enregistrées.' in html  # focus stays in the block after the swap


def test_the_service_checks_fields_whatever_the_caller(logged_in, own):
    # Forms check first; an import, the CLI or the API calling the service directly is held to the same.
    for changes, field in (({"city": "Vannes\r\nX"}, "city"), ({"designation": "x" * 201}, "designation"),
                           ({"email": "pas une adresse"}, "email"), ({"country_code": "fr"}, "country_code"),
                           ({"engagement_required": "oui"}, "engagement_required")):
        with pytest.raises(services.StructureError) as refused:
            services.update(logged_in.user, own, changes)
        assert field in refused.value.errors
    services.update(logged_in.user, own, {"connection_info": "Ligne 1\nLigne 2"})  # multi-line is fine here


def test_the_country_is_chosen_from_a_list_of_french_names(logged_in):
    # P6-15: "Pays" was typed as a two-letter code.
    html = page(logged_in.get("/structures/nouvelle"))
    import re

    assert re.search(r'<select[^>]*name="country_code"', html)
    assert re.search(r'<option selected value="FR">France</option>', html), html[html.index("country_code"):][:300]
    assert '<option value="DE">Allemagne</option>' in html
    response = logged_in.post("/structures/nouvelle", data=create_form(country_code="DE"))
    assert response.status_code == 303
    assert "Allemagne" in page(logged_in.get(response.headers["Location"]))


def test_the_structure_pages_highlight_the_space_they_belong_to(logged_in, accounts):
    # P6-15: no top tab was highlighted on the structure, history and attachment pages.
    import re

    from helpers import attach, make_structure

    own = make_structure(logged_in.user, "Atelier Géré")
    other = make_structure(accounts.create("autre@exemple.fr"), "Atelier Voisin")
    attach(other, logged_in.user, "member")

    def current_tab(url):
        html = page(logged_in.get(url))
        nav = re.search(r'<nav aria-label="Espaces">(.*?)</nav>', html, re.S).group(1)
        return re.findall(r'aria-current="[a-z]+">([^<]+)</a>', nav)

    for url in (f"/structures/{own.id}", f"/structures/{own.id}/historique", f"/structures/{own.id}/rattacher",
                f"/structures/{own.id}/modifier"):
        assert current_tab(url) == ["Activités du gestionnaire"], url
    assert current_tab(f"/structures/{other.id}") == ["Mon compte"]  # a plain member's structure
