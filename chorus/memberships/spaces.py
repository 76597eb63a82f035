"""The spaces a new membership grants by default (SPEC ESP-2)."""
from __future__ import annotations

from .models import MANAGER_ROLES

SOLLICITATIONS_EMISES = "SOLLICITATIONS_EMISES"
SOLLICITATIONS_RECUES = "SOLLICITATIONS_RECUES"
FACTURES_EMISES = "FACTURES_EMISES"
FACTURES_RECUES = "FACTURES_RECUES"
ACTIVITES_GESTIONNAIRE = "ACTIVITES_GESTIONNAIRE"


def default_spaces(structure, role) -> list[str]:
    spaces = [SOLLICITATIONS_EMISES]
    if structure.is_public:  # "reçues" spaces exist only on public structures
        spaces += [SOLLICITATIONS_RECUES, FACTURES_EMISES, FACTURES_RECUES]
    if role in MANAGER_ROLES:
        spaces.append(ACTIVITES_GESTIONNAIRE)
    return spaces
