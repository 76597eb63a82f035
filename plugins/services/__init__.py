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
    # SPEC SIR-3: none on an inactive structure (chorus.events refuses them).
    return [EventType("service.created", fields, "a manager added a service to a structure (SRV-5)",
                      requires_active_structure=True),
            EventType("service.updated", fields, "a manager modified a service (SRV-5)",
                      requires_active_structure=True),
            EventType("service.deleted", fields, "a manager deleted a service, its memberships with it (SRV-5)",
                      requires_active_structure=True)]


@hookimpl
def register_history_actions():
    return {"service.created": "Création d'un service", "service.updated": "Modification d'un service",
            "service.deleted": "Suppression d'un service"}


@hookimpl
def domain_change(event):
    from . import memberships, services

    if event.name == "structure.created":  # SPEC SRV-3: in the structure's own transaction
        services.add_default(event.payload["structure_id"])
    if event.name == "structure.duplicated":  # SPEC SIR-2: the successor gets the services and their statuses
        p = event.payload
        copied = services.copy_services(p["source_id"], p["structure_id"])
        memberships.copy_statuses(p["structure_id"], copied, p["memberships"])
    memberships.domain_change(event)  # RAT-2: a status per (membership, service), same transaction


@hookimpl
def form_fields(form, context):
    from . import memberships

    return memberships.form_fields(form, context)  # the services asked, granted, attached (RAT-1, 3, 6)


@hookimpl
def list_columns(name, context):
    from chorus.lists import Column

    from . import memberships as ms
    from .models import ServiceStatus as S

    def by_membership(*statuses):
        def values(ids):
            codes = ms.codes_by_membership(ids, statuses)
            return {i: ms.cell(codes.get(i)) for i in ids}
        return values

    if name == "pending_requests":  # the services each request names
        return [Column("services", "Services", by_membership(S.PENDING))]
    if name == "structure_users":  # the services each member was granted
        return [Column("services", "Services", by_membership(S.VALIDATED))]
    if name == "user_search":
        return [Column("services", "Services sur cette structure",
                       lambda ids: ms.validated_codes_by_user(context["structure"].id, ids))]
    if name == "user_directory":  # the services asked for or granted on the row's structure
        return [Column("services", "Services", by_membership(S.VALIDATED, S.PENDING))]
    if name == "user_export":  # one CSV line per service (USR-1), placed after the structure's columns
        def per_service(ids):
            codes = ms.codes_by_membership(ids, (S.VALIDATED, S.PENDING))
            return {i: codes.get(i) or ms.WHOLE_STRUCTURE for i in ids}
        return [Column("service", "Service", per_service, order=25)]
    return None


@hookimpl
def list_filters(name, context):
    from sqlalchemy import select

    from chorus.accounts.models import User
    from chorus.lists import Filter
    from chorus.memberships.models import Membership

    from . import memberships as ms
    from .models import ServiceStatus as S

    if name == "pending_requests":  # across the manager's structures: the code, typed
        return [Filter("service", "Service", lambda v: Membership.id.in_(ms.memberships_with_service(v, (S.PENDING,))))]
    if name == "user_directory":  # USR-2, across the manager's structures: the code, typed
        return [Filter("service", "Service", lambda v: Membership.id.in_(
            ms.memberships_with_service(v, (S.VALIDATED, S.PENDING))))]
    if name not in ("structure_users", "user_search"):
        return None
    structure_id = context["structure"].id
    choices = tuple((s.code, s.code) for s in ms.own_services(structure_id))
    if not choices:
        return None
    with_service = lambda v: ms.memberships_with_service(v, (S.VALIDATED,), structure_id)  # noqa: E731
    if name == "structure_users":
        return [Filter("service", "Service", lambda v: Membership.id.in_(with_service(v)), choices=choices)]
    return [Filter("service", "Service", lambda v: User.id.in_(
        select(Membership.user_id).where(Membership.id.in_(with_service(v)))), choices=choices)]


@hookimpl
def structure_units(structure):
    from . import memberships

    # The active services other than FACTURES_PUBLIQUES: those a request or a setting may name.
    return [(str(s.id), f"{s.code} — {s.label}") for s in memberships.offered(structure.id)]


@hookimpl
def unit_memberships(structure, unit_ids):
    from . import memberships

    return memberships.members_of_services(structure.id, unit_ids)


@hookimpl
def history_snapshot(action, membership):
    from . import memberships

    return memberships.snapshot(membership)  # HIS-3: the services of the decision


@hookimpl
def validate_structure(structure, changes):
    from . import services

    return services.structure_rules(structure, changes)


@hookimpl
def replaces_core_rules():
    return ["STR-7"]  # enforced by validate_structure above, with the services at hand


@hookimpl
def populate_demo(demo):
    from .demo import populate

    populate(demo)


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
    if name == "account_sections":
        from .memberships import my_services

        data = my_services(context["user"])
        return Markup(render_template("services/_my_services.html", **data)) if data["total"] else None
    if name == "membership_bulk_decision":  # what a bulk decision does for services, said where it is taken
        return Markup(render_template("services/_bulk_note.html"))
    if name == "history_detail" and context["entry"].detail.get("extra", {}).get("services"):
        return Markup(render_template("services/_history_services.html",
                                      services=context["entry"].detail["extra"]["services"]))
    return None
