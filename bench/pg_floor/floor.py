# ruff: noqa  (throw-away measuring tools, see README.md)
"""Floors of the export on PostgreSQL, with psycopg and no application: wall, client CPU, backend CPU."""
import os
import resource
import sys
import time

import psycopg

DSN = os.environ.get("DSN", "host=127.0.0.1 port=54379 dbname=export user=chorus password=chorus")
TICK = os.sysconf("SC_CLK_TCK")


POSTMASTER = int(open(os.environ.get("PGDATA", "/var/lib/postgresql/15/p11") + "/postmaster.pid").read().split()[0])


def backend_cpu(pid):
    """CPU of the whole server: every child of the postmaster (the backend, parallel workers, background processes),
    those that ended included."""
    # the children that ended (parallel workers) count in the postmaster's cutime and cstime
    f = open(f"/proc/{POSTMASTER}/stat").read().rsplit(")", 1)[1].split()
    total = int(f[13]) + int(f[14])
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                f = open(f"/proc/{e}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(f[1]) == POSTMASTER:
                total += int(f[11]) + int(f[12])
    return total / TICK


def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def run(kind, sql, itersize=5000):
    with psycopg.connect(DSN) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        for s in SETTINGS:
            conn.execute(s)
        b0, c0, t0 = backend_cpu(pid), cpu(), time.perf_counter()
        rows = size = 0
        first = None
        if kind in ("cursor", "lines"):  # lines: one text column, joined and encoded as the app would send it
            with conn.cursor(name="export") as cur:
                cur.itersize = itersize
                cur.execute(sql)
                while True:
                    batch = cur.fetchmany(itersize)
                    if first is None:
                        first = time.perf_counter() - t0
                    if not batch:
                        break
                    rows += len(batch)
                    if kind == "lines":
                        size += len("\r\n".join([r[0] for r in batch]).encode())
        elif kind == "copy":
            with conn.cursor() as cur:
                with cur.copy(f"COPY ({sql}) TO STDOUT") as copy:
                    pending, n = [], 0
                    for block in copy:
                        pending.append(block)
                        n += len(block)
                        if n >= 65536:
                            data = b"".join(pending)
                            pending.clear()
                            n = 0
                            rows += data.count(b"\n")
                            if b"\\" in data:
                                raise SystemExit("escape")
                            data = data.replace(b"\n", b"\r\n")
                            size += len(data)
                            if first is None:
                                first = time.perf_counter() - t0
                    data = b"".join(pending)
                    rows += data.count(b"\n")
                    size += len(data.replace(b"\n", b"\r\n"))
        t = time.perf_counter() - t0
        c, b = cpu() - c0, backend_cpu(pid) - b0
    print(f"{kind:6} {rows:>9,} rows {size/1e6:6.0f} MB  wall {t:6.2f} s = {rows/t:>9,.0f} rows/s  first {first:5.2f} s  "
          f"client CPU {c:5.2f} s  backend CPU {b:5.2f} s", flush=True)
    return rows, t


SETTINGS = [s for s in os.environ.get("PGSET", "").split(";") if s.strip()]
if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    sql = open(path).read().strip().rstrip(";")
    for _ in range(int(os.environ.get("ROUNDS", "1"))):
        run(kind, sql)
