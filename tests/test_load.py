"""Writer contention through real HTTP: 4 gunicorn workers, 8 clients writing at once (QUALITY.md).

On SQLite a deferred BEGIN loses about a fifth of such read-then-write requests to "database is
locked"; writing requests here begin IMMEDIATE, so every one must succeed. The final state must
equal the successes: one history entry per accepted change.
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chorus.extensions import db
from chorus.history.models import HistoryEntry
from helpers import PASSWORD, attach, disabled_plugins, fresh, make_structure

ROOT = Path(__file__).resolve().parent.parent
CLIENTS, WRITES = 8, 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(database_url, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "load-test",
           "CHORUS_INSTANCE_PATH": str(tmp_path / "instance"), "CHORUS_MAIL_DIR": str(tmp_path / "mail"),
           # The plugins this run left off stay off in the workers too (their tables are not in the database).
           "CHORUS_DISABLED_PLUGINS": ",".join(disabled_plugins())}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "4", "--threads", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:app"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # up to 30 s on a busy machine
            try:
                urllib.request.urlopen(base + "/connexion", timeout=2)
                break
            except OSError:  # refused, reset or timed out while the workers boot
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


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

    def get(self, path) -> str:
        html = self.opener.open(self.base + path, timeout=30).read().decode()
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        return html

    def post(self, path, data) -> int:
        body = urllib.parse.urlencode({**data, "csrf_token": self.token}).encode()
        try:
            return self.opener.open(self.base + path, body, timeout=30).status
        except urllib.error.HTTPError as e:
            return e.code


def test_concurrent_writers_through_several_workers_all_succeed(app, accounts, gunicorn):
    owner = accounts.create("gerant@atelier.example")
    structure = make_structure(owner, "Atelier Test")
    for n in range(CLIENTS):  # one manager per client, as in an office
        attach(structure, accounts.create(f"gestionnaire{n}@atelier.example"), "secondary")
    url = f"/structures/{structure.id}/modifier/adresse"
    statuses, lock = [], threading.Lock()

    def client(n):
        browser = Browser(gunicorn)
        browser.get("/connexion")
        assert browser.post("/connexion", {"email": f"gestionnaire{n}@atelier.example", "password": PASSWORD}) == 303
        browser.get(f"/structures/{structure.id}/modifier")  # read, then write: the case that used to fail
        for i in range(WRITES):
            status = browser.post(url, {"address": "1 rue Test", "city": f"Ville {n}-{i}", "country_code": "FR"})
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(303) == CLIENTS * WRITES, sorted(set(statuses))
    fresh()
    changes = db.session.execute(select(func.count()).where(
        HistoryEntry.structure_id == structure.id, HistoryEntry.action == "structure.updated")).scalar_one()
    assert changes == CLIENTS * WRITES
