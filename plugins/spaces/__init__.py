"""Spaces and subscriptions ("abonnements aux espaces", SPEC ESP-1..5, ABO-1..6, ACC-5, HIS-1, HIS-2).

This file is the module's table of contents: every hook it implements. The four spaces it registers are opened
by subscriptions only; the core's guard (chorus.spaces.guard) asks this module's votes for every route under
their prefixes, whoever registered the route.
"""
from pathlib import Path

from chorus.hookspecs import hookimpl

from . import models  # noqa: F401  (tables known to Alembic)

# Membership events whose `spaces` (SPEC ESP-2, from default_spaces) this module grants, in their transaction.
GRANTING_EVENTS = ("membership.created_with_structure", "membership.validated", "membership.attached",
                   "membership.invitation_accepted")


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def register_migrations():
    return str(Path(__file__).parent / "migrations")


@hookimpl
def register_spaces():
    from .catalogue import SPACES

    return list(SPACES.values())


@hookimpl
def default_spaces(structure, role):
    from .catalogue import defaults

    return defaults(structure.is_public)


@hookimpl
def permission_vote(actor, action, obj):
    if action not in ("space.access", "space.modify"):
        return None
    from chorus.spaces import SpaceOn

    from .catalogue import SPACES
    from .services import vote

    space, structure_id = (obj.space, obj.structure_id) if isinstance(obj, SpaceOn) else (obj, None)
    if getattr(space, "code", None) not in SPACES:
        return None
    return vote(actor, action, space.code, structure_id)


@hookimpl
def register_event_types():
    from chorus.events import EventType

    return [
        # SPEC SIR-3: what opens a space on a structure is refused once it is inactive (chorus.events checks the
        # flag on the payload's structure_id); refusing and removing stay possible.
        EventType("subscription.requested", ("request_id", "user_id", "structure_id", "origin", "spaces"),
                  "a subscription request was made, by its user or by a manager's setting of the spaces (ABO-1)",
                  requires_active_structure=True),
        EventType("subscription.validated", ("request_id", "user_id", "structure_id", "spaces"),
                  "a manager validated a subscription request; spaces: those granted (ABO-3, ABO-4)",
                  requires_active_structure=True),
        EventType("subscription.refused", ("request_id", "user_id", "structure_id", "reason"),
                  "a manager refused a subscription request (ABO-3, ABO-4)"),
        EventType("subscription.self_added", ("user_id", "structure_id", "space"),
                  "a user added a space open without validation, « Factures émises » (ABO-6)",
                  requires_active_structure=True),
        EventType("subscription.self_removed", ("user_id", "structure_id", "space"),
                  "a user removed a space open without validation (ABO-6)"),
        EventType("structure_spaces.added", ("structure_id", "spaces", "units"),
                  "a manager added spaces to the structure, for all its services or chosen ones (ESP-3)",
                  requires_active_structure=True),
    ]


@hookimpl
def list_columns(name, context):
    from chorus.lists import Column

    from .services import spaces_by_membership

    if name == "user_export":  # SPEC USR-1: the export names the spaces each membership has, with their right
        return [Column("spaces", "Espaces", spaces_by_membership, order=60)]
    return None


@hookimpl
def register_history_actions():
    return {"subscription.validated": "Demande d'abonnement validée",
            "subscription.refused": "Demande d'abonnement refusée",
            "subscription.self_added": "Abonnement sans validation",
            "subscription.self_removed": "Désabonnement",
            "structure_spaces.added": "Ajout d'espaces"}


@hookimpl
def domain_change(event):
    from . import services

    if event.name in GRANTING_EVENTS:  # SPEC ESP-2: in the membership's own transaction
        p = event.payload
        services.grant_defaults(p["membership_id"], p["user_id"], p["structure_id"], p["spaces"])
    elif event.name == "structure.duplicated":  # SPEC SIR-2: spaces and subscriptions follow the structure
        p = event.payload
        services.copy_structure(p["structure_id"], p["source_id"], p["memberships"])
    elif event.name == "structure.units_carried":  # the copies name the successor's services, not the old ones
        services.carry_units(event.payload["structure_id"], event.payload["units"])
    elif event.name == "structure.unit_removed":  # a deleted service: its spaces and subscriptions go with it
        services.remove_unit(event.payload["structure_id"], event.payload["unit_id"])


@hookimpl
def template_slot(name, context):
    from . import slots

    return slots.render_slot(name, context)


@hookimpl
def populate_demo(demo):
    from .demo import populate

    populate(demo)
