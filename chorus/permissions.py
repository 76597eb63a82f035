"""Who may do what: one decision point, fed by plugins' votes.

`can(actor, action, obj)` asks every `permission_vote`: any False denies, at least one True is
needed (no vote = deny). `allowed(actor, action, model)` builds the same decision as a SQL clause
for list queries, from `permission_filter` rules, so that lists are filtered by the database.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, false, not_, or_
from sqlalchemy.sql import ColumnElement

from .plugins import hook


@dataclass(frozen=True)
class QueryRule:
    allow: ColumnElement | None = None  # rows this rule lets through
    deny: ColumnElement | None = None  # rows this rule forbids, whatever else allows


def is_active_person(actor) -> bool:
    """A logged-in, active person (not anonymous, not a technical user): who the web's rules are for."""
    return bool(getattr(actor, "is_active", False)) and actor.kind == "person"


def real(actor):
    """The user behind Flask-Login's `current_user` proxy: the votes read its attributes many times, and each
    read through the proxy looks the user up again."""
    get = getattr(actor, "_get_current_object", None)
    return get() if get is not None else actor


def can(actor, action: str, obj=None) -> bool:
    """The plugins' votes; within a GET or HEAD request (which writes nothing), asked once per request for
    the same actor, action and object (a page asks the same question for its links, tabs and blocks)."""
    actor = real(actor)
    key = _vote_key(actor, action, obj)
    if key is None:
        return _vote(actor, action, obj)
    from .request_cache import cached

    return cached(key, lambda: _vote(actor, action, obj))


def _vote(actor, action: str, obj) -> bool:
    votes = hook().permission_vote(actor=actor, action=action, obj=obj)
    if any(v is False for v in votes):
        return False
    return any(v is True for v in votes)


def _vote_key(actor, action: str, obj):
    """A key naming the question, or None when its answer must not be kept: outside a reading request, or
    about an object that is neither a stored row nor a plain value."""
    from flask import has_request_context, request

    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return None
    if obj is None or isinstance(obj, str | int):
        target = obj
    elif getattr(obj, "__mapper__", None) is not None:
        from sqlalchemy import inspect

        identity = inspect(obj).identity
        if identity is None:  # not stored yet
            return None
        target = (type(obj), identity)
    else:
        try:
            hash(obj)
        except TypeError:
            return None
        target = obj
    return ("can", type(actor), getattr(actor, "id", None), action, target)


class Denied(Exception):
    """Refused by the permission rules. The web answers 403, or 404 when `hidden` (the actor may not
    even know the object exists, SPEC MGR-2); the CLI or an API maps it its own way."""

    def __init__(self, hidden: bool = False):
        super().__init__("hidden" if hidden else "denied")
        self.hidden = hidden


def require(actor, action: str, obj=None, *, hide: bool = False) -> None:
    """Raise Denied unless allowed; with hide=True as "not found", for objects the actor may not know of."""
    if not can(actor, action, obj):
        raise Denied(hidden=hide)


def require_on(actor, action: str, obj, *, visible_with: str) -> None:
    """Raise Denied unless `action` is allowed on `obj`: hidden (404) if `visible_with` is refused too."""
    if not can(actor, action, obj):
        raise Denied(hidden=not can(actor, visible_with, obj))


def allowed(actor, action: str, model) -> ColumnElement:
    """A WHERE clause on `model` keeping exactly the rows `actor` may `action` (built once per request)."""
    from .request_cache import cached

    return cached(("allowed", getattr(actor, "id", None), action, model), lambda: _allowed(actor, action, model))


def _allowed(actor, action: str, model) -> ColumnElement:
    rules = [r for r in hook().permission_filter(actor=actor, action=action, model=model) if r]
    allows = [r.allow for r in rules if r.allow is not None]
    denies = [r.deny for r in rules if r.deny is not None]
    if not allows:
        return false()
    clause = or_(*allows)
    if denies:
        clause = and_(clause, not_(or_(*denies)))
    return clause
