"""Writing and reading the history; entries are only ever added (SPEC HIS-4)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import select

from .. import clock
from ..accounts.models import User
from ..extensions import db
from ..pagination import Page, count, paginate
from .models import HistoryEntry

# Comments of SPEC HIS-2.
VALIDATED = "Validée"
REFUSED = "Refusée"
DEACTIVATED = "Désactivée"
REMOVED = "Supprimée"


def record(structure_id: int, actor, action: str, *, summary: str, comment: str = "", subject_user=None,
           detail: dict | None = None) -> HistoryEntry:
    """Add an entry in the caller's transaction."""
    entry = HistoryEntry(
        structure_id=structure_id,
        at=clock.now(),
        actor_id=getattr(actor, "id", None),
        action=action,
        comment=comment,
        summary=summary,
        subject_user_id=getattr(subject_user, "id", subject_user),
        detail=detail or {},
    )
    db.session.add(entry)
    return entry


def _filters(structure_id: int, action: str, comment: str, since: date | None, until: date | None) -> list:
    clauses = [HistoryEntry.structure_id == structure_id]
    if action:
        clauses.append(HistoryEntry.action == action)
    if comment:
        clauses.append(HistoryEntry.comment == comment)
    if since:
        clauses.append(HistoryEntry.at >= datetime.combine(since, time.min, UTC))
    if until:
        clauses.append(HistoryEntry.at <= datetime.combine(until, time.max, UTC))
    return clauses


def page(structure_id: int, *, page: int, per_page: int, action: str = "", comment: str = "",
         since: date | None = None, until: date | None = None) -> Page:
    """One page of the list, newest first: only the columns it shows, the manager's name joined in;
    counted on history_entry alone (the join to the manager never changes the count)."""
    clauses = _filters(structure_id, action, comment, since, until)
    rows = select(HistoryEntry.id, HistoryEntry.at, HistoryEntry.summary, HistoryEntry.comment,
                  User.first_name.label("actor_first_name"), User.last_name.label("actor_last_name")).outerjoin(
        User, HistoryEntry.actor_id == User.id).where(*clauses).order_by(HistoryEntry.at.desc(),
                                                                           HistoryEntry.id.desc())
    return paginate(rows, page=page, per_page=per_page, scalars=False,
                    total=count(select(HistoryEntry.id).where(*clauses)))
