"""The form of "Gestion des pièces jointes" (SPEC DOC-2): a file, a designation, a type, "Ajouter"."""
from __future__ import annotations

from wtforms import FileField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from chorus.forms import BaseForm, no_control_chars, required_message

from .services import MAX_DESIGNATION


class DocumentForm(BaseForm):
    fichier = FileField("Parcourir", description="Le fichier à joindre, de 4 Mo au plus : PDF, image (PNG, JPEG, "
                        "GIF), document bureautique (DOCX, XLSX, ODT, ODS), texte (TXT, CSV, XML) ou archive ZIP.")
    designation = StringField("Désignation", validators=[DataRequired(required_message("Désignation")),
                                                          Length(max=MAX_DESIGNATION), no_control_chars])
    type_code = SelectField("Type", validators=[DataRequired(required_message("Type"))])

    def __init__(self, *args, types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.type_code.choices = [("", "Choisissez un type")] + list(types)
