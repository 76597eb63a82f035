"""Domain events: emitted by services inside a transaction, delivered after its commit.

A rolled-back transaction delivers nothing. Each listener (a `domain_event` hook implementation)
is called on its own: one that raises is logged and the others still run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from . import clock
from .extensions import db
from .plugins import get_pm

PENDING = "chorus.events.pending"
COMMITTED = "chorus.events.committed"


@dataclass(frozen=True)
class Event:
    name: str  # dotted, e.g. "account.activated", "membership.validated"
    payload: dict = field(default_factory=dict)
    actor_id: int | None = None
    at: datetime = field(default_factory=clock.now)


def emit(name: str, actor=None, **payload) -> Event:
    """Queue an event on the current session; it goes out only if the session commits."""
    ev = Event(name=name, payload=payload, actor_id=getattr(actor, "id", None))
    db.session.info.setdefault(PENDING, []).append(ev)
    return ev


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session):
    pending = session.info.pop(PENDING, None)
    if pending:
        session.info.setdefault(COMMITTED, []).extend(pending)


@sa_event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction):
    # Fires even when no SQL was sent; a savepoint's rollback leaves the outer events in place.
    if not session.in_transaction():
        session.info.pop(PENDING, None)


def deliver_committed() -> None:
    """Hand committed events to every listener, one at a time (called by transaction())."""
    session = db.session
    while session.info.get(COMMITTED):
        batch = session.info.pop(COMMITTED)
        impls = list(reversed(get_pm().hook.domain_event.get_hookimpls()))  # pluggy's call order
        for ev in batch:
            for impl in impls:
                try:
                    impl.function(event=ev)
                except Exception:
                    session.rollback()
                    current_app.logger.exception("listener %s failed on event %s", impl.plugin_name, ev.name)


def init_app(app):
    @app.teardown_request
    def _deliver_leftovers(exc):
        # Events of a commit made outside transaction() still reach their listeners.
        if exc is None and db.session.info.get(COMMITTED):
            deliver_committed()
