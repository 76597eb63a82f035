"""The space "Activités du gestionnaire" (SPEC MGR-1): the managers' dashboard.

Its blocks come from the modules: the core shows "Mes structures" and the history; other modules add
theirs through the template slot "manager_dashboard" (blocks of modules not installed are absent).
"""
from ..hookspecs import hookimpl
from ..spaces import Space

ACTIVITES_GESTIONNAIRE = Space(code="ACTIVITES_GESTIONNAIRE", label="Activités du gestionnaire",
                               endpoint="dashboard.index", order=10)


@hookimpl
def register_blueprints():
    from . import users  # noqa: F401  (its routes are on the dashboard's blueprint)
    from .views import bp

    return [bp]


@hookimpl
def register_spaces():
    return [ACTIVITES_GESTIONNAIRE]


@hookimpl
def permission_vote(actor, action, obj):
    if action == "space.access" and obj == ACTIVITES_GESTIONNAIRE:
        from ..memberships.queries import is_manager_anywhere

        # SPEC MGR-1, ESP-2: primary and secondary managers.
        return True if getattr(actor, "is_active", False) and is_manager_anywhere(actor) else None
    return None
