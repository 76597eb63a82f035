"""Exporter utilisateurs (SPEC USR-1) and the export of the selected users (USR-3), as CSV.

The rows are exactly the screen's: the same statement (chorus.memberships.people.matching) with the same
criteria, or the ticked rows checked against the same scope. One line per membership, and per item of a
list-valued cell of another module's column (the services plugin: one line per service).
"""
from __future__ import annotations

import queue
import threading
from itertools import product, repeat
from operator import itemgetter

from flask import Blueprint, flash, request
from flask_login import current_user
from sqlalchemy import String, case, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from chorus import clock, lists
from chorus.accounts.models import AccountStatus, User
from chorus.dashboard.users import back_to_search, search_of_origin
from chorus.extensions import db
from chorus.memberships import people
from chorus.memberships.models import Membership, MembershipStatus, Role
from chorus.permissions import require
from chorus.structures.models import Structure
from chorus.web import parse_id

from . import writer

bp = Blueprint("csv_export", __name__, template_folder="templates")

LIST = "user_export"
CHUNK = 5000  # rows read, and handed to the other modules' columns, at a time


class french_date(FunctionElement):
    """A date or timestamp as dd/mm/yyyy text, formatted by the database (a million strftime() calls cost
    seconds in Python)."""

    type = String()
    inherit_cache = True


@compiles(french_date, "sqlite")
def _sqlite_date(element, compiler, **kw):
    # SQLite stores dates and timestamps as ISO text ("2026-11-24", "2026-11-24 08:15:17.000000"): cutting it is
    # cheaper than strftime(), which parses it first. NULL stays NULL.
    value = compiler.process(element.clauses, **kw)
    return f"(substr({value}, 9, 2) || '/' || substr({value}, 6, 2) || '/' || substr({value}, 1, 4))"


@compiles(french_date)
def _date(element, compiler, **kw):  # PostgreSQL
    return f"to_char({compiler.process(element.clauses, **kw)}, 'DD/MM/YYYY')"


def _labels(column, labels: dict):
    """The French label of a code, chosen by the database."""
    return case(labels, value=column, else_=column)


# The core's columns: (order, header, SQL expression giving its text). Other modules' columns
# (chorus.lists.Column) are placed among them by their `order` (the services plugin's at 25).
# (order, header, SQL expression giving its text, typed by someone: checked for formulas)
CORE = (
    (10, "Identifiant de la structure", Structure.identifier, False),
    (20, "Désignation de la structure", Structure.designation, True),
    (30, "Rôle", _labels(Membership.role, {r.value: r.label for r in Role}), False),
    (40, "Statut du rattachement", _labels(Membership.status, {s.value: s.label for s in MembershipStatus}), False),
    (50, "Nom", User.last_name, True),
    (51, "Prénom", User.first_name, True),
    (60, "Adresse de connexion", User.login_email, True),
    (61, "Adresse de contact", User.contact_email, True),
    (62, "Téléphone", User.phone, True),
    (70, "Statut du compte", _labels(User.status, {s.value: s.label for s in AccountStatus}), False),
    (80, "Date de la demande", french_date(Membership.created_at), False),
    (81, "Début de validité", func.coalesce(french_date(Membership.start_date), ""), False),
    (82, "Date de décision", func.coalesce(french_date(Membership.decided_at), ""), False),
)
# Every cell text, none NULL (the two dates that may be missing are empty text): rows of text only are written
# the fast way (writer._csv_text).
COLUMNS = (Membership.id, *(expression.label(f"c{n}") for n, (_, _, expression, _) in enumerate(CORE)))


@bp.before_request
def _managers_only():
    require(current_user, "membership.search_users")


def _export(stmt):
    """The streamed CSV of the rows of `stmt` (COLUMNS), with the other modules' columns."""
    extra = lists.columns(LIST, actor=current_user)
    layout = sorted([(order, header, None, typed) for order, header, _, typed in CORE]
                    + [(c.order, c.label, c, True) for c in extra], key=lambda t: t[0])
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    inserted = [(i, c) for i, (_, _, c, _) in enumerate(layout) if c]
    # The database is read in chunks (a server-side cursor on PostgreSQL), while the response is sent.
    return writer.response(f"utilisateurs-{stamp}.csv", [h for _, h, _, _ in layout],
                           _rows(_chunks(stmt, [c for _, c in inserted]), [i for i, _ in inserted]),
                           text=[i for i, (_, _, _, typed) in enumerate(layout) if typed])


def _chunks(stmt, columns):
    """(rows, [[cell of each row] for each of `columns`]), CHUNK rows at a time; rows are tuples (id, cells...)."""
    connection = db.session.connection()
    if connection.dialect.supports_server_side_cursors:  # PostgreSQL: a server-side cursor, read ahead (below)
        parts = _read_ahead(stmt)
    else:  # SQLite hands rows out as they are stepped to: straight from its cursor (the cells are text)
        result = connection.execute(stmt)
        parts = iter(lambda: result.cursor.fetchmany(CHUNK), [])
    for rows in parts:
        ids = [r[0] for r in rows]
        cells = []
        for column in columns:
            values = column.values(ids)
            cells.append(list(map(values.get, ids)))
        yield rows, cells


def _read_ahead(stmt):
    """The rows of `stmt`, CHUNK at a time, read by another thread on a connection of its own (a server-side
    cursor) while this one writes: psycopg waits for the server without holding the GIL, so the server's work
    (the statement, the other modules' queries) and the writing overlap instead of taking turns."""
    ready: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    engine = db.engine

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def read():
        try:
            with engine.connect() as connection:
                result = connection.execute(stmt.execution_options(yield_per=CHUNK))
                try:
                    for rows in result.partitions(CHUNK):
                        if not put(rows):
                            return
                finally:
                    result.close()  # the server-side cursor, before its connection
            put(None)
        except BaseException as error:  # handed to the writing thread
            put(error)

    thread = threading.Thread(target=read, name="csv-export-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _rows(chunks, places):
    """The lines: the core's cells, the other modules' inserted at their `places` (increasing indexes of the
    line); a list-valued cell gives one line per item."""
    pick = None
    for rows, columns in chunks:
        if all(set(map(type, cells)) <= {str} for cells in columns):  # plain text: each line in one C call
            if pick is None:
                pick = _arrange(len(rows[0]) - 1, places)
            extras = zip(*columns, strict=True) if columns else repeat((), len(rows))
            for r, extra in zip(rows, extras, strict=True):
                yield list(pick(tuple(r) + extra))
            continue
        for r, *extra in zip(rows, *columns, strict=True):
            line = list(r[1:])
            multiple = False
            for index, value in zip(places, extra, strict=True):
                if value.__class__ is list or value.__class__ is tuple:
                    multiple, value = True, [str(v) for v in value] or [""]
                elif value.__class__ is not str:
                    value = "" if value is None else str(value)
                line.insert(index, value)
            if multiple:
                yield from map(list, product(*[v if v.__class__ is list else [v] for v in line]))
            else:
                yield line


def _arrange(core: int, places):
    """itemgetter making a line out of (id, `core` cells..., extra cells...): the extra cells at `places`."""
    order, cells, extra = [], iter(range(1, core + 1)), iter(range(core + 1, core + 1 + len(places)))
    for index in range(core + len(places)):
        order.append(next(extra) if index in places else next(cells))
    return itemgetter(*order)


@bp.get("/gestionnaire/utilisateurs/export.csv")
def export_all():
    """"Exporter utilisateurs": every row the search shows with these criteria (none: all the actor's users)."""
    found = people.criteria(current_user, request.args)
    return _export(people.matching(current_user, found, *COLUMNS, large=people.is_large(current_user, found)))


@bp.post("/gestionnaire/utilisateurs/export.csv")
def export_selected():
    """The ticked rows of the search (each one the screen could show: any other id answers 404), in its order."""
    ids = [i for i in map(parse_id, request.form.getlist("ids")) if i]
    if not ids:
        flash("Cochez au moins un utilisateur à exporter.", "error")
        return back_to_search()
    return _export(people.in_scope(current_user, ids, *COLUMNS, order=search_of_origin()))
