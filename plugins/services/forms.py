"""The services module's forms."""
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from chorus.forms import BaseForm, no_control_chars, required_message
from chorus.structures.models import IdentifierType

from .models import MAX_CODE, MAX_LABEL


class ServiceForm(BaseForm):
    """"Informations générales" and "Paramètres" of a service (SPEC SRV-1)."""

    code = StringField("Code", validators=[DataRequired(message=required_message("Code")), Length(max=MAX_CODE),
                                           no_control_chars],
                       description=f"{MAX_CODE} caractères au plus ; unique dans la structure.")
    label = StringField("Libellé", validators=[DataRequired(message=required_message("Libellé")),
                                               Length(max=MAX_LABEL), no_control_chars])
    description = TextAreaField("Description", validators=[Length(max=2000)])
    start_date = DateField("Date de début de validité",
                           validators=[DataRequired(message=required_message("Date de début de validité"))],
                           description="Le service est actif à partir de cette date.")
    end_date = DateField("Date de fin de validité", validators=[Optional()],
                         description="Facultative : le service n'est plus actif après cette date.")
    engagement_required = BooleanField("Le numéro d'engagement est obligatoire")


class LookupForm(BaseForm):
    """A supplier looks a structure up by its identifier (SPEC SRV-8)."""

    identifier_type = SelectField("Type d'identifiant", default="SIRET",
                                  choices=[SelectChoice(v, lbl) for v, lbl in IdentifierType.choices()])
    identifier = StringField("Identifiant de la structure", description="Par exemple le SIRET, 14 chiffres.",
                             validators=[DataRequired(message=required_message("Identifiant de la structure")),
                                         Length(max=80), no_control_chars])


class CheckForm(BaseForm):
    """The pair a supplier would put on an invoice (SPEC SRV-7)."""

    code = StringField("Code service", validators=[Length(max=MAX_CODE), no_control_chars])
    engagement = StringField("Numéro d'engagement", validators=[Length(max=50), no_control_chars])
