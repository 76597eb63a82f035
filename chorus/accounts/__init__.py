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


@hookimpl
def register_commands():
    import click

    @click.command("purge")
    def purge_command():
        """Delete expired login sessions, used or expired one-time links and stale throttle counters (cron)."""
        from .. import clock
        from ..database import transaction
        from ..extensions import db
        from .models import AccountToken, ThrottleCounter
        from .sessions import purge_expired

        now = clock.now()
        with transaction():
            sessions = purge_expired()
            links = db.session.execute(db.delete(AccountToken).where(
                (AccountToken.expires_at <= now) | AccountToken.used_at.is_not(None))).rowcount
            counters = db.session.execute(db.delete(ThrottleCounter).where(
                ThrottleCounter.window_start <= now - _longest_window())).rowcount
        click.echo(f"sessions: {sessions}, links: {links}, counters: {counters}")

    return [purge_command]


def _longest_window():
    from flask import current_app

    c = current_app.config
    return max(c["LOGIN_WINDOW"], c["MAIL_REQUESTS_WINDOW"])
