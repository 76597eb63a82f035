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
    """Return a list of `chorus.spaces.Space` (SPEC ESP-1); who reaches one, and its prefix's routes, is a vote."""


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
def register_event_types():
    """Return a list of `chorus.events.EventType` this plugin emits (name, payload fields, one-line doc)."""


@hookspec
def domain_change(event):
    """Take part in `event` inside its transaction: write with `db.session`, or raise `chorus.events.Refused`."""


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
    """Return (field, French message) pairs refusing a save, or `StructureWarning`s shown after it (blocks.py)."""


@hookspec
def replaces_core_rules():
    """Return the SPEC ids (e.g. "STR-7") of the core's interim checks this plugin enforces in their place."""


@hookspec
def record_blocks(structure):
    """Return `chorus.structures.blocks.RecordBlock`s: blocks added to the record and to its edit page."""


@hookspec
def form_fields(form, context):
    """Return {name: unbound WTForms field} to add to the core form `form` (see FORMS in chorus.forms)."""


@hookspec
def list_columns(name, context):
    """Return `chorus.lists.Column`s to add to the core list `name` (see LISTS in chorus.lists)."""


@hookspec
def list_filters(name, context):
    """Return `chorus.lists.Filter`s (a criterion and its SQL clause) to add to the core list `name`."""


@hookspec
def default_spaces(structure, role):
    """Return the codes of the spaces a new membership with `role` on `structure` opens (SPEC ESP-2)."""


@hookspec
def unit_memberships(structure, unit_ids):
    """Return {unit id: ids of `structure`'s memberships working in it} for the ids of `unit_ids` this plugin keeps."""


@hookspec
def structure_units(structure):
    """Return (id, French label) pairs: `structure`'s sub-units (services); labels unique, kept by copies (SIR-2)."""


@hookspec
def history_snapshot(action, membership):
    """Return a dict added to the history detail of `action` on `membership` (HIS-3), after its domain_change ran."""


@hookspec
def register_history_actions():
    """Return a dict of history action codes to the French labels of the Historique filter."""


@hookspec
def register_document_types():
    """Return (code, French label) pairs: the kinds of document a structure's record may hold (SPEC DOC-2)."""
