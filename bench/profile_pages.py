"""Where one page's server time goes, at the data set's scale (a helper for the benchmark, not a test):

    .venv/bin/python bench/profile_pages.py [--db URL] [--n 200] [--sort tottime] URL_PATH...

For each path: the statements one request sends (count and SQL time), the time per request, and the
cProfile of `--n` requests (top functions). Logs in as the benchmark's manager (bench/generate.py).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE), str(HERE.parent / "tests")]

from generate import MANAGER, PASSWORD  # noqa: E402
from plugin import BenchPlugin  # noqa: E402
from sqlalchemy import event  # noqa: E402

from chorus import create_app, migrations  # noqa: E402
from chorus.extensions import db  # noqa: E402
from helpers import CSRFClient  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite:////work/p5-data/national-head.sqlite3")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sql", action="store_true", help="print each statement of one request")
    parser.add_argument("--ratios", type=int, metavar="ROUNDS",
                        help="median CPU time of each path over interleaved rounds, ratio to the first")
    parser.add_argument("--no-upgrade", action="store_true", help="measure an older checkout: leave the schema be")
    parser.add_argument("paths", nargs="+", help='URL paths; "bench": the bare route, the floor and run.py\'s pages')
    args = parser.parse_args()
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": args.db, "MAIL_DIR": tempfile.mkdtemp(),
                      "EXTRA_PLUGINS": [BenchPlugin()]})
    app.test_client_class = CSRFClient
    if not args.no_upgrade:
        with app.app_context():
            migrations.upgrade()
    if args.paths == ["bench"]:
        from run import pages

        args.paths = ["/bench/bare", "/bench/floor"] + [url for _, url in pages(app)]
    client = app.test_client()
    assert client.post("/connexion", data={"email": MANAGER, "password": PASSWORD}).status_code == 303
    if args.ratios:
        samples: dict = {path: ([], []) for path in args.paths}
        for _ in range(args.ratios):
            for path in args.paths:
                cpu, wall = time.process_time(), time.perf_counter()
                assert client.get(path).status_code == 200, path
                samples[path][0].append(time.process_time() - cpu)
                samples[path][1].append(time.perf_counter() - wall)
        base_cpu, base_wall = (statistics.median(s) for s in samples[args.paths[0]])
        for path in args.paths:
            cpu, wall = (statistics.median(s) for s in samples[path])
            print(f"{cpu * 1e3:7.2f} ms CPU {cpu / base_cpu:5.2f}x {wall * 1e3:7.2f} ms {wall / base_wall:5.2f}x", path)
        return
    for path in args.paths:
        for _ in range(5):
            assert client.get(path).status_code == 200, path
        sql: list = []

        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info["t"] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany, sql=sql):
            sql.append((time.perf_counter() - conn.info["t"], " ".join(statement.split())[:300]))

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        client.get(path)
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        print(f"== {path}: {len(sql)} statements, {sum(t for t, _ in sql) * 1000:.2f} ms of SQL")
        if args.sql:
            for t, s in sql:
                print(f"  {t * 1000:7.2f} ms  {s}")
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.n):
            client.get(path)
        print(f"   {(time.perf_counter() - start) / args.n * 1000:.2f} ms per request, "
              f"{(time.process_time() - cpu) / args.n * 1000:.2f} ms of CPU (unprofiled)")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.n):
            client.get(path)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
