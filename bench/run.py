"""Benchmarks, run on demand: `.venv/bin/python bench/run.py [--pg URL] [--rounds N]`.

Each figure is a ratio to a baseline measured in the same run on the same database (a bare Flask
route reading one row), because these machines are noisy: absolute times mean little, ratios travel.
Reported: server time p50/p95 of the manager's pages and of a bulk validation of 1,000 requests.
Nothing here is asserted; tests never time anything.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from flask import Blueprint  # noqa: E402
from sqlalchemy import text  # noqa: E402

from chorus import create_app, migrations  # noqa: E402
from chorus.extensions import db  # noqa: E402
from chorus.hookspecs import hookimpl  # noqa: E402
from helpers import PASSWORD, Accounts, CSRFClient, make_structure, many_requests  # noqa: E402

bare = Blueprint("bench_bare", __name__)


@bare.get("/bench/bare")
def bare_route():
    return str(db.session.execute(text("SELECT 1")).scalar())


class BarePlugin:
    @hookimpl
    def register_blueprints(self):
        return [bare]


def percentiles(samples):
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def timed(fn, rounds):
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def run(database_url: str, rounds: int) -> list[tuple[str, float, float, float]]:
    tmp = tempfile.mkdtemp()
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": database_url, "MAIL_DIR": tmp,
                      "EXTRA_PLUGINS": [BarePlugin()]})
    app.test_client_class = CSRFClient
    rows = []
    with app.app_context():
        migrations.upgrade()
        accounts = Accounts()
        admin = accounts.create("admin@bench.example", is_admin=True)
        manager = accounts.create("manager@bench.example")
        structures = [make_structure(manager, f"Structure {i:03d}", public=i % 2 == 0, admin=admin)
                      for i in range(200)]
        for s in structures[:20]:
            from chorus.structures import services

            for k in range(10):
                services.update(manager, s, {"city": f"Ville {k}"})
        client = app.test_client()
        client.post("/connexion", data={"email": "manager@bench.example", "password": PASSWORD})
        base50, base95 = timed(lambda: client.get("/bench/bare"), rounds)
        rows.append(("bare Flask route (baseline)", base50, base95, 1.0))
        for label, url in (("Mon compte", "/mon-compte"), ("Activités du gestionnaire", "/gestionnaire/"),
                           ("Mes structures, recherche", "/gestionnaire/?q=structure 01"),
                           ("Fiche structure", f"/structures/{structures[0].id}"),
                           ("Historique", f"/structures/{structures[0].id}/historique")):
            p50, p95 = timed(lambda url=url: client.get(url), rounds)
            rows.append((label, p50, p95, p50 / base50))
        samples = []
        for r in range(3):
            ids = many_requests(structures[1], 1000, tag=f"bench{r}")
            start = time.perf_counter()
            response = client.post("/gestionnaire/rattachements", data={"ids": ids, "action": "valider"})
            samples.append(time.perf_counter() - start)
            assert response.status_code == 303, response.status_code
        p50, p95 = percentiles(samples)
        rows.append(("bulk validation, 1,000 requests", p50, p95, p50 / base50))
        db.session.remove()
        db.engine.dispose()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="also run against this PostgreSQL URL (an empty database)")
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    targets = [("SQLite", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")]
    if args.pg:
        targets.append(("PostgreSQL", args.pg))
    for name, url in targets:
        print(f"\n{name}: server time per request ({args.rounds} rounds; bulk: 3 rounds)")
        print(f"{'operation':40} {'p50 ms':>9} {'p95 ms':>9} {'p50 / baseline':>15}")
        for label, p50, p95, ratio in run(url, args.rounds):
            print(f"{label:40} {p50 * 1000:9.2f} {p95 * 1000:9.2f} {ratio:15.1f}")


if __name__ == "__main__":
    main()
