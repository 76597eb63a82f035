"""Exporter utilisateurs (SPEC USR-1) and the export of the selected users (USR-3), as CSV.

The rows are exactly the screen's: the same statement (chorus.memberships.people.matching) with the same
criteria, or the ticked rows checked against the same scope. One line per membership, and per item of a
list-valued cell of another module's column (the services plugin: one line per service).
"""
from __future__ import annotations

from itertools import product

from flask import Blueprint, flash, request
from flask_login import current_user

from chorus import clock, lists
from chorus.accounts.models import AccountStatus, User
from chorus.dashboard.users import back_to_search
from chorus.memberships import people
from chorus.memberships.models import Membership, MembershipStatus, Role
from chorus.permissions import require
from chorus.structures.models import Structure
from chorus.web import parse_id

from . import writer

bp = Blueprint("csv_export", __name__, template_folder="templates")

LIST = "user_export"
CHUNK = 2000  # rows read, and handed to the other modules' columns, at a time

# The core's columns: (order, header, position in COLUMNS below, labels or None). Other modules' columns
# (chorus.lists.Column) are placed among them by their `order` (the services plugin's at 25).
COLUMNS = (Membership.id, Structure.identifier, Structure.designation, Membership.role, Membership.status,
           User.last_name, User.first_name, User.login_email, User.contact_email, User.phone,
           User.status.label("account_status"), Membership.created_at, Membership.start_date, Membership.decided_at)
CORE = (
    (10, "Identifiant de la structure", 1, None),
    (20, "Désignation de la structure", 2, None),
    (30, "Rôle", 3, {r.value: r.label for r in Role}),
    (40, "Statut du rattachement", 4, {s.value: s.label for s in MembershipStatus}),
    (50, "Nom", 5, None),
    (51, "Prénom", 6, None),
    (60, "Adresse de connexion", 7, None),
    (61, "Adresse de contact", 8, None),
    (62, "Téléphone", 9, None),
    (70, "Statut du compte", 10, {s.value: s.label for s in AccountStatus}),
    (80, "Date de la demande", 11, None),
    (81, "Début de validité", 12, None),
    (82, "Date de décision", 13, None),
)


@bp.before_request
def _managers_only():
    require(current_user, "membership.search_users")


def _export(stmt):
    """The streamed CSV of the rows of `stmt` (COLUMNS), with the other modules' columns."""
    extra = lists.columns(LIST, actor=current_user)
    layout = sorted([(order, header, ("core", position, labels)) for order, header, position, labels in CORE]
                    + [(c.order, c.label, ("plugin", c, None)) for c in extra], key=lambda t: t[0])
    header = [h for _, h, _ in layout]
    parts = [p for _, _, p in layout]
    # The database is read in chunks (a server-side cursor on PostgreSQL), while the response is sent.
    result_rows = _rows(stmt.execution_options(yield_per=CHUNK), parts)
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return writer.response(f"utilisateurs-{stamp}.csv", header, result_rows)


def _rows(stmt, parts):
    from chorus.extensions import db

    result = db.session.execute(stmt)
    plugin_columns = [p[1] for p in parts if p[0] == "plugin"]
    for chunk in result.partitions(CHUNK):
        ids = [r[0] for r in chunk]
        values = {c.key: c.values(ids) for c in plugin_columns}
        for r in chunk:
            line = []
            multiple = False
            for kind, what, labels in parts:
                if kind == "core":
                    value = r[what]
                    line.append(labels.get(value, value) if labels else value)
                else:
                    value = values[what.key].get(r[0], "")
                    if isinstance(value, list | tuple):
                        multiple = True
                        value = list(value) or [""]
                    line.append(value)
            if not multiple:
                yield line
            else:  # one line per item of each list-valued cell
                yield from product(*[v if isinstance(v, list) else [v] for v in line])


@bp.get("/gestionnaire/utilisateurs/export.csv")
def export_all():
    """"Exporter utilisateurs": every row the search shows with these criteria (none: all the actor's users)."""
    found = people.criteria(current_user, request.args)
    return _export(people.matching(current_user, found, *COLUMNS))


@bp.post("/gestionnaire/utilisateurs/export.csv")
def export_selected():
    """The ticked rows of the search (each one the screen could show: any other id answers 404)."""
    ids = [i for i in map(parse_id, request.form.getlist("ids")) if i]
    if not ids:
        flash("Cochez au moins un utilisateur à exporter.", "error")
        return back_to_search()
    return _export(people.in_scope(current_user, ids, *COLUMNS))
