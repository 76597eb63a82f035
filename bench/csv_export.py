"""CSV export at 1,000,000 rows: rows per second and peak memory, one command:

    nice .venv/bin/python bench/csv_export.py [--db FILE | --db postgresql+psycopg://...] [--rows 1000000] [--rounds 3]

The data set (made once, reused when the file exists): one manager, primary manager of 1,000 structures
that hold 1,000,000 memberships between them (200,000 people in five structures each), accents in the
names. Each round runs in a fresh Python process: "Exporter utilisateurs" through the real route (login,
the plugins switched on, the services plugin's column included), the streamed body read block by block
and thrown away as a browser's download would write it. Reported: rows per second, the process's peak
resident memory (ru_maxrss) and its growth during the export, and rows per CPU second of the process (the
machine is shared: wall time moves with the others' load, CPU time much less). Goal (P11): >= 200,000 rows/s, < 150 MB.
On PostgreSQL (`--db postgresql+psycopg://user:password@host:port/database`, an empty database the first time:
it is built when it has no user_account table) the CPU of the server's processes during the export is reported
too (the postmaster's children read from /proc: the server must run on this machine and be readable).
Nothing here is asserted: tests never time anything.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE), str(ROOT / "tests")]

from generate import (  # noqa: E402
    FIRST_NAMES,
    LAST_NAMES,
    MEMBERSHIP_COLUMNS,
    PASSWORD,
    STRUCTURE_COLUMNS,
    USER_COLUMNS,
    Writer,
    finish,
)

MANAGER = "export@bench.example"
STRUCTURES = 1000
PER_USER = 5
DEFAULT_DB = "/work/p11a-data/export.sqlite3"


def url_of(db_arg: str) -> str:
    return db_arg if "://" in db_arg else f"sqlite:///{db_arg}"


def exists(db_arg: str) -> bool:
    if "://" not in db_arg:
        return os.path.exists(db_arg)
    from sqlalchemy import create_engine, inspect

    engine = create_engine(db_arg)
    try:
        return inspect(engine).has_table("user_account")
    finally:
        engine.dispose()


def build(path: str, rows: int) -> None:
    from chorus import create_app, migrations
    from chorus.accounts.passwords import hash_password
    from chorus.extensions import db
    from chorus.folding import fold
    from chorus.structures.identifiers import make_siret

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url_of(path),
                      "MAIL_DIR": "/tmp/chorus-bench-mail"})
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    people = (rows - STRUCTURES) // PER_USER
    with app.app_context():
        migrations.upgrade()
        dialect = db.engine.dialect.name
        raw = db.engine.raw_connection()
        if dialect == "sqlite":
            raw.driver_connection.execute("BEGIN")
        writer = Writer(raw.driver_connection if dialect == "postgresql" else raw, dialect)

        def users():
            yield (1, "Gestionnaire", "Benoît", "gestionnaire", "benoit", MANAGER, MANAGER, "", "active", "person",
                   "self", False, False, hash_password(PASSWORD), now, now, None)
            for uid in range(2, people + 2):
                last, first = LAST_NAMES[uid % len(LAST_NAMES)], FIRST_NAMES[uid % len(FIRST_NAMES)]
                email = f"{fold(first).replace(' ', '')}.{fold(last).replace(' ', '')}.{uid}@exemple.fr"
                status = "pending" if uid % 10 == 0 else "active"
                yield (uid, last, first, fold(last), fold(first), email, f"contact.{uid}@exemple.fr", "", status,
                       "person", "self", False, False, None, now, now if status == "active" else None, None)

        def structures():
            for sid in range(1, STRUCTURES + 1):
                name = f"Commune de Saint-Étienne-{sid}"
                yield (sid, "public", "collectivite", "SIRET", make_siret(f"{20_000_000 + sid:08d}", "0001"), name,
                       fold(name), "active", "1 rue de la Mairie", "", "", "42000", "Saint-Étienne", "FR", "", "", "",
                       False, False, False, True, False, False, False, False, "none", False, "", "", "", "", now, now)

        def memberships():
            for sid in range(1, STRUCTURES + 1):
                yield (1, sid, "primary", "validated", "", "", now.date(), now, now, None)
            for uid in range(2, people + 2):
                for k in range(PER_USER):
                    sid = (uid * 7 + k * 211) % STRUCTURES + 1
                    yield (uid, sid, "member", "validated", "", "", now.date(), now, now, None)

        print(f"  users: {writer.write('user_account', USER_COLUMNS, users()):,}", flush=True)
        print(f"  structures: {writer.write('structure', STRUCTURE_COLUMNS, structures()):,}", flush=True)
        print(f"  memberships: {writer.write('membership', MEMBERSHIP_COLUMNS, memberships()):,}", flush=True)
        # The spaces plugin's defaults of a public structure's membership (ESP-2), as its migration gives the
        # memberships made before it: four subscriptions each, which the export's "Espaces" column names.
        raw.cursor().execute(
            "INSERT INTO space_subscription (user_id, structure_id, membership_id, request_id, space_code, unit_id,"
            ' unit_label, "right", status, origin, created_at, updated_at)'
            " SELECT m.user_id, m.structure_id, m.id, NULL, c.code, '', '', 'modification', 'validated', 'default',"
            " m.created_at, m.created_at FROM membership m CROSS JOIN (SELECT 'SOLLICITATIONS_EMISES' AS code"
            " UNION ALL SELECT 'SOLLICITATIONS_RECUES' UNION ALL SELECT 'FACTURES_EMISES'"
            " UNION ALL SELECT 'FACTURES_RECUES') c")
        raw.commit()
        finish(raw, dialect, ("user_account", "structure", "membership", "space_subscription"))
        db.engine.dispose()


def server_cpu(url: str) -> float | None:
    """CPU seconds of the PostgreSQL server's processes (the postmaster's children) so far; None elsewhere."""
    if "postgresql" not in url:
        return None
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        directory = connection.execute(text("SHOW data_directory")).scalar_one()
    engine.dispose()
    try:
        postmaster = int(Path(directory, "postmaster.pid").read_text().split()[0])
    except OSError:
        return None
    # The children that ended (parallel workers) count in the postmaster's cutime and cstime.
    fields = Path("/proc", str(postmaster), "stat").read_text().rsplit(")", 1)[1].split()
    tick, total = os.sysconf("SC_CLK_TCK"), int(fields[13]) + int(fields[14])
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:  # ppid; utime, stime
                total += int(fields[11]) + int(fields[12])
    return total / tick


def measure(path: str) -> dict:
    """One export in this (fresh) process."""
    from chorus import create_app
    from helpers import CSRFClient

    url = url_of(path)
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "MAIL_DIR": "/tmp/chorus-bench-mail"})
    app.test_client_class = CSRFClient
    client = app.test_client()
    assert client.post("/connexion", data={"email": MANAGER, "password": PASSWORD}).status_code == 303
    assert client.get("/gestionnaire/utilisateurs").status_code == 200  # every module imported, caches warm
    usage = resource.getrusage(resource.RUSAGE_SELF)
    before, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    server = server_cpu(url)
    start = time.perf_counter()
    response = client.get("/gestionnaire/utilisateurs/export.csv")
    first = None
    size = lines = 0
    for block in response.response:
        if first is None:
            first = time.perf_counter() - start
        size += len(block)
        lines += block.count(b"\r\n")
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = usage.ru_utime + usage.ru_stime - cpu
    server_s = None if server is None else server_cpu(url) - server  # (its own CPU, in the other process, is ~0)
    response.close()
    peak = usage.ru_maxrss / 1024
    return {"rows": lines - 1, "seconds": seconds, "first_block_s": first, "mb": size / 1e6,
            "peak_mb": peak, "growth_mb": peak - before, "cpu_s": cpu_s, "server_cpu_s": server_s}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # one round, in a child
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.db)))
        return
    if not exists(args.db):
        print(f"building {args.db} ({args.rows:,} memberships)...", flush=True)
        t = time.perf_counter()
        build(args.db, args.rows)
        print(f"  built in {time.perf_counter() - t:.0f} s", flush=True)
    results = []
    for n in range(args.rounds):
        out = subprocess.run([sys.executable, __file__, "--db", args.db, "--measure"], capture_output=True,
                             text=True, check=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        results.append(r)
        print(f"round {n + 1}: {r['rows']:,} rows, {r['mb']:.0f} MB of CSV in {r['seconds']:.2f} s "
              f"= {r['rows'] / r['seconds']:,.0f} rows/s ({r['rows'] / r['cpu_s']:,.0f} per CPU second); "
              f"first block after {r['first_block_s'] * 1000:.0f} ms; "
              + (f"server CPU {r['server_cpu_s']:.1f} s; " if r.get("server_cpu_s") is not None else "") +
              f"peak RSS {r['peak_mb']:.0f} MB (+{r['growth_mb']:.0f} MB during the export)", flush=True)
    if not results:
        return
    best = min(results, key=lambda r: r["seconds"])
    print(f"best: {best['rows'] / best['seconds']:,.0f} rows/s ({best['rows'] / best['cpu_s']:,.0f} per CPU second, "
          f"load average {os.getloadavg()[0]:.1f}); peak RSS max over rounds "
          f"{max(r['peak_mb'] for r in results):.0f} MB")


if __name__ == "__main__":
    main()
