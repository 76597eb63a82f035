"""Accounts: registration, activation, login sessions, password reset, "Mon compte" (SPEC ACC)."""
from ..hookspecs import hookimpl
from ..spaces import Space
from .models import AccountStatus, User

MON_COMPTE = Space(code="MON_COMPTE", label="Mon compte", endpoint="accounts.my_account", order=0)


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def register_spaces():
    return [MON_COMPTE]


@hookimpl
def permission_vote(actor, action, obj):
    active = getattr(actor, "is_authenticated", False) and actor.status == AccountStatus.ACTIVE
    if action == "space.access" and obj == MON_COMPTE:
        return True if active else None  # SPEC ACC-4: every active user has "Mon compte"
    if action == "account.edit" and isinstance(obj, User):
        return True if active and obj.id == actor.id else None
    return None


@hookimpl
def permission_filter(actor, action, model):
    from ..permissions import QueryRule

    if model is User and action == "account.edit" and getattr(actor, "is_authenticated", False):
        return QueryRule(allow=User.id == actor.id)
    return None
