"""Services of a structure (SPEC SRV-1..8, STR-7) and memberships per service (RAT-2, RAT-3, RAT-6).

This file is the module's table of contents: every hook it implements.
"""
from pathlib import Path

from markupsafe import Markup

from chorus.hookspecs import hookimpl

from . import models  # noqa: F401  (tables known to Alembic)


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def register_migrations():
    return str(Path(__file__).parent / "migrations")


@hookimpl
def register_event_types():
    from chorus.events import EventType

    fields = ("service_id", "structure_id")
    return [EventType("service.created", fields, "a manager added a service to a structure (SRV-5)"),
            EventType("service.updated", fields, "a manager modified a service (SRV-5)"),
            EventType("service.deleted", fields, "a manager deleted a service, its memberships with it (SRV-5)")]


@hookimpl
def register_history_actions():
    return {"service.created": "Création d'un service", "service.updated": "Modification d'un service",
            "service.deleted": "Suppression d'un service"}


@hookimpl
def domain_change(event):
    from . import services

    if event.name == "structure.created":  # SPEC SRV-3: in the structure's own transaction
        services.add_default(event.payload["structure_id"])


@hookimpl
def validate_structure(structure, changes):
    from . import services

    return services.structure_rules(structure, changes)


@hookimpl
def replaces_core_rules():
    return ["STR-7"]  # enforced by validate_structure above, with the services at hand


@hookimpl
def navigation_entries(user):
    from chorus.spaces import NavEntry

    if getattr(user, "is_authenticated", False):
        from flask import url_for

        return [NavEntry(href=url_for("services.lookup"), label="Structures destinataires")]
    return None


@hookimpl
def template_slot(name, context):
    from flask import render_template
    from flask_login import current_user

    from chorus.permissions import can

    if name == "structure_sections" and can(current_user, "structure.view", context["structure"]):
        from .views import list_context

        return Markup(render_template("services/_record_block.html",
                                      **list_context(context["structure"], 1, per_page=20)))
    return None
