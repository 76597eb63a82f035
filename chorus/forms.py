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


# ---------------------------------------------------------------- forms open to plugins

# The core forms plugins may add fields to (hook `form_fields(form, context)`), with their context.
FORMS = {
    "account_create": "Créer votre compte, or an account made by an administrator; context: actor (or None)",
    "membership_request": "a user asks to join a structure (RAT-1); context: structure",
    "membership_decision": "the request screen (RAT-3); context: membership",
    "membership_bulk_decision": "validate or refuse the checked requests (RAT-4); context: actor",
    "membership_attach": "a manager attaches a user (RAT-6), or creates their account attached (USR-4); context: "
                         "structure",
    "structure_block": "one block of « Modification de la structure »; context: structure, block (its slug)",
}


def build_form(form_class, name: str, context: dict, **kwargs):
    """An instance of `form_class` with the fields plugins add to the form `name`.

    A subclass is made for this one instance (Indico's way), so that no field leaks into the next
    request. The plugins' fields are validated with the form; `plugin_data(form)` gives their values.
    """
    from .plugins import hook

    if name not in FORMS:
        raise LookupError(f"unknown form {name!r}: add it to chorus.forms.FORMS")
    added = {}
    for result in hook().form_fields(form=name, context=context):
        for key, unbound in (result or {}).items():
            if key in added or hasattr(form_class, key):
                raise RuntimeError(f"form {name}: a plugin's field {key!r} collides with another field")
            added[key] = unbound
    cls = type(form_class.__name__, (form_class,), added) if added else form_class
    form = cls(**kwargs)
    form.plugin_fields = [form[key] for key in added]
    return form


def plugin_data(form) -> dict:
    """The values of the fields plugins added to `form`, by field name."""
    return {f.name: f.data for f in getattr(form, "plugin_fields", [])}
