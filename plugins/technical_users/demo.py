"""Demo data: Conseil Informatique SAS connects its invoicing software through the API (TEC-1): its technical user
exists and its credentials were exported, so the record shows the account and its expiry date. The other demo
structures have none: "Créer un utilisateur technique" can be tried there."""
from __future__ import annotations

from . import services


def populate(demo: dict) -> None:
    structure, owner = demo.get("structure:informatique"), demo.get("fournisseur")
    if structure is None or owner is None or services.of_structure(structure.id) is not None:
        return
    services.create(owner, structure, "logiciel-facturation@conseil-informatique.example",
                    "dsi@conseil-informatique.example")
    services.export_credentials(owner, structure)  # the password is thrown away: a reset gives a new one
    demo["created"] = True
