"""One page of a list and its count: every list of the application goes through `paginate()`.

The count runs on the list's own statement stripped of ORDER BY, LIMIT and its columns
(`SELECT count(*) FROM ... WHERE ...`), never over an ordered subquery; the page is read with
LIMIT/OFFSET, and not at all when the count says the page is empty. Templates show it with the
`pager` macro of templates/_pagination.html.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Select, func
from sqlalchemy.sql.selectable import ScalarSelect

from .extensions import db


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` items fill (one, empty, when there are none)."""
    return max((total + per_page - 1) // per_page, 1)


def within(page: int, total: int, per_page: int) -> int:
    """`page` brought into 1..last page: a page beyond the last (criteria narrowed, decisions emptied it) shows
    the last one."""
    return min(max(page, 1), page_count(total, per_page))


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int
    extra: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)

    @property
    def first_index(self) -> int:
        """1-based rank of the first item shown (0 for an empty page)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)

    def __iter__(self):
        """`rows, total = page`, for callers written before this class."""
        return iter((self.items, self.total))


def count(stmt: Select) -> int:
    """COUNT(*) of the rows `stmt` would return, without its ORDER BY or columns."""
    counting = stmt.order_by(None).limit(None).offset(None).with_only_columns(
        func.count(), maintain_column_froms=True)
    return db.session.execute(counting).scalar_one()


def paginate(stmt: Select, *, page: int, per_page: int, scalars: bool = True, total: int | None = None) -> Page:
    """Page `page` (1-based) of `stmt`, which carries its ORDER BY. `scalars=False` keeps rows of
    several columns (a SELECT of the columns shown). A known `total` skips the count."""
    if total is None:
        total = count(stmt)
    offset = (max(page, 1) - 1) * per_page
    if offset >= total:  # an empty list, or a page past its end: nothing to read
        return Page(items=[], total=total, page=page, per_page=per_page)
    result = db.session.execute(stmt.limit(per_page).offset(offset))
    items = result.scalars().all() if scalars else result.all()
    return Page(items=items, total=total, page=page, per_page=per_page)


def paginate_ids(ids: Select, rows: Callable[[ScalarSelect], Select], *, page: int, per_page: int,
                 total: int | None = None) -> Page:
    """paginate() in two steps, for a page that joins other tables to its rows: the page's ids from `ids` (one id
    column and the list's ORDER BY, read from its indexes), then `rows(those ids as a subquery)`, which joins what
    is shown for those rows alone (with the same ORDER BY). Joined first, a database may join every row of the
    list (1,000 pending requests and their users) before it keeps the 50 of the page."""
    if total is None:
        total = count(ids)
    offset = (max(page, 1) - 1) * per_page
    if offset >= total:
        return Page(items=[], total=total, page=page, per_page=per_page)
    chosen = ids.limit(per_page).offset(offset).scalar_subquery()
    return Page(items=db.session.execute(rows(chosen)).all(), total=total, page=page, per_page=per_page)
