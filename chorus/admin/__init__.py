"""Platform administration ("correspondant dématérialisation"): PIGP accounts, the mail outbox."""
from flask import url_for

from ..hookspecs import hookimpl
from ..spaces import NavEntry


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def navigation_entries(user):
    if getattr(user, "is_authenticated", False) and user.is_admin:
        return [NavEntry(href=url_for("admin.index"), label="Administration", order=50)]
    return None


@hookimpl
def permission_vote(actor, action, obj):
    if action.startswith("admin."):
        return True if getattr(actor, "is_authenticated", False) and actor.is_admin and actor.is_active else None
    return None
