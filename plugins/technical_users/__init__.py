"""Technical users (SPEC TEC-1..3, STR-9, API-1): the API account of a structure, created, exported once and reset
by its primary manager. This file is the module's table of contents: every hook it implements."""
from pathlib import Path

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

    fields = ("user_id", "structure_id")
    return [EventType("technical_user.created", fields, "the primary manager created a structure's technical user"),
            EventType("technical_user.credentials_exported", fields,
                      "its credentials were handed out, once: a new password, valid 424 days (TEC-1, TEC-3)"),
            EventType("technical_user.password_reset", fields,
                      "its password was reset: the old one, its sessions and links stop working (TEC-2)")]


@hookimpl
def register_history_actions():
    return {"technical_user.created": "Création de l'utilisateur technique",
            "technical_user.credentials_exported": "Export des informations de connexion",
            "technical_user.password_reset": "Réinitialisation du mot de passe de l'utilisateur technique"}


@hookimpl
def permission_vote(actor, action, obj):
    if action != "technical_user.manage":
        return None
    from chorus.memberships.models import Role
    from chorus.memberships.queries import role_of
    from chorus.permissions import is_active_person
    from chorus.structures.models import Structure

    # SPEC TEC-1, TEC-2: the primary manager only, of an active structure.
    if (isinstance(obj, Structure) and is_active_person(actor) and obj.is_active
            and role_of(actor, obj.id) == Role.PRIMARY):
        return True
    return None


@hookimpl
def domain_change(event):
    """A technical user's membership is not removed with "Supprimer rattachements" (RAT-7): a secondary manager
    could cut the structure's API access that way, which TEC-2 leaves to the primary manager's reset."""
    if event.name != "membership.removed":
        return
    from sqlalchemy import select

    from chorus.events import Refused
    from chorus.extensions import db

    from .models import TechnicalUser

    p = event.payload
    if db.session.execute(select(TechnicalUser.id).where(TechnicalUser.user_id == p["user_id"],
                                                         TechnicalUser.structure_id == p["structure_id"])).first():
        raise Refused("Le rattachement de l'utilisateur technique ne peut pas être supprimé : pour couper son accès "
                      "à l'API, réinitialisez son mot de passe.")


@hookimpl
def template_slot(name, context):
    if name != "structure_sections":
        return None
    from .views import record_section

    return record_section(context["structure"])


@hookimpl
def populate_demo(demo):
    from .demo import populate

    populate(demo)
