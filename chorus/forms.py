"""Shared form pieces: French messages, no control characters, e-mail syntax."""
from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import ValidationError

from .validation import CONTROL_CHARS


class BaseForm(FlaskForm):
    """Every form of the application: WTForms' own messages in French (its bundled catalogue)."""

    class Meta:
        locales = ("fr",)
        # CSRFProtect checks every POST (form field or the X-CSRFToken header that htmx sends);
        # the templates add the token to each form, so forms need no CSRF field of their own.
        csrf = False



def no_control_chars(form, field):
    """Refuse CR, LF, TAB and the like in one-line fields (header injection, broken exports)."""
    if field.data and CONTROL_CHARS.search(field.data):
        raise ValidationError("Ce champ ne peut pas contenir de retour à la ligne ni de caractère de contrôle.")


def email_address(form, field):
    value = (field.data or "").strip()
    if not value:
        return
    if CONTROL_CHARS.search(field.data):
        raise ValidationError("L'adresse électronique ne peut pas contenir de caractère de contrôle.")
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError("Saisissez une adresse électronique valide, par exemple prenom.nom@exemple.fr.")


def phone_number(form, field):
    if field.data and not re.fullmatch(r"[0-9 +().-]{0,30}", field.data):
        raise ValidationError("Le numéro de téléphone ne peut contenir que des chiffres, espaces et + ( ) . -")


def put_errors(form, errors: dict[str, str]) -> None:
    """Show a service's refusal next to its field, or at the top of the form ("" or an unknown field)."""
    for name, message in errors.items():
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [message]
        else:
            form.form_errors.append(message)


def required_message(label: str) -> str:
    return f"Le champ « {label} » est obligatoire."
