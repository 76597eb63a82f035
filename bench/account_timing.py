"""Timing of "Mot de passe oublié" and "Créer votre compte", known vs unknown address (P6-7), on demand:
`.venv/bin/python bench/account_timing.py [--pg URL] [--rounds N]`.

An attacker who times these answers must not tell an existing account apart. Reported: the server time
(median) of each case and the ratio known / unknown, the two cases interleaved so that drift hits both.
Nothing is asserted (tests count the statements instead: tests/test_hardening.py); a ratio near 1.0 is the aim.
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

from chorus import create_app, migrations  # noqa: E402
from chorus.extensions import db  # noqa: E402
from helpers import Accounts, CSRFClient  # noqa: E402

NO_LIMITS = {"MAIL_REQUESTS_PER_ADDRESS": 10**9, "MAIL_REQUESTS_PER_RECIPIENT": 10**9}


def median_ms(samples):
    return statistics.median(samples) * 1000


def run(database_url: str, rounds: int):
    tmp = tempfile.mkdtemp()
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": database_url, "MAIL_DIR": tmp, **NO_LIMITS})
    app.test_client_class = CSRFClient
    results = []
    with app.app_context():
        migrations.upgrade()
        accounts = Accounts()
        for i in range(rounds):
            accounts.create(f"connu{i}@bench.example")
        client = app.test_client()

        def timed(data, url):
            start = time.perf_counter()
            response = client.post(url, data=data)
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, response.status_code
            return elapsed

        cases = {
            "Mot de passe oublié": ("/mot-de-passe-oublie", lambda i: {"email": f"connu{i}@bench.example"},
                                    lambda i: {"email": f"inconnu{i}@bench.example"}),
            "Créer votre compte": ("/inscription",
                                   lambda i: _person(f"connu{i}@bench.example"),
                                   lambda i: _person(f"nouveau{i}@bench.example")),
        }
        for label, (url, known, unknown) in cases.items():
            timed(known(0), url), timed(unknown(rounds), url)  # warm-up
            known_s, unknown_s = [], []
            for i in range(rounds):
                known_s.append(timed(known(i), url))
                unknown_s.append(timed(unknown(i), url))
            results.append((label, median_ms(known_s), median_ms(unknown_s)))
        db.session.remove()
        db.engine.dispose()
    return results


def _person(email):
    return {"for_whom": "self", "last_name": "Banc", "first_name": "Essai", "login_email": email,
            "contact_email": "", "phone": ""}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="also run against this PostgreSQL URL (an empty database)")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    targets = [("SQLite", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")]
    if args.pg:
        targets.append(("PostgreSQL", args.pg))
    for name, url in targets:
        print(f"\n{name}: server time, median of {args.rounds} interleaved tries")
        print(f"{'form':24} {'known ms':>9} {'unknown ms':>11} {'known / unknown':>16}")
        for label, known, unknown in run(url, args.rounds):
            print(f"{label:24} {known:9.2f} {unknown:11.2f} {known / unknown:16.2f}")


if __name__ == "__main__":
    main()
