from wtforms import EmailField, PasswordField, RadioField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..forms import BaseForm, email_address, no_control_chars, phone_number, required_message


def _required(label):
    return DataRequired(message=required_message(label))


class LoginForm(BaseForm):
    email = EmailField("Adresse de connexion", validators=[_required("Adresse de connexion"), Length(max=254)])
    password = PasswordField("Mot de passe", validators=[_required("Mot de passe"), Length(max=1024)])


class ProfileFields(BaseForm):
    last_name = StringField("Nom", validators=[_required("Nom"), Length(max=100), no_control_chars])
    first_name = StringField("Prénom", validators=[_required("Prénom"), Length(max=100), no_control_chars])
    phone = TelField("Téléphone", validators=[Optional(), Length(max=30), phone_number])


class RegisterForm(ProfileFields):
    for_whom = RadioField(
        "Ce compte est",
        choices=[SelectChoice("self", "pour moi"), SelectChoice("other", "pour une autre personne")],
        default="self",
        validators=[_required("Ce compte est")],
    )
    login_email = EmailField(
        "Adresse de connexion",
        description="Elle sert d'identifiant de connexion ; le lien d'activation y est envoyé.",
        validators=[_required("Adresse de connexion"), Length(max=254), email_address],
    )
    contact_email = EmailField(
        "Adresse de contact",
        description="Facultative : les notifications de la plateforme y sont envoyées si elle diffère de "
                    "l'adresse de connexion.",
        validators=[Optional(), Length(max=254), email_address],
    )


class ProfileForm(ProfileFields):
    contact_email = EmailField(
        "Adresse de contact",
        description="Les courriels de la plateforme sont envoyés à cette adresse.",
        validators=[_required("Adresse de contact"), Length(max=254), email_address],
    )


class ChoosePasswordForm(BaseForm):
    password = PasswordField(
        "Nouveau mot de passe",
        description="Au moins 12 caractères. Une phrase de plusieurs mots est plus sûre et plus facile à retenir.",
        validators=[_required("Nouveau mot de passe")],
    )
    confirm = PasswordField("Confirmation du mot de passe", validators=[_required("Confirmation du mot de passe")])

    def validate_confirm(self, field):
        from wtforms import ValidationError

        if self.password.data and field.data != self.password.data:
            raise ValidationError("Les deux mots de passe ne sont pas identiques.")


class ChangePasswordForm(ChoosePasswordForm):
    current_password = PasswordField("Mot de passe actuel", validators=[_required("Mot de passe actuel")])


class ForgotPasswordForm(BaseForm):
    email = EmailField("Adresse de connexion", validators=[_required("Adresse de connexion"), Length(max=254),
                                                           email_address])
