"""CSV export (SPEC USR-1, USR-3; QUALITY.md "CSV export"): "Exporter utilisateurs" and the export of the
selected users, from the core's user search. The writer (csv.py) is general: any list can stream through it.

This file is the module's table of contents: every hook it implements. Other modules add export columns
through the core list "user_export" (hook `list_columns`; see chorus.lists.LISTS).
"""
from markupsafe import Markup

from chorus.hookspecs import hookimpl


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def template_slot(name, context):
    from flask import render_template

    if name == "user_directory_links":  # the dashboard and the search screen: export all, or the results
        return Markup(render_template("csv_export/_links.html", criteria=context.get("criteria") or {}))
    if name == "user_directory_selection":  # inside the results' form: the ticked rows
        return Markup(render_template("csv_export/_selection.html"))
    return None
