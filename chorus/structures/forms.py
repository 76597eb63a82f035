"""Forms of the structure record: creation, and one form per block of "Modification de la structure"."""
from wtforms import BooleanField, EmailField, RadioField, SelectField, StringField, TelField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..forms import BaseForm, email_address, no_control_chars, phone_number, required_message
from . import countries
from .models import IdentifierType, MoaMode, PublicCategory


def _required(label):
    return DataRequired(message=required_message(label))


def _choices(enum):
    return [SelectChoice(value, label) for value, label in enum.choices()]


class IdentificationForm(BaseForm):
    designation = StringField("Raison sociale", validators=[_required("Raison sociale"), Length(max=200),
                                                            no_control_chars])


class AddressForm(BaseForm):
    address = StringField("Adresse", validators=[_required("Adresse"), Length(max=200), no_control_chars])
    address_complement_1 = StringField("Complément d'adresse 1", validators=[Length(max=200), no_control_chars])
    address_complement_2 = StringField("Complément d'adresse 2", validators=[Length(max=200), no_control_chars])
    postal_code = StringField("Code postal", validators=[Length(max=20), no_control_chars])
    city = StringField("Ville", validators=[Length(max=100), no_control_chars])
    country_code = SelectField("Pays", default="FR", choices=[SelectChoice(c, n) for c, n in countries.choices()],
                               validators=[_required("Pays")])
    phone = TelField("Téléphone", validators=[Optional(), Length(max=30), phone_number])
    fax = TelField("Télécopie", validators=[Optional(), Length(max=30), phone_number])
    email = EmailField("Courriel", validators=[Optional(), Length(max=254), email_address])

    def data_for_service(self) -> dict:
        data = {name: (getattr(self, name).data or "") for name in (
            "address", "address_complement_1", "address_complement_2", "postal_code", "city", "phone", "fax")}
        data["country_code"] = (self.country_code.data or "").upper()
        data["email"] = (self.email.data or "").strip().lower()
        return data


class ParametersForm(BaseForm):
    payment_status_not_reported = BooleanField(
        "Le statut « Mise en paiement » n'est pas remonté au fournisseur")
    service_code_required = BooleanField("Le code service doit être renseigné par le fournisseur")
    engagement_required = BooleanField("Le numéro d'engagement doit être renseigné par le fournisseur")
    engagement_or_service_required = BooleanField("Le numéro d'engagement ou le code service est obligatoire")


class MoaForm(BaseForm):
    moa = RadioField("Marchés de travaux", choices=_choices(MoaMode), validators=[_required("Marchés de travaux")])


class ComplementsForm(BaseForm):
    billing_mandate = BooleanField("Mandat de facturation")
    pacage_number = StringField("Numéro PACAGE", validators=[Length(max=20), no_control_chars])
    social_regime = StringField("Régime social", validators=[Length(max=100), no_control_chars])
    vat_number = StringField("Numéro de TVA intracommunautaire", validators=[Length(max=20), no_control_chars])
    connection_info = TextAreaField("Informations de raccordement", validators=[Length(max=2000)])


class CreateStructureForm(IdentificationForm, AddressForm):
    identifier_type = SelectField("Type d'identifiant", choices=_choices(IdentifierType), default="SIRET",
                                  validators=[_required("Type d'identifiant")])
    identifier = StringField("Identifiant", description="Pour un SIRET : 14 chiffres, espaces acceptés.",
                             validators=[_required("Identifiant"), Length(max=80), no_control_chars])


class CreatePublicStructureForm(CreateStructureForm):
    category = SelectField("Catégorie", choices=_choices(PublicCategory), validators=[_required("Catégorie")])
    primary_manager = EmailField(
        "Gestionnaire principal", description="Adresse de connexion d'un compte existant (de préférence PIGP).",
        validators=[_required("Gestionnaire principal"), Length(max=254), email_address])


# The blocks of "Modification de la structure", in page order: (slug, title, form class).
EDIT_BLOCKS = [
    ("identification", "Identification", IdentificationForm),
    ("adresse", "Adresse postale du siège", AddressForm),
    ("parametres", "Paramètres", ParametersForm),
    ("moa", "Marchés de travaux (MOA)", MoaForm),
    ("complements", "Informations complémentaires", ComplementsForm),
]
