"""Demo structures, managers and members (README's run command), made through the services."""
from __future__ import annotations

from sqlalchemy import select

from .. import clock
from ..database import transaction
from ..demo import demo_user
from ..extensions import db
from ..memberships.models import Membership, MembershipStatus, Role
from . import services
from .identifiers import make_siret
from .models import Structure

PUBLIC = [
    # key, category, SIREN (8 digits) + NIC (4 digits) before their keys, designation, address, postal code, city
    ("prefecture", "etat", "1300012340001", "Préfecture de la région Exemple", "1 place de la République",
     "35000", "Rennes"),
    ("commune", "collectivite", "2135600010001", "Commune de Saint-Exemple", "2 rue de la Mairie", "56250",
     "Saint-Exemple"),
    ("departement", "collectivite", "2256000010001", "Département de l'Exemple", "10 avenue du Conseil", "56000",
     "Vannes"),
    ("agence", "epn", "1800452340001", "Agence nationale des exemples", "25 quai de Seine", "75019", "Paris"),
    ("lycee", "eple", "1956001230001", "Lycée Jean Moulin", "3 boulevard des Écoles", "56100", "Lorient"),
    ("syndicat", "autre", "2556700040001", "Syndicat intercommunal des eaux du Golfe", "5 chemin de l'Étang",
     "56860", "Séné"),
]
PRIVATE = [
    ("atelier", "4419876540001", "Atelier Dupont SARL", "12 rue des Artisans", "56000", "Vannes"),
    ("boulangerie", "5123456780001", "Boulangerie Martin", "8 place du Marché", "56250", "Saint-Exemple"),
    ("informatique", "8321654980001", "Conseil Informatique SAS", "40 rue de la Gare", "35000", "Rennes"),
]


def populate(demo: dict) -> None:
    admin = demo["admin"]
    with transaction():
        gestionnaire = demo_user(demo, "gestionnaire", "Sophie", "Lemoine",
                                 "gestionnaire principale de la Commune de Saint-Exemple et d'autres "
                                 "structures publiques",
                                 is_pigp=True)
        secondaire = demo_user(demo, "secondaire", "Karim", "Benali",
                               "gestionnaire secondaire de la Commune de Saint-Exemple")
        agent = demo_user(demo, "agent", "Julie", "Perrin", "utilisatrice simple de la Commune de Saint-Exemple")
        prefet = demo_user(demo, "prefecture", "Marc", "Aubert", "gestionnaire principal de la Préfecture",
                           is_pigp=True)
        fournisseur = demo_user(demo, "fournisseur", "Paul", "Dupont",
                                "gestionnaire principal de l'Atelier Dupont et de Conseil Informatique")
        boulanger = demo_user(demo, "boulanger", "Anne", "Martin", "gestionnaire principale de la Boulangerie Martin")
    managers = {"prefecture": prefet}
    for key, category, siret13, designation, address, postal_code, city in PUBLIC:
        siret = make_siret(siret13[:8], siret13[8:12])
        structure = _find(siret)
        if structure is None:
            data = services.StructureData("SIRET", siret, designation, address,
                                          {"postal_code": postal_code, "city": city, "country_code": "FR"})
            structure = services.create_public(admin, data, category, managers.get(key, gestionnaire).login_email)
            demo["created"] = True
        demo[f"structure:{key}"] = structure
    owners = {"atelier": fournisseur, "boulangerie": boulanger, "informatique": fournisseur}
    for key, siret13, designation, address, postal_code, city in PRIVATE:
        siret = make_siret(siret13[:8], siret13[8:12])
        structure = _find(siret)
        if structure is None:
            data = services.StructureData("SIRET", siret, designation, address,
                                          {"postal_code": postal_code, "city": city, "country_code": "FR"})
            structure = services.create_private(owners[key], data)
            demo["created"] = True
        demo[f"structure:{key}"] = structure
    commune = demo["structure:commune"]
    with transaction():
        _attach(commune, secondaire, Role.SECONDARY, admin)
        _attach(commune, agent, Role.MEMBER, admin)
        _attach(demo["structure:departement"], secondaire, Role.MEMBER, admin)
        _attach(demo["structure:atelier"], agent, Role.MEMBER, fournisseur)


def _find(siret: str) -> Structure | None:
    return db.session.execute(
        select(Structure).where(Structure.identifier_type == "SIRET", Structure.identifier == siret)
    ).scalar_one_or_none()


def _attach(structure: Structure, user, role: Role, by) -> None:
    exists = db.session.execute(
        select(Membership.id).where(Membership.structure_id == structure.id, Membership.user_id == user.id)
    ).first()
    if exists:
        return
    now = clock.now()
    db.session.add(Membership(user_id=user.id, structure_id=structure.id, role=role,
                              status=MembershipStatus.VALIDATED, comment="", decision_reason="",
                              start_date=clock.today(), created_at=now, decided_at=now, decided_by_id=by.id))
