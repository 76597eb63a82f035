"""Answers kept for the rest of a request (flask.g), forgotten at any write.

A page asks several permission questions about the same objects (view, edit, history, members...;
the space tabs of the layout), each asking the database or building the same SQL clause. Any flush,
commit or rollback forgets them all, so that a changed role is never read stale.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")
_KEY = "chorus_request_cache"


def cached(key: Hashable, compute: Callable[[], T]) -> T:
    """compute(), once per request and key (every time outside an app context)."""
    if not has_app_context():
        return compute()
    store = g.get(_KEY)
    if store is None:
        store = {}
        setattr(g, _KEY, store)
    if key not in store:
        store[key] = compute()
    return store[key]


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget(session, *args):
    if has_app_context():
        g.pop(_KEY, None)
