"""Memberships ("rattachements"): requests, decisions, direct attachment, removal (SPEC RAT, TRF-1)."""
import click
from markupsafe import Markup

from ..hookspecs import hookimpl
from ..permissions import is_active_person
from . import models  # noqa: F401  (tables known to Alembic)


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def permission_vote(actor, action, obj):
    from ..accounts.models import AccountKind, User
    from ..structures.models import Structure
    from .models import MANAGER_ROLES
    from .queries import is_manager_anywhere, manages_person, role_of

    if not is_active_person(actor):
        return None
    if action == "account.edit" and isinstance(obj, User):
        # SPEC USR-3: a manager modifies the data of the people of their structures (never an administrator's).
        return True if obj.kind == AccountKind.PERSON and not obj.is_admin and manages_person(actor, obj.id) \
            else None
    if action == "membership.request" and isinstance(obj, Structure):
        return True if obj.is_active else None  # SPEC RAT-1: anyone may ask
    if action in ("membership.attach", "membership.remove") and isinstance(obj, Structure):
        return True if obj.is_active and role_of(actor, obj.id) in MANAGER_ROLES else None  # RAT-6, RAT-7
    if action in ("membership.decide_any", "membership.search_users", "account.create_for_person"):
        return True if is_manager_anywhere(actor) else None
    return None


@hookimpl
def permission_filter(actor, action, model):
    from sqlalchemy import and_, select

    from ..accounts.models import AccountKind, User
    from ..permissions import QueryRule
    from .models import Membership, MembershipStatus
    from .queries import managed_structure_ids

    if model is User and action == "account.edit" and is_active_person(actor):  # the vote above, as a filter
        people = select(Membership.user_id).where(Membership.status == MembershipStatus.VALIDATED,
                                                  Membership.structure_id.in_(managed_structure_ids(actor)))
        return QueryRule(allow=and_(User.kind == AccountKind.PERSON, User.is_admin.is_(False), User.id.in_(people)))
    if model is Membership and action == "membership.decide" and is_active_person(actor):
        # SPEC MGR-2 and RAT-8: the manager's structures, never their own request.
        return QueryRule(allow=Membership.structure_id.in_(managed_structure_ids(actor)),
                         deny=Membership.user_id == actor.id)
    return None


@hookimpl
def template_slot(name, context):
    from flask import render_template

    from . import slots

    if name == "account_sections":
        return Markup(render_template("memberships/_my_memberships.html", **slots.my_memberships(context["user"])))
    if name == "manager_dashboard":
        return Markup(render_template("memberships/_dashboard.html", **slots.dashboard(context["user"])))
    if name == "structure_sections":
        data = slots.structure_users(context["structure"])
        return Markup(render_template("memberships/_structure_users.html", **data)) if data else None
    if name == "history_detail" and context["entry"].action.startswith("membership."):
        return Markup(render_template("memberships/_history_detail.html", entry=context["entry"]))
    return None


@hookimpl
def register_history_actions():
    return {
        "membership.validated": "Demande de rattachement validée",
        "membership.refused": "Demande de rattachement refusée",
        "membership.expired": "Demande de rattachement expirée",
        "membership.attached": "Rattachement par un gestionnaire",
        "membership.removed": "Rattachement supprimé",
        "membership.invited": "Invitation envoyée",
        "membership.invitation_accepted": "Invitation acceptée",
        "account.updated_by_manager": "Données d'un utilisateur modifiées",
    }


@click.command("expire-requests")
def expire_requests_command():
    """Refuse the membership requests pending for longer than MEMBERSHIP_REQUEST_TTL (cron, daily)."""
    from .services import expire_pending

    click.echo(f"expired: {expire_pending()}")


@hookimpl
def register_commands():
    return [expire_requests_command]


@hookimpl
def populate_demo(demo):
    from .demo import populate

    populate(demo)
