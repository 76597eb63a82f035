"""Columns and filter criteria plugins add to the core's lists, without editing their templates.

A column fills the cells of one page in one call (`values(ids)`), so that a page of 100 rows costs
one query per plugin column, not one per row. A filter is a criterion shown above the list, turned
into a SQL clause on the list's rows, so that counts and pages stay exact.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.sql import ColumnElement

from .plugins import collect, hook

# The core lists plugins may extend (hooks `list_columns` and `list_filters`), with their rows and context.
LISTS = {
    "pending_requests": "Les demandes de rattachement; rows are Membership ids; context: actor",
    "structure_users": "Utilisateurs rattachés à la structure; rows are Membership ids; context: structure",
    "user_search": "people a manager may attach (RAT-6); rows are User ids; context: structure",
    "user_directory": "Rechercher un utilisateur (USR-2): people of the manager's structures; rows are Membership "
                      "ids; context: actor",
    "user_export": "Exporter utilisateurs (USR-1, plugin csv_export): the same rows as user_directory; rows are "
                   "Membership ids; context: actor; a cell may be a list: one CSV line per item (e.g. per service)",
}

MAX_FILTER_LENGTH = 200


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the French column header
    values: Callable[[list[int]], dict]  # ids of the page's rows -> {id: cell text or Markup}
    order: int = 100


@dataclass(frozen=True)
class Filter:
    name: str  # its query-string parameter
    label: str  # French
    clause: Callable[[str], ColumnElement | None]  # the value typed or chosen -> a WHERE clause, None to ignore
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for a drop-down list; empty for free text
    order: int = 100


def _check(name: str) -> None:
    if name not in LISTS:
        raise LookupError(f"unknown list {name!r}: add it to chorus.lists.LISTS")


def columns(name: str, **context) -> list[Column]:
    _check(name)
    return sorted(collect(hook().list_columns(name=name, context=context)), key=lambda c: (c.order, c.label))


def filters(name: str, **context) -> list[Filter]:
    _check(name)
    return sorted(collect(hook().list_filters(name=name, context=context)), key=lambda f: (f.order, f.label))


def cells(cols: list[Column], ids: list[int]) -> dict[str, dict]:
    """{column key: {row id: cell}} for the rows of one page."""
    return {c.key: (c.values(list(ids)) if ids else {}) for c in cols}


def criteria(flts: list[Filter], args) -> tuple[list, dict]:
    """The SQL clauses of the criteria given in `args` (a request's values), and {name: value} of those given."""
    clauses, active = [], {}
    for f in flts:
        value = (args.get(f.name) or "").strip()[:MAX_FILTER_LENGTH]
        if not value or (f.choices and value not in {v for v, _ in f.choices}):
            continue
        clause = f.clause(value)
        if clause is not None:
            clauses.append(clause)
            active[f.name] = value
    return clauses, active


def apply_filters(stmt, flts: list[Filter], args) -> tuple:
    """`stmt` narrowed by the criteria given in `args` (a request's values); returns (stmt, {name: value})."""
    clauses, active = criteria(flts, args)
    return (stmt.where(*clauses) if clauses else stmt), active
