"""Floors of the CSV export on SQLite (P11): the bare database work of "Exporter utilisateurs", with the sqlite3
module and no application, on the data set of bench/csv_export.py. Figures: bench/REPORT.md, "P11: how fast can
the export go". A measuring tool, not a test; the SQL is made by string surgery on the statement the application
builds (people.matching with the export's columns, literal binds).

    .venv/bin/python bench/sqlite_floor.py [--db FILE] ids|current|lines|lines-spaces|chunks [--workers N]

- ids: the membership ids only, along the export's plan; current: the export's 14 columns as the app reads them;
- lines: one text column, the line built by SQL (cells joined, no quoting); lines-spaces: with the spaces' column
  as a correlated subquery (group_concat);
- chunks: lines-spaces, a chunk of every 1,000 people (by the users' name key) built into one text by one
  sqlite3_step (the GIL let go meanwhile), by N threads (each its own connection) or N processes (--processes).
"""
from __future__ import annotations

import argparse
import re
import resource
import sqlite3
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPACES = ("coalesce((SELECT group_concat(space_code || ' (' || \"right\" || ')', ', ') FROM space_subscription"
          " WHERE space_subscription.membership_id = membership.id AND space_subscription.status = 'validated'), '')")
KEY = "(user_account.last_name_folded, user_account.first_name_folded, user_account.id)"


def export_statement(path: str) -> str:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from sqlalchemy import select

    from chorus import create_app
    from chorus.accounts.models import User
    from chorus.extensions import db
    from chorus.memberships import people
    from plugins.csv_export.views import COLUMNS

    app = create_app({"SECRET_KEY": "floor", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "MAIL_DIR": "/tmp"})
    with app.app_context():
        manager = db.session.execute(select(User).where(User.login_email == "export@bench.example")).scalar_one()
        stmt = people.matching(manager, people.criteria(manager, {}), *COLUMNS, large=True)
        return str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))


def variants(sql: str) -> dict:
    cells = [c for c in re.split(r" AS c\d+(?:, |$)", re.search(r"SELECT membership.id, (.*?) \nFROM", sql, re.S)
                                 .group(1)) if c.strip()]
    line = " || ';' || ".join(cells)
    where = sql.split("\nWHERE ", 1)[1].split(" ORDER BY")[0]
    spaced = f"{line} || ';' || {SPACES}"
    chunk = (f"SELECT group_concat(line, char(13) || char(10)), count(*) FROM (SELECT {spaced} AS line"
             " FROM user_account JOIN membership ON membership.user_id = user_account.id"
             " JOIN structure ON membership.structure_id = structure.id"
             f" WHERE {where} AND {KEY} >= (?, ?, ?) AND {KEY} < (?, ?, ?)"
             " ORDER BY user_account.last_name_folded, user_account.first_name_folded, user_account.id, membership.id)")
    return {"current": sql, "ids": sql.replace(sql[:sql.index("\nFROM")], "SELECT membership.id", 1),
            "lines": sql.replace(sql[:sql.index("\nFROM")], f"SELECT {line}", 1),
            "lines-spaces": sql.replace(sql[:sql.index("\nFROM")], f"SELECT {spaced}", 1), "chunk": chunk}


_local = threading.local()


def _chunk(uri: str, sql: str, bounds: tuple) -> tuple[int, int]:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = _local.connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    text, n = connection.execute(sql, bounds).fetchone()
    return len((text or "").encode()), n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/work/h-csv-data/export.sqlite3")
    parser.add_argument("mode", choices=["ids", "current", "lines", "lines-spaces", "chunks"])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--processes", action="store_true")
    args = parser.parse_args()
    sql = variants(export_statement(args.db))
    uri = f"file:{args.db}?mode=ro"
    connection = sqlite3.connect(uri, uri=True)
    wall, cpu = time.perf_counter(), time.process_time()
    rows = size = 0
    if args.mode != "chunks":
        cursor = connection.execute(sql[args.mode])
        while batch := cursor.fetchmany(5000):
            rows += len(batch)
    else:
        keys = connection.execute(f"SELECT {KEY[1:-1]} FROM user_account WHERE kind = 'person'"
                                  " ORDER BY 1, 2, 3").fetchall()
        bounds = keys[::1000] + [("\U0010ffff", "", 0)]
        pool = (ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) if args.processes
                else ThreadPoolExecutor(args.workers))
        with pool:
            jobs = [(uri, sql["chunk"], (*bounds[i], *bounds[i + 1])) for i in range(len(bounds) - 1)]
            for length, n in pool.map(_chunk, *zip(*jobs, strict=True)):
                size += length
                rows += n
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{args.mode} x{args.workers}{' processes' if args.processes else ''}: {rows:,} rows, "
          f"{time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU of this process, "
          f"{children.ru_utime + children.ru_stime:.2f} s CPU of its children, {size / 1e6:.0f} MB of text")


if __name__ == "__main__":
    main()
