from wtforms import BooleanField

from ..accounts.forms import RegisterForm


class AdminAccountForm(RegisterForm):
    is_pigp = BooleanField(
        "Compte PIGP",
        description="Compte d'un gestionnaire public issu du portail internet de la gestion publique.",
        default=True,
    )
