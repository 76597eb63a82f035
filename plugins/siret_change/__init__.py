"""Change of identifier ("Modifier l'identifiant", SPEC SIR-1..5): the managers' three-step screen, the e-mails,
and the application of the directory's changes for local authorities (SIR-5: a service function and a command).

The successor itself is made by the core (chorus.structures.duplication): each module copies its own data when it
hears `structure.duplicated`; this plugin names none of them.
"""
from chorus.hookspecs import hookimpl

ACTION = "structure.change_identifier"


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def register_commands():
    from .cli import change_identifier_command

    return [change_identifier_command]


@hookimpl
def permission_vote(actor, action, obj):
    if action != ACTION:
        return None
    from .services import may_change

    return True if may_change(actor, obj) else None


@hookimpl
def template_slot(name, context):
    if name != "structure_actions":
        return None
    from flask import render_template
    from flask_login import current_user
    from markupsafe import Markup

    from chorus.permissions import can

    structure = context["structure"]
    if not can(current_user, ACTION, structure):
        return None
    return Markup(render_template("siret_change/_button.html", structure=structure))
