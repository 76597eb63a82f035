"""The technical users module's forms."""
from wtforms import EmailField
from wtforms.validators import DataRequired, Length, Optional

from chorus.forms import BaseForm, email_address, required_message


class CreateTechnicalUserForm(BaseForm):
    """"Créer un utilisateur technique" (SPEC TEC-1): its login address, and a contact address if another."""

    login_email = EmailField("Adresse électronique de connexion",
                             description="L'identifiant du système d'information auprès de l'API ; renseignez-vous "
                                         "auprès de votre éditeur de solution informatique.",
                             validators=[DataRequired(message=required_message("Adresse électronique de connexion")),
                                         Length(max=254), email_address])
    contact_email = EmailField("Adresse électronique de contact",
                               description="Facultative : elle peut différer de l'adresse de connexion.",
                               validators=[Optional(), Length(max=254), email_address])
