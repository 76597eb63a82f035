"""Checks of free text that every service applies, whatever the caller (form, CLI, API, importer).

The forms check the same things first, to show the message next to the field; these make sure that
a caller bypassing the forms cannot store what the database or a mail header would choke on.
"""
from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

# One-line fields: C0 controls, line separators, and the bidirectional embeddings, overrides and isolates, which
# make a name or a service code read as another one (U+202E reverses what follows it).
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
CONTROL_CHARS_BUT_NEWLINES = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")


def text_problem(value, max_length: int, *, multiline: bool = False) -> str | None:
    if not isinstance(value, str):
        return "Valeur non valable."
    if len(value) > max_length:
        return f"Ce champ ne peut pas contenir plus de {max_length} caractères."
    if (CONTROL_CHARS_BUT_NEWLINES if multiline else CONTROL_CHARS).search(value):
        return "Ce champ ne peut pas contenir de caractère de contrôle."
    return None


def email_problem(value: str) -> str | None:
    problem = text_problem(value, 254)
    if problem:
        return problem
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return "Saisissez une adresse électronique valide, par exemple prenom.nom@exemple.fr."
    return None
