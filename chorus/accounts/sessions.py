"""Server-side login sessions.

The signed Flask cookie carries only a random session id and the time of the last request. The
id's hash is looked up on every request: deleting the row (logout, password change, deactivation)
makes a copied cookie useless. The idle timeout is read from the signed cookie, so that a GET
never writes to the database; the absolute timeout is on the row.
"""
from __future__ import annotations

import hashlib
import secrets
from functools import cache

from flask import current_app, request, session
from sqlalchemy import bindparam, delete, select

from .. import clock
from ..extensions import db
from .models import AccountKind, AccountStatus, User, UserSession

SESSION_KEY = "sid"
SEEN_KEY = "seen"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def start(user: User) -> None:
    """Open a session for `user` (inside the caller's transaction) and give the browser a new id.

    The browser's previous session, if any (logging in again, or as someone else), ends here.
    """
    end()
    token = secrets.token_urlsafe(32)
    now = clock.now()
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=digest(token),
            created_at=now,
            expires_at=now + current_app.config["SESSION_ABSOLUTE_TIMEOUT"],
            address=client_address(),
        )
    )
    session.clear()  # a new id at login: no fixation
    session.permanent = True
    session[SESSION_KEY] = token
    session[SEEN_KEY] = int(now.timestamp())


def end() -> None:
    """Close the current session (inside the caller's transaction)."""
    token = session.get(SESSION_KEY)
    if token:
        db.session.execute(delete(UserSession).where(UserSession.token_hash == digest(token)))
    session.clear()


def end_all(user: User, *, keep_current: bool = False) -> None:
    """Close every session of `user`, e.g. after a password change or a deactivation."""
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    token = session.get(SESSION_KEY) if keep_current else None
    if token:
        stmt = stmt.where(UserSession.token_hash != digest(token))
    db.session.execute(stmt)


def load_user_from_request(_request) -> User | None:
    """Flask-Login's request loader: the user of a valid, unexpired session, or None."""
    token = session.get(SESSION_KEY)
    if not token:
        return None
    now = clock.now()
    seen = session.get(SEEN_KEY, 0)
    if now.timestamp() - seen > current_app.config["SESSION_IDLE_TIMEOUT"].total_seconds():
        session.clear()
        return None
    # One indexed query for the session's end and its user, built once: every request pays it.
    row = db.session.execute(_SESSION_USER(), {"token_hash": digest(token)}).first()
    # Technical users never hold a web session (SPEC TEC-3), however a row came to exist.
    if row is None or row.expires_at <= now or row.User.status != AccountStatus.ACTIVE \
            or row.User.kind != AccountKind.PERSON:
        session.clear()
        return None
    if now.timestamp() - seen >= 60:  # refresh the idle clock, at most once a minute
        session[SEEN_KEY] = int(now.timestamp())
    return row.User


@cache
def _SESSION_USER():  # noqa: N802 - a constant, built at first use (the models must be mapped)
    return (select(User, UserSession.expires_at).join(UserSession, UserSession.user_id == User.id)
            .where(UserSession.token_hash == bindparam("token_hash")))


def purge_expired() -> int:
    """Delete sessions past their absolute timeout (a cron job); returns how many."""
    return db.session.execute(delete(UserSession).where(UserSession.expires_at <= clock.now())).rowcount
