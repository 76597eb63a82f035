"""Fixed-window failure counters kept in the database, shared by every worker."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import case, delete, literal, select, update

from .. import clock
from ..database import UTCDateTime, upsert
from ..extensions import db
from .models import ThrottleCounter


def _fit(key: str) -> str:
    """Keys hold e-mail addresses typed by anyone: a long one is cut and completed by its digest."""
    if len(key) <= 300:
        return key
    return f"{key[:200]}#{hashlib.sha256(key.encode()).hexdigest()}"


def count(key: str, window: timedelta) -> int:
    key = _fit(key)
    row = db.session.execute(select(ThrottleCounter).where(ThrottleCounter.key == key)).scalar_one_or_none()
    if row is None or row.window_start + window <= clock.now():
        return 0
    return row.count


def hit(key: str, window: timedelta) -> int:
    """Count one more for `key` (inside the caller's write transaction); returns the new count.

    One atomic statement: parallel requests cannot all read the same count and all pass.
    """
    key = _fit(key)
    now = clock.now()
    expired = ThrottleCounter.window_start <= now - window
    now_value = literal(now, type_=UTCDateTime())
    stmt = upsert(
        ThrottleCounter,
        {"key": key, "window_start": now, "count": 1},
        ["key"],
        {
            # A window that ended starts again at 1; otherwise count on.
            "count": case((expired, 1), else_=ThrottleCounter.count + 1),
            "window_start": case((expired, now_value), else_=ThrottleCounter.window_start),
        },
    )
    return db.session.execute(stmt.returning(ThrottleCounter.count)).scalar_one()


def forgive(key: str) -> None:
    """Take one back (a successful login from an address should not count against it)."""
    key = _fit(key)
    db.session.execute(update(ThrottleCounter).where(ThrottleCounter.key == key, ThrottleCounter.count > 0)
                       .values(count=ThrottleCounter.count - 1))


def clear(key: str) -> None:
    key = _fit(key)
    db.session.execute(delete(ThrottleCounter).where(ThrottleCounter.key == key))
