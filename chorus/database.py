"""Database plumbing: UTC timestamps, SQLite's locking discipline, and the write transaction.

Services write only inside `transaction()`. On SQLite it starts with BEGIN IMMEDIATE, so a
read-then-write request takes the write lock first instead of failing with "database is locked"
when it tries to upgrade (see QUALITY.md). Writing requests (POST...) begin IMMEDIATE from their
first statement; GET requests may not write at all.
"""
from __future__ import annotations

import os
import re
import sqlite3
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

from flask import has_request_context, request
from sqlalchemy import ARRAY, BigInteger, DateTime, any_, bindparam, event, func, insert, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from .extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# "BEGIN" or "BEGIN IMMEDIATE" for the next SQLite transaction begun in this context.
begin_statement: ContextVar[str] = ContextVar("chorus_sqlite_begin", default="BEGIN")


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in Python, naive UTC in the database (same on SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text, e.g. from a hand-written query
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy (below) issue BEGIN itself, instead of pysqlite's implicit deferred BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # SQLite's lower() folds ASCII only: "École" would never match "école". Python's folds Unicode.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name == "sqlite":
        statement = begin_statement.get()
        conn.info["begin"] = statement
        conn.exec_driver_sql(statement)


@event.listens_for(Session, "before_flush")
def _no_write_during_safe_request(session, flush_context, instances):
    if not has_request_context() or request.method not in SAFE_METHODS:
        return
    changed = bool(session.new or session.deleted) or any(session.is_modified(o) for o in session.dirty)
    if changed:
        raise RuntimeError(f"write attempted during {request.method} {request.path}")


WRITE_STATEMENT = re.compile(r"^\s*(?:WITH\b.*?\)\s*)?(INSERT|UPDATE|DELETE|REPLACE|MERGE|UPSERT|CREATE|DROP|ALTER|"
                             r"TRUNCATE)\b", re.IGNORECASE | re.DOTALL)


@event.listens_for(Engine, "before_cursor_execute")
def _no_statement_writes_during_safe_request(conn, cursor, statement, parameters, context, executemany):
    # The flush check above only sees the ORM; Core statements (update(), insert(), raw SQL) come here.
    if has_request_context() and request.method in SAFE_METHODS and WRITE_STATEMENT.match(statement):
        raise RuntimeError(f"write attempted during {request.method} {request.path}: {statement.split()[0]}")


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def in_ids(column, ids: list[int]):
    """`column IN ids` for a long list of integers, as ONE bound parameter (SQLite: a JSON array read by
    json_each; PostgreSQL: an array) instead of one per id: rendering thousands of parameters on every
    execution costs more than the query (the user export asks 5,000 ids at a time, 200 times a million rows)."""
    if is_sqlite():
        values = func.json_each("[" + ",".join(map(str, ids)) + "]").table_valued("value")
        return column.in_(select(values.c.value))
    return column == any_(bindparam(None, [int(i) for i in ids], type_=ARRAY(BigInteger)))


@contextmanager
def transaction():
    """A unit of work: commits at the end (outermost level only), rolls back on error.

    Domain events emitted inside are delivered after the commit; a rollback drops them.
    """
    from . import events

    session = db.session()  # the request's (or thread's) Session behind the scoped proxy
    depth = session.info.get("tx_depth", 0)
    token = begin_statement.set("BEGIN IMMEDIATE")
    if depth == 0 and session.in_transaction() and is_sqlite():
        if session.connection().info.get("begin") != "BEGIN IMMEDIATE":
            # A deferred read transaction is open: end it, so that the write lock is taken first.
            session.commit()
    session.info["tx_depth"] = depth + 1
    try:
        yield session
        if depth == 0:
            session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
            session.info.pop(events.PENDING, None)  # also when no SQL had been sent yet
        raise
    finally:
        session.info["tx_depth"] = depth
        begin_statement.reset(token)
    if depth == 0:
        events.deliver_committed()


@contextmanager
def reading():
    """A read-only unit of work: a deferred BEGIN on SQLite (no write lock held), ended at exit.

    For slow reads inside a writing request, such as verifying a password hash (~25 ms).
    """
    session = db.session()
    if session.in_transaction():
        session.commit()
    token = begin_statement.set("BEGIN")
    try:
        yield session
    finally:
        session.rollback()
        begin_statement.reset(token)


def insert_returning_ids(table, rows: list[dict]) -> list[int]:
    """Insert many rows in the current transaction and return their new ids, in the order of `rows` (batched
    multi-row INSERT ... RETURNING on both databases): copies that must map each old id to its new one."""
    if not rows:
        return []
    primary_key = list(table.primary_key.columns)[0]
    result = db.session.connection().execute(insert(table).returning(primary_key, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def bulk_insert(table, rows: list[dict]) -> int:
    """Insert many complete rows (every column the table needs; no Python-side defaults are applied)
    in the current transaction: COPY on PostgreSQL, multi-row INSERT ... VALUES elsewhere.

    On PostgreSQL, an executemany is one statement per row in psycopg's pipeline, and a multi-row
    INSERT of 1,000 rows spends its time in the driver's parsing of 10,000 placeholders; COPY does
    neither. Values go through the columns' bind processing (UTC datetimes, JSON) as with insert().
    """
    if not rows:
        return 0
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        primary_key = list(table.primary_key.columns)[0]
        # RETURNING makes SQLAlchemy batch the rows into multi-row INSERT ... VALUES statements.
        connection.execute(insert(table).returning(primary_key), rows)
        return len(rows)
    columns = list(rows[0])
    processors = [table.c[name].type._cached_bind_processor(connection.dialect) for name in columns]
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([process(row[name]) if process else row[name]
                            for process, name in zip(processors, columns, strict=True)])
    cursor.close()
    return len(rows)


def upsert(model, values: dict, index_elements: list[str], set_: dict):
    """INSERT ... ON CONFLICT DO UPDATE for SQLite and PostgreSQL."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(model).values(**values)
    return stmt.on_conflict_do_update(index_elements=index_elements, set_=set_)


def sqlite_path(uri: str) -> Path | None:
    """The file of an SQLite URL, or None (another database, in memory, or a `file:` URI)."""
    url = make_url(uri)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:"):
        return None
    return Path(url.database)


def create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists (P6-11). SQLite gives its -wal, -shm and -journal
    files the mode of the database file, so they are private too, whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def insert_ignore(model, values: dict, index_elements: list[str]):
    """INSERT ... ON CONFLICT DO NOTHING for SQLite and PostgreSQL."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model).values(**values).on_conflict_do_nothing(index_elements=index_elements)


def init_app(app):
    path = sqlite_path(app.config["SQLALCHEMY_DATABASE_URI"])
    if path is not None:
        create_private(path)

    @app.before_request
    def _writing_requests_begin_immediate():
        if request.method not in SAFE_METHODS:
            request.environ["chorus.begin_token"] = begin_statement.set("BEGIN IMMEDIATE")

    @app.teardown_request
    def _reset_begin(exc):
        token = request.environ.pop("chorus.begin_token", None)
        if token is not None:
            try:
                begin_statement.reset(token)
            except ValueError:  # set in another context (streamed response)
                pass
