"""Benchmarks at national scale, one command:

    .venv/bin/python bench/run.py [--sqlite FILE] [--pg URL] [--rounds N] [--load-seconds S] [--report FILE]
    .venv/bin/python bench/run.py --pages utilisateur --bulk-rounds 0 --load-seconds 0   # some pages only

The data set comes from bench/generate.py (made once, reused). Every figure is a ratio to a floor
measured in the same run, on the same database, interleaved with the pages (these machines are
noisy: absolute times mean little, ratios travel):
- server time p50/p95 of each manager page and search, divided by the floor page's p95 (the bare
  route's indexed SELECT rendered in the site layout, bench/plugin.py);
- bulk validation of 1,000 requests;
- requests per second of a mixed load (90 % manager pages, 10 % writes) through 4 gunicorn
  workers, divided by the bare route's requests per second under the same load.
Goals (P5): every page p95 <= 2x the floor page; bulk validation < 0.5 s; mixed load >= 0.5x; 0 errors.
Nothing here is asserted: tests never time anything.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import platform
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE), str(ROOT / "tests")]

from generate import BIG, BULK_MANAGER, BULK_STRUCTURE, CLIENTS, MANAGER, PASSWORD  # noqa: E402
from plugin import BenchPlugin  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from chorus import clock, create_app, migrations  # noqa: E402
from chorus.accounts.models import User  # noqa: E402
from chorus.database import transaction  # noqa: E402
from chorus.extensions import db  # noqa: E402
from chorus.mail.models import OutboxMessage  # noqa: E402
from chorus.memberships.models import Membership  # noqa: E402
from chorus.structures.models import Structure  # noqa: E402
from helpers import CSRFClient  # noqa: E402

DEFAULT_SQLITE = "/work/p5-data/national.sqlite3"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(int(round(len(ordered) * 0.95)) - 1, 0)]


def pages(app) -> list[tuple[str, str]]:
    """(label, URL) of the manager's pages and searches, on the data set's large structure."""
    with app.app_context():
        siret = db.session.execute(select(Structure.identifier).where(Structure.id == 7)).scalar_one()
        someone = db.session.execute(select(User.login_email).where(User.id > 7000).order_by(User.id).limit(1)
                                     ).scalar_one()
        member = db.session.execute(  # a person of the large structure, for the user directory's address search
            select(User.login_email).join(Membership, Membership.user_id == User.id)
            .where(Membership.structure_id == BIG, Membership.status == "validated")
            .order_by(Membership.id).offset(100).limit(1)).scalar_one()
    return [
        ("Activités du gestionnaire", "/gestionnaire/"),
        ("Demandes de rattachement (1 000+)", "/gestionnaire/rattachements"),
        ("Demandes, page 10", "/gestionnaire/rattachements?page=10"),
        ("Fiche structure (5 000 membres)", f"/structures/{BIG}"),
        ("Fiche structure, membres page 100", f"/structures/{BIG}?membres=100"),
        ("Historique, 1re page (20 000 actions)", f"/structures/{BIG}/historique"),
        ("Historique filtré par action", f"/structures/{BIG}/historique?action=membership.refused"),
        ("Mes structures : « mairie »", "/gestionnaire/?q=mairie"),
        ("Mes structures : « ecole » (accents)", "/gestionnaire/?q=ecole"),
        ("Mes structures : un SIRET", f"/gestionnaire/?q={siret}"),
        ("Utilisateurs : nom « martin »", f"/structures/{BIG}/rattacher?last_name=martin"),
        ("Utilisateurs : courriel exact", f"/structures/{BIG}/rattacher?email={urllib.parse.quote(someone)}"),
        # Rechercher un utilisateur (P11): the manager's 50 structures, 5,000+ people in the large one.
        ("Rechercher un utilisateur : tous", "/gestionnaire/utilisateurs"),
        ("Rechercher un utilisateur : nom « martin »", "/gestionnaire/utilisateurs?nom=martin"),
        ("Rechercher un utilisateur : adresse de connexion",
         f"/gestionnaire/utilisateurs?adresse={urllib.parse.quote(member)}"),
        ("Rechercher un utilisateur : désignation « bordeaux »", "/gestionnaire/utilisateurs?designation=bordeaux"),
        ("Rechercher un utilisateur : désignation et statut",
         "/gestionnaire/utilisateurs?designation=bordeaux&statut=pending"),
        ("Rechercher un utilisateur : page 50, tri par structure", "/gestionnaire/utilisateurs?page=50&tri=structure"),
    ]


def measure_pages(app, rounds: int, before: bool = False, only: str = "") -> list[tuple[str, float, float]]:
    """p50/p95 of each page (those whose label matches the regular expression `only`, if given)."""
    client = app.test_client()
    response = client.post("/connexion", data={"email": MANAGER, "password": PASSWORD})
    assert response.status_code == 303, response.status_code
    targets = [("Route nue (texte, un SELECT)", "/bench/bare", False),
               ("Page plancher (même SELECT, gabarit)", "/bench/floor", False)]
    for label, url in pages(app):
        if not only or re.search(only, label, re.I):
            targets.append((label, url, False))
    samples: dict[str, list[float]] = {label: [] for label, _, _ in targets}
    for _ in range(rounds + 2):  # the first two rounds warm up; every page must answer 200
        for label, url, _ in targets:  # interleaved: a noisy second hits every page alike
            start = time.perf_counter()
            status = client.get(url).status_code
            samples[label].append(time.perf_counter() - start)
            assert status == 200, (url, status)
    return [(label, *percentiles(samples[label][2:])) for label, _, _ in targets]


def new_requests(n: int, tag: str) -> list[int]:
    """n new people, each with a pending request to the bulk structure; their membership ids."""
    now = clock.now()
    domain = f"@{tag}.bench.example"
    with transaction():
        first = db.session.execute(select(func.max(User.id))).scalar_one() + 1
        db.session.execute(insert(User), [
            {"id": first + i, "last_name": f"Demandeur{i:04d}", "first_name": "Agnès", "login_email": f"d{i}{domain}",
             "contact_email": f"d{i}{domain}", "phone": "", "status": "active", "kind": "person", "origin": "self",
             "is_pigp": False, "is_admin": False, "created_at": now} for i in range(n)])
        db.session.execute(insert(Membership), [
            {"user_id": first + i, "structure_id": BULK_STRUCTURE, "role": "member", "status": "pending",
             "comment": "", "decision_reason": "", "created_at": now} for i in range(n)])
    return db.session.execute(select(Membership.id).where(
        Membership.status == "pending", Membership.user_id >= first)).scalars().all()


def measure_bulk(app, rounds: int) -> tuple[float, float]:
    client = app.test_client()
    assert client.post("/connexion", data={"email": BULK_MANAGER, "password": PASSWORD}).status_code == 303
    samples = []
    for r in range(rounds):
        with app.app_context():
            ids = new_requests(1000, f"b{int(time.time() * 1000)}r{r}")
            outbox_before = db.session.execute(select(func.count(OutboxMessage.id))).scalar_one()
            db.session.remove()
        start = time.perf_counter()
        response = client.post("/gestionnaire/rattachements", data={"ids": ids, "action": "valider"})
        samples.append(time.perf_counter() - start)
        assert response.status_code == 303, response.status_code
        with app.app_context():
            validated = db.session.execute(select(func.count()).where(
                Membership.id.in_(ids), Membership.status == "validated")).scalar_one()
            mails = db.session.execute(select(func.count(OutboxMessage.id))).scalar_one() - outbox_before
            assert validated == 1000 and mails == 1000, (validated, mails)
            db.session.remove()
    return percentiles(samples)


# ------------------------------------------------------------------ mixed load through gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """A minimal HTTP client keeping its cookies and the page's CSRF token."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self.NoRedirect)
        self.token = ""

    def get(self, path) -> int:
        try:
            response = self.opener.open(self.base + path, timeout=60)
        except urllib.error.HTTPError as e:
            return e.code
        html = response.read().decode()
        match = re.search(r'name="csrf_token" value="([^"]+)"', html)
        if match:
            self.token = match.group(1)
        return response.status

    def post(self, path, data) -> int:
        body = urllib.parse.urlencode({**data, "csrf_token": self.token}).encode()
        try:
            return self.opener.open(self.base + path, body, timeout=60).status
        except urllib.error.HTTPError as e:
            errors = re.findall(r'<small[^>]*class="error"[^>]*>([^<]*)<', e.read().decode())
            self.last_error = " ".join(" ".join(errors).split())[:300]
            return e.code


def logged_in_browsers(base: str) -> list[Browser]:
    browsers = []
    for n in range(CLIENTS):  # one manager per client (logins of one account at once are throttled)
        b = Browser(base)
        b.get("/connexion")
        status = b.post("/connexion", {"email": f"client{n + 1}@bench.example", "password": PASSWORD})
        assert status == 303, (n, status, getattr(b, "last_error", ""))
        b.get("/bench/floor")  # a page with the CSRF token
        browsers.append(b)
    return browsers


def run_load(browsers: list[Browser], reads: list[str], seconds: float, mixed: bool) -> tuple[int, int, float]:
    """One thread per browser (each a manager) for `seconds`: (requests done, errors, elapsed)."""
    done, errors, lock = [0], [0], threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(n, browser):
        own = 50 + n + 1  # the structure this client's manager owns (bench/generate.py)
        i = n
        while time.perf_counter() < deadline:
            i += 1
            if not mixed:
                ok = browser.get("/bench/bare") == 200
            elif i % 10 == 0:  # 10 % writes: "Modification de la structure", address block
                ok = browser.post(f"/structures/{own}/modifier/adresse",
                                  {"address": "1 rue Test", "city": f"Ville {n}-{i}", "country_code": "FR"}) == 303
            else:
                ok = browser.get(reads[i % len(reads)]) == 200
            with lock:
                done[0] += 1
                errors[0] += not ok

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n, b)) for n, b in enumerate(browsers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0], errors[0], time.perf_counter() - start


def measure_load(app, database_url: str, seconds: float) -> dict:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench",
           "CHORUS_INSTANCE_PATH": tempfile.mkdtemp()}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "4", "--bind", f"127.0.0.1:{port}",
                                "--log-level", "warning", "wsgi:app"], cwd=HERE, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/connexion", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        reads = [url for _, url in pages(app) if "rattacher?" not in url]  # searches of users: see the report
        browsers = logged_in_browsers(base)
        results = {}
        for phase in ("bare", "mixed", "bare", "mixed"):  # alternated, in case the machine's load drifts
            n, errors, elapsed = run_load(browsers, reads, seconds / 2, mixed=phase == "mixed")
            total = results.setdefault(phase, [0, 0, 0.0])
            total[0] += n
            total[1] += errors
            total[2] += elapsed
        return {phase: (n / elapsed, errors, n) for phase, (n, errors, elapsed) in results.items()}
    finally:
        process.terminate()
        process.wait(timeout=30)


# ------------------------------------------------------------------ report


def machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()
    return (f"{platform.node()}: {os.cpu_count()} CPU ({cpu}), Linux {platform.release()}, Python "
            f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average at start "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def run_target(name: str, url: str, args) -> list[str]:
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "MAIL_DIR": tempfile.mkdtemp(),
                      "EXTRA_PLUGINS": [BenchPlugin()]})
    app.test_client_class = CSRFClient
    with app.app_context():
        if not args.before:
            migrations.upgrade()
        sizes = {m.__tablename__: db.session.execute(select(func.count()).select_from(m)).scalar_one()
                 for m in (Structure, User, Membership)}
        from chorus.history.models import HistoryEntry

        sizes["history_entry"] = db.session.execute(select(func.count()).select_from(HistoryEntry)).scalar_one()
        pending = db.session.execute(select(func.count()).where(Membership.status == "pending")).scalar_one()
        db.session.remove()
    lines = [f"### {name}", "",
             f"Data set: {sizes['structure']:,} structures, {sizes['user_account']:,} users, "
             f"{sizes['membership']:,} memberships ({pending:,} pending), {sizes['history_entry']:,} history rows.",
             "", f"Server time per request, {args.rounds} interleaved rounds (Flask test client, in process):", "",
             "| page | p50 ms | p95 ms | p50 / floor p50 | p95 / floor p95 |", "|---|---:|---:|---:|---:|"]
    rows = measure_pages(app, args.rounds, args.before, args.pages)
    floor50, floor95 = rows[1][1], rows[1][2]
    for label, p50, p95 in rows:
        lines.append(f"| {label} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {p50 / floor50:.2f} | {p95 / floor95:.2f} |")
    print("\n".join(lines), flush=True)
    if not args.bulk_rounds:
        return lines
    bulk = []
    p50, p95 = measure_bulk(app, args.bulk_rounds)
    bulk.append(f"| bulk validation of 1,000 requests | {p50 * 1000:.0f} | {p95 * 1000:.0f} |")
    lines += ["", f"Bulk validation ({args.bulk_rounds} rounds, 1,000 new requests each, POST without htmx):", "",
              "| operation | p50 ms | max ms |", "|---|---:|---:|", *bulk]
    print("\n".join(lines[-len(bulk) - 4:]), flush=True)
    if args.load_seconds:
        load = measure_load(app, url, args.load_seconds)
        bare_rps, mixed_rps = load["bare"][0], load["mixed"][0]
        lines += ["", f"Mixed load: 4 gunicorn workers, {CLIENTS} clients (one manager each), "
                      f"{args.load_seconds:.0f} s per kind in two alternated halves:", "",
                  "| load | req/s | requests | errors |", "|---|---:|---:|---:|",
                  f"| bare route only | {bare_rps:.1f} | {load['bare'][2]} | {load['bare'][1]} |",
                  f"| 90 % manager pages, 10 % writes | {mixed_rps:.1f} | {load['mixed'][2]} | {load['mixed'][1]} |",
                  "", f"Mixed / bare: **{mixed_rps / bare_rps:.2f}x**"]
        print("\n".join(lines[-7:]), flush=True)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", default=DEFAULT_SQLITE, help="data set made by bench/generate.py ('' to skip)")
    parser.add_argument("--pg", help="also run against this PostgreSQL data set (bench/generate.py)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--bulk-rounds", type=int, default=3, help="0 skips the bulk validation (and the load)")
    parser.add_argument("--pages", default="", help="only the pages whose label matches this regular expression "
                                                     "(the bare route and the floor page always)")
    parser.add_argument("--load-seconds", type=float, default=20, help="0 skips the gunicorn load")
    parser.add_argument("--report", help="also write the figures (markdown) to this file")
    parser.add_argument("--before", action="store_true",
                        help="measure a checkout from before P5 (run this file from its bench/ folder, on a data set "
                             "downgraded to revision 0003): no migration, no proposed wiring")
    args = parser.parse_args()
    out = [f"## Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "", machine(), ""]
    print("\n".join(out), flush=True)
    targets = ([("SQLite", f"sqlite:///{args.sqlite}")] if args.sqlite else []) + (
        [("PostgreSQL", args.pg)] if args.pg else [])
    for name, url in targets:
        out += run_target(name, url, args) + [""]
    if args.report:
        Path(args.report).write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
