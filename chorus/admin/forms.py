from wtforms import BooleanField

from ..accounts.forms import RegisterForm


class AdminAccountForm(RegisterForm):
    is_pigp = BooleanField(
        "Compte PIGP",
        description="Compte d'un gestionnaire public issu du portail de la gestion publique (SPEC TRF-3).",
        default=True,
    )
