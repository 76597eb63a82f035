"""Domain events: emitted by services inside a transaction, delivered after its commit.

Each event is announced twice to plugins:
- `domain_change(event)`, inside the transaction, at `emit()`: a plugin may write in the same
  transaction, or raise `Refused` and the whole change rolls back (its message reaches the form);
- `domain_event(event)`, after the commit, for side effects only. A rolled-back transaction
  delivers nothing; each listener is called on its own: one that raises is logged, the others run.

Every event name is declared once, with its payload fields, in `CORE_EVENTS` below or by a
plugin's `register_event_types` hook; `emit()` refuses an undeclared name or other fields.

An event type declared with `requires_active_structure=True` creates something on the structure named by its
payload's `structure_id` (a membership, a subscription request, a service, a document...): `emit()` refuses it
(`Refused`) when that structure is inactive (SPEC SIR-3), whichever module emits it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from . import clock
from .extensions import db
from .plugins import collect, get_pm

PENDING = "chorus.events.pending"
COMMITTED = "chorus.events.committed"


class Refused(Exception):
    """A rule refused a change; `errors` maps form fields ("" for the whole form) to French messages.

    Raised by services and by plugins' `domain_change` hooks; the transaction rolls back, and the
    web shows each message next to its field (or at the top of the form, or a 422 page).
    """

    def __init__(self, errors: dict[str, str] | str):
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))


@dataclass(frozen=True)
class EventType:
    name: str
    fields: tuple[str, ...]  # the payload's keys, all of them
    doc: str  # when it happens, in one line
    # SPEC SIR-3: refused on an inactive structure (the payload's `structure_id`): nothing new there.
    requires_active_structure: bool = False


_M = ("membership_id", "user_id", "structure_id", "role")
_ACTIVE = {"requires_active_structure": True}

# The core's catalogue: one line per event. `extra` carries the values of the fields plugins added to
# the form that made the change (SPEC: forms open to plugins), keyed by field name.
CORE_EVENTS = [
    EventType("account.created", ("user_id", "origin", "extra"), "an account was created, pending activation"),
    EventType("account.activated", ("user_id",), "the person followed the activation link and chose a password"),
    EventType("account.activation_resent", ("user_id",),
              "a manager sent a pending account a new activation link (USR-3)"),
    EventType("account.logged_in", ("user_id",), "a session was opened"),
    EventType("account.password_changed", ("user_id",), "the password was changed or reset"),
    EventType("account.updated", ("user_id", "changes"), "Mon compte saved; changes = {field: (before, after)}"),
    EventType("structure.created", ("structure_id",), "a structure was created (its primary manager's "
              "membership follows as membership.created_with_structure)"),
    EventType("structure.updated", ("structure_id", "block", "changes", "extra"),
              "a block of the record was saved; changes = {field: (before, after)}", **_ACTIVE),
    EventType("membership.created_with_structure", (*_M, "spaces"),
              "the primary manager's membership of a new structure"),
    EventType("membership.requested", (*_M, "extra"), "a user asked to join a structure (RAT-1)", **_ACTIVE),
    EventType("membership.cancelled", _M, "the requester withdrew a pending request"),
    EventType("membership.validated", (*_M, "spaces", "extra"), "a manager validated a request (RAT-4)", **_ACTIVE),
    EventType("membership.refused", (*_M, "reason", "extra"), "a manager refused a request (RAT-4)"),
    EventType("membership.attached", (*_M, "spaces", "extra"), "a manager attached a user directly (RAT-6)", **_ACTIVE),
    EventType("membership.removed", _M, "a manager removed a membership (RAT-7)"),
    EventType("membership.invited", ("invitation_id", "structure_id", "role"),
              "a manager invited a person not yet linked to their structures (RAT-6)", **_ACTIVE),
    EventType("membership.invitation_accepted", (*_M, "invitation_id", "spaces"),
              "the invited person accepted: the membership exists from now", **_ACTIVE),
    EventType("membership.invitation_declined", ("invitation_id", "structure_id"), "the invited person declined"),
    EventType("membership.expired", (*_M, "reason"), "a pending request expired unanswered (RAT-8)"),
    EventType("structure.duplicated", ("structure_id", "source_id", "memberships"),
              "a change of identifier made structure_id from source_id, now inactive (SIR-2); memberships = "
              "{source membership id: copy id}: each module copies its own data here"),
    EventType("structure.units_carried", ("structure_id", "source_id", "units"),
              "after structure.duplicated, when the source had sub-units: units = {source unit id: copy id} "
              "(structure_units, matched by label); a module whose copied rows name units rewrites them here"),
    EventType("structure.unit_removed", ("structure_id", "unit_id"),
              "a module deleted one of the structure's sub-units (structure_units): the rows naming it go with it"),
]


def catalogue(app=None) -> dict[str, EventType]:
    """Every declared event type, the core's and the plugins', by name."""
    app = app or current_app
    cached = app.extensions.get("chorus.event_types")
    if cached is None:
        types = CORE_EVENTS + collect(get_pm(app).hook.register_event_types())
        cached = {}
        for t in types:
            if t.name in cached:
                raise RuntimeError(f"event type {t.name} declared twice")
            cached[t.name] = t
        app.extensions["chorus.event_types"] = cached
    return cached


@dataclass(frozen=True)
class Event:
    name: str  # dotted, e.g. "account.activated", "membership.validated"
    payload: dict = field(default_factory=dict)
    actor_id: int | None = None
    at: datetime = field(default_factory=clock.now)


def emit(name: str, actor=None, **payload) -> Event:
    """Announce a change inside the current transaction; listeners hear of it after the commit.

    Plugins' `domain_change` hooks run now, in the transaction: they may write, or raise `Refused`.
    """
    declared = catalogue().get(name)
    if declared is None:
        raise LookupError(f"event {name!r} is not in the catalogue (chorus.events.CORE_EVENTS or "
                          "register_event_types)")
    if set(payload) != set(declared.fields):
        raise TypeError(f"event {name}: payload {sorted(payload)} instead of {sorted(declared.fields)}")
    if declared.requires_active_structure:
        _require_active(payload["structure_id"])
    ev = Event(name=name, payload=payload, actor_id=getattr(actor, "id", None))
    get_pm().hook.domain_change(event=ev)
    db.session.info.setdefault(PENDING, []).append(ev)
    return ev


ACTIVE_CHECKED = "chorus.events.active_structures"


def _require_active(structure_id: int) -> None:
    """SPEC SIR-3: nothing new on an inactive structure. The row is read with a shared lock (PostgreSQL) held
    until the transaction ends, so a concurrent deactivation waits for this change, or this change sees it;
    each structure is checked once per transaction."""
    from sqlalchemy import select

    from .structures.models import Structure, StructureStatus

    checked = db.session.info.setdefault(ACTIVE_CHECKED, set())
    if structure_id in checked:
        return
    row = db.session.execute(select(Structure.status, Structure.designation).where(Structure.id == structure_id)
                             .with_for_update(read=True)).first()
    if row is not None and row.status != StructureStatus.ACTIVE:
        raise Refused(f"La structure « {row.designation} » est inactive : aucun rattachement, abonnement ou "
                      "modification n'y est plus possible ; ce qu'elle contient reste consultable.")
    checked.add(structure_id)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session):
    session.info.pop(ACTIVE_CHECKED, None)
    pending = session.info.pop(PENDING, None)
    if pending:
        session.info.setdefault(COMMITTED, []).extend(pending)


@sa_event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction):
    # Fires even when no SQL was sent; a savepoint's rollback leaves the outer events in place.
    if not session.in_transaction():
        session.info.pop(PENDING, None)
        session.info.pop(ACTIVE_CHECKED, None)


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
    catalogue(app)  # a name declared twice stops the app at start-up

    @app.teardown_request
    def _deliver_leftovers(exc):
        # Events of a commit made outside transaction() still reach their listeners.
        if exc is None and db.session.info.get(COMMITTED):
            deliver_committed()
