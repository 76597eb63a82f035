"""The one source of "now" (UTC, aware), so that tests can travel in time, and of "today" on the structures'
calendar (setting TIMEZONE, Europe/Paris by default: a date typed by a French user is a French date)."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Europe/Paris"
_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def today() -> date:
    """The day it is on the structures' calendar: starts of validity (memberships, services) compare with it. At
    00:30 in Paris it is already tomorrow, while UTC is still on today."""
    name = current_app.config.get("TIMEZONE", DEFAULT_TIMEZONE) if has_app_context() else DEFAULT_TIMEZONE
    return now().astimezone(ZoneInfo(name)).date()


def travel(delta: timedelta) -> None:
    """Move the application's clock forward by `delta` (tests only)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)
