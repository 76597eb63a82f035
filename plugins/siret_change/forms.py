"""The form of step 2 ("Identifiant") and of the last confirmation (SPEC SIR-1)."""
from __future__ import annotations

from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from chorus.forms import BaseForm, no_control_chars, required_message


class IdentifierForm(BaseForm):
    identifier = StringField("Identifiant", validators=[DataRequired(required_message("Identifiant")),
                                                        Length(max=80), no_control_chars],
                             description="Le nouveau numéro de SIRET de la structure (14 chiffres).")


class ConfirmForm(BaseForm):
    identifier = HiddenField(validators=[DataRequired(), Length(max=80)])
