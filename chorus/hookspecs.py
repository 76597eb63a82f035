"""Every hook a plugin can implement. Each has a one-line contract; tests/test_hooks.py tests each.

Implement with `from chorus.hookspecs import hookimpl`. Hooks return data; the core renders it.
"""
import pluggy

hookspec = pluggy.HookspecMarker("chorus")
hookimpl = pluggy.HookimplMarker("chorus")


@hookspec
def register_blueprints():
    """Return a list of Flask blueprints to register on the app (start-up)."""


@hookspec
def register_commands():
    """Return a list of click commands or groups added to the `flask` CLI (start-up)."""


@hookspec
def register_migrations():
    """Return the path of a folder of Alembic revisions for this plugin's tables (start-up)."""


@hookspec
def register_spaces():
    """Return a list of `chorus.spaces.Space` (SPEC ESP-1); who reaches one is a permission vote."""


@hookspec
def navigation_entries(user):
    """Return a list of `chorus.spaces.NavEntry` for the user menu of `user` (maybe anonymous)."""


@hookspec
def permission_vote(actor, action, obj):
    """Return True (allow), False (deny) or None (abstain) on `action`; any deny wins, no allow = deny."""


@hookspec
def permission_filter(actor, action, model):
    """Return a `chorus.permissions.QueryRule` of SQL clauses on `model`, the list form of permission_vote."""


@hookspec
def domain_event(event):
    """React to a committed `chorus.events.Event`; runs after commit, in a transaction of its own."""


@hookspec
def template_slot(name, context):
    """Return markup to insert where a template calls slot(`name`), or None; `context` is the page's."""


@hookspec
def populate_demo(demo):
    """Add this plugin's demo data; `demo` is a dict of what earlier plugins made, by key."""


@hookspec
def validate_structure(structure, changes):
    """Return a list of (field, French message) refusing a structure save; forms, imports and the API alike."""


@hookspec
def register_history_actions():
    """Return a dict of history action codes to the French labels of the Historique filter."""
