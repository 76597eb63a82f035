from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..accounts.forms import RegisterForm
from ..forms import BaseForm, email_address, no_control_chars, required_message
from ..structures.models import IdentifierType
from .models import Role

ROLE_CHOICES = [SelectChoice(Role.MEMBER.value, Role.MEMBER.label),
                SelectChoice(Role.SECONDARY.value, Role.SECONDARY.label)]


class FindStructureForm(BaseForm):
    identifier_type = SelectField("Type d'identifiant", default="SIRET",
                                  choices=[SelectChoice(v, lbl) for v, lbl in IdentifierType.choices()])
    identifier = StringField("Identifiant de la structure", description="Par exemple le SIRET, 14 chiffres.",
                             validators=[DataRequired(message=required_message("Identifiant de la structure")),
                                         Length(max=80), no_control_chars])


class RequestForm(BaseForm):
    role = RadioField("Rôle demandé", choices=ROLE_CHOICES, default=Role.MEMBER.value,
                      validators=[DataRequired(message=required_message("Rôle demandé"))])
    comment = TextAreaField("Commentaire", description="Facultatif : précisez votre service ou votre fonction.",
                            validators=[Length(max=1000)])


class DecisionForm(BaseForm):
    role = RadioField("Rôle attribué", choices=ROLE_CHOICES)
    reason = TextAreaField("Motif du refus", description="Obligatoire pour refuser ; il est envoyé au demandeur.",
                           validators=[Length(max=1000)])


class BulkDecisionForm(BaseForm):
    """Validate or refuse the checked requests (RAT-4); plugins add their fields to it."""

    reason = TextAreaField("Motif du refus", validators=[Length(max=1000)])


class UserSearchForm(BaseForm):
    last_name = StringField("Nom", validators=[Length(max=100), no_control_chars])
    first_name = StringField("Prénom", validators=[Length(max=100), no_control_chars])
    email = StringField("Adresse de connexion", validators=[Length(max=254), no_control_chars])


class AttachmentTermsForm(BaseForm):
    """What a manager sets when attaching or inviting someone (RAT-6): role, validity start, comment."""

    role = RadioField("Rôle", choices=ROLE_CHOICES, default=Role.MEMBER.value,
                      validators=[DataRequired(message=required_message("Rôle"))])
    start_date = DateField("Date de début de validité", validators=[Optional()],
                           description="Par défaut, aujourd'hui.")
    comment = TextAreaField("Commentaire", validators=[Length(max=1000)])


class AttachForm(AttachmentTermsForm):
    user_id = HiddenField("Utilisateur à rattacher",
                          validators=[DataRequired(message="Choisissez l'utilisateur à rattacher.")])


class InviteForm(AttachmentTermsForm):
    """Invite a person not yet linked to the manager's structures, by their address (RAT-6)."""

    invitee_email = StringField("Adresse électronique de la personne",
                                validators=[DataRequired(message=required_message("Adresse électronique de la "
                                                                                  "personne")),
                                            Length(max=254), email_address])
    start_date = DateField("Date de début de validité", validators=[Optional()],
                           description="Par défaut, le jour où la personne accepte.")


class RefuseForm(BaseForm):
    """The confirmation step of refusing one request: the reason, sent to the requester (RAT-4)."""

    reason = TextAreaField("Motif du refus", description="Il est envoyé au demandeur.",
                           validators=[DataRequired(message="Le motif du refus est obligatoire."), Length(max=1000)])


class CreateAccountForm(RegisterForm, AttachmentTermsForm):
    """"Créer le compte utilisateur" (USR-4): the person's data, then the terms of their membership (RAT-6)."""

    for_whom = None  # a manager always creates the account of another person
