"""The spaces this module registers (SPEC ESP-1) and the defaults of a new membership (ESP-2).

"Mon compte" and "Activités du gestionnaire" belong to the core (the account, the manager's role); the four
below are opened by subscriptions, which this module keeps. Each owns a URL prefix: the core's guard refuses
every route under it to whoever holds no subscription (ESP-5), whichever module registered the route.
"""
from __future__ import annotations

from chorus.spaces import Space

FACTURES_EMISES = Space(code="FACTURES_EMISES", label="Factures émises", endpoint="spaces.factures_emises",
                        order=20, prefix="/factures-emises")
FACTURES_RECUES = Space(code="FACTURES_RECUES", label="Factures reçues", endpoint="spaces.factures_recues",
                        order=30, public_only=True, prefix="/factures-recues")
SOLLICITATIONS_EMISES = Space(code="SOLLICITATIONS_EMISES", label="Sollicitations émises",
                              endpoint="spaces.sollicitations_emises", order=40, prefix="/sollicitations-emises")
SOLLICITATIONS_RECUES = Space(code="SOLLICITATIONS_RECUES", label="Sollicitations reçues",
                              endpoint="spaces.sollicitations_recues", order=50, public_only=True,
                              prefix="/sollicitations-recues")

SPACES = {s.code: s for s in (FACTURES_EMISES, FACTURES_RECUES, SOLLICITATIONS_EMISES, SOLLICITATIONS_RECUES)}

# What each space will hold, said on its page until the modules that fill it are installed.
HOLDS = {
    "FACTURES_EMISES": "les factures que votre structure adresse à ses clients publics : dépôt, suivi des statuts, "
                       "pièces jointes",
    "FACTURES_RECUES": "les factures que reçoit votre structure publique : consultation, traitement, mise en "
                       "paiement",
    "SOLLICITATIONS_EMISES": "les sollicitations que vous adressez aux administrateurs de la plateforme (par "
                             "exemple la création d'une structure publique) et leur suivi",
    "SOLLICITATIONS_RECUES": "les sollicitations reçues par votre structure publique et leur traitement",
}

# SPEC ABO-6 (guide v2.0): added or removed by the user, without a manager's validation.
SELF_SERVICE = ("FACTURES_EMISES",)

CONSULTATION, MODIFICATION = "consultation", "modification"
RIGHTS = {CONSULTATION: "Consultation", MODIFICATION: "Modification"}


def applicable(is_public: bool) -> list[Space]:
    """The spaces a structure can open: "reçues" only on public structures (ESP-2)."""
    return [s for s in SPACES.values() if is_public or not s.public_only]


def defaults(is_public: bool) -> list[str]:
    """SPEC ESP-2: the sollicitations spaces for everyone, the invoices spaces on public structures too (the
    manager's dashboard follows the role: the core opens it)."""
    codes = ["SOLLICITATIONS_EMISES", "SOLLICITATIONS_RECUES"]
    if is_public:
        codes += ["FACTURES_EMISES", "FACTURES_RECUES"]
    return [c for c in codes if c in {s.code for s in applicable(is_public)}]


def stronger(a: str | None, b: str | None) -> str | None:
    return MODIFICATION if MODIFICATION in (a, b) else (a or b)
