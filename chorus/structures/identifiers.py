"""Structure identifiers by type (SPEC STR-1): normalisation and validation, in French."""
from __future__ import annotations

import re
import unicodedata

from stdnum import luhn
from stdnum.eu import vat
from stdnum.fr import siret

from .models import IdentifierType


def normalize(identifier_type: str, value: str) -> str:
    """The stored form of an identifier: NFKC first, so that full-width or other look-alike digits and
    letters ("１２３", "Ａ") become the ASCII ones, and one entity cannot be created twice (P6-6)."""
    value = unicodedata.normalize("NFKC", value or "").strip().upper()
    if identifier_type in (IdentifierType.SIRET, IdentifierType.RIDET, IdentifierType.TAHITI,
                           IdentifierType.UE_HORS_FRANCE):
        value = re.sub(r"[\s.\-]", "", value)
    return value


def problem(identifier_type: str, value: str) -> str | None:
    """Why `value` (normalised) is not a valid identifier of that type, or None."""
    if not value:
        return "L'identifiant est obligatoire."
    if identifier_type == IdentifierType.SIRET:
        if not re.fullmatch(r"[0-9]{14}", value):
            return "Un SIRET compte exactement 14 chiffres."
        if not siret.is_valid(value):  # Luhn check, La Poste's SIRETs included
            return "Ce SIRET n'est pas valide : vérifiez les chiffres (clé de contrôle incorrecte)."
        return None
    if identifier_type == IdentifierType.UE_HORS_FRANCE:
        if value.startswith("FR"):
            return "Une structure française s'identifie par son SIRET."
        if not vat.is_valid(value):
            return "Saisissez un numéro de TVA intracommunautaire valide, précédé du code pays (ex. : BE0403170701)."
        return None
    if identifier_type == IdentifierType.RIDET:
        return None if re.fullmatch(r"[0-9]{9,10}", value) else "Un RIDET compte 9 ou 10 chiffres."
    if identifier_type == IdentifierType.TAHITI:
        return None if re.fullmatch(r"[A-Z0-9]{6}[0-9]{3}", value) else \
            "Un numéro Tahiti compte 6 caractères suivis de 3 chiffres (ex. : A12345001)."
    if identifier_type in (IdentifierType.HORS_UE, IdentifierType.PARTICULIER, IdentifierType.AUTRE):
        if len(value) > 80 or not re.fullmatch(r"[A-Z0-9][A-Z0-9 ./_-]*", value):
            return "L'identifiant ne peut contenir que des lettres, des chiffres, des espaces et . / _ -"
        return None
    return "Type d'identifiant inconnu."


def make_siret(siren8: str, nic4: str) -> str:
    """A valid SIRET from 8 SIREN digits and 4 NIC digits, adding both Luhn keys (demo data, tests)."""
    siren = siren8 + luhn.calc_check_digit(siren8)
    return siren + nic4 + luhn.calc_check_digit(siren + nic4)
