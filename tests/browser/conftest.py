"""Browser fixtures: the app served on a real port, headless Chromium driven by Playwright.

`live_server` serves an app built with `make_app` (so on this test's freshly migrated database) from
a daemon thread and yields its base URL; `live_app` is that same app, for reading and writing the
database from the test (`with live_app.app_context(): ...`). `browser` is one Chromium per session;
`page` is a new context and page per test, JavaScript on (`page_nojs`: off). Every test in this
folder is marked `browser`.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from chorus import clock
from chorus.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "correct horse battery staple"
TIMEOUT_MS = 5_000  # a local server: anything slower than this is a failure, not a wait

_HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


# ------------------------------------------------------------------ the server


@pytest.fixture
def live_app(make_app):
    return make_app()


@pytest.fixture
def live_server(live_app):
    """The base URL (http://127.0.0.1:<port>, no trailing slash) of `live_app` served in a thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    # Join the request threads at server_close(): a request still running (an htmx search typed just
    # before the test ended) must give its database connection back before the app is torn down.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="chorus-live-server",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------ the browser


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}, which does not exist")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Kept for safety: a page without <link rel=icon> makes Chromium ask for /favicon.ico and log the 404.
IGNORED_CONSOLE_URLS = re.compile(r"^https?://[^/]+/favicon\.ico$")
FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")


class PageErrors(list):
    """JavaScript errors of one page: console errors and uncaught exceptions ("console: ..." /
    "pageerror: ..."); a Content-Security-Policy violation is one of them.

    Chromium also logs every 4xx/5xx answer as a console error. Those go to `http`, as
    "<status> <path>" strings, since a 422 (form errors) or a 401 (session over, for htmx) is the
    design: the tests say which ones they expect.
    """

    def __init__(self):
        super().__init__()
        self.http: list[str] = []

    def attach(self, page):
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.append(f"pageerror: {exc}"))

    def _on_console(self, msg):
        if msg.type != "error":
            return
        url = msg.location.get("url", "")
        if IGNORED_CONSOLE_URLS.match(url):
            return
        failed = FAILED_LOAD.match(msg.text)
        if failed:
            self.http.append(f"{failed.group(1)} {re.sub(r'^https?://[^/]+', '', url)}")
        else:
            self.append(f"console: {msg.text} ({url})")


@pytest.fixture
def make_page(browser, live_server):
    """A factory: a page in a new browser context, `base_url` set to the live server.

    Its JavaScript errors are in `make_page.errors(page)` (a `PageErrors`).
    """
    contexts = []

    def factory(*, java_script_enabled=True, **context_options):
        context = browser.new_context(base_url=live_server, java_script_enabled=java_script_enabled,
                                      locale="fr-FR", **context_options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        errors = PageErrors()
        errors.attach(page)
        _errors_by_page[id(page)] = errors
        return page

    _errors_by_page: dict[int, PageErrors] = {}
    factory.errors = lambda page: _errors_by_page[id(page)]
    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def page(request, make_page):
    """A page with JavaScript on; `@pytest.mark.parametrize("page", [{"java_script_enabled": False}],
    indirect=True)` passes other context options."""
    return make_page(**getattr(request, "param", {}))


@pytest.fixture
def page_nojs(make_page):
    return make_page(java_script_enabled=False)


@pytest.fixture
def console_errors(page, make_page):
    """The JavaScript errors of `page` (a CSP violation shows up here); `.http`: its failed loads."""
    return make_page.errors(page)


# ------------------------------------------------------------------ the database, seen from the test


class Mailbox:
    """The outbox of the live app, read as the recipient would."""

    def __init__(self, app):
        self.app = app

    def all(self, to=None):
        from chorus.mail.models import OutboxMessage

        with self.app.app_context():  # a fresh context: its own session, nothing cached
            db.session.expire_all()
            query = db.select(OutboxMessage).order_by(OutboxMessage.id)
            if to:
                query = query.where(OutboxMessage.to_addr == to)
            from chorus.mail.outbox import rendered

            # Mails queued in bulk are rendered by the sender: read them as it will send them.
            return [(m.to_addr, *rendered(m)) for m in db.session.execute(query).scalars()]

    def link(self, to) -> str:
        """The path of the first link in the last e-mail to `to`."""
        messages = self.all(to)
        assert messages, f"no e-mail to {to}"
        match = re.search(r"https?://[^/\s]+(/\S+)", messages[-1][2])
        assert match, f"no link in the e-mail: {messages[-1][2]!r}"
        return match.group(1)


@pytest.fixture
def mailbox(live_app):
    return Mailbox(live_app)


class Database:
    """Direct changes to the live app's database, as tests/conftest.py `Accounts.create` makes them."""

    def __init__(self, app):
        self.app = app

    def create_account(self, email="agent@mairie.example", *, last_name="Martin", first_name="Claire",
                       password=PASSWORD) -> int:
        from chorus.accounts.models import User
        from chorus.accounts.passwords import hash_password
        from chorus.database import transaction

        with self.app.app_context():
            with transaction():
                now = clock.now()
                user = User(last_name=last_name, first_name=first_name, login_email=email.lower(),
                            contact_email=email.lower(), phone="", status="active", kind="person", origin="self",
                            is_pigp=False, is_admin=False, password_hash=hash_password(password),
                            created_at=now, activated_at=now)
                db.session.add(user)
            return user.id

    def user(self, email):
        from chorus.accounts.models import User

        with self.app.app_context():
            user = db.session.execute(db.select(User).where(User.login_email == email)).scalar_one()
            return {"status": user.status, "phone": user.phone, "contact_email": user.contact_email,
                    "first_name": user.first_name, "last_name": user.last_name}

    def end_all_sessions(self) -> int:
        """Delete every server-side login session (logout elsewhere, expiry); returns how many."""
        from chorus.accounts.models import UserSession
        from chorus.database import transaction

        with self.app.app_context():
            with transaction():
                deleted = db.session.execute(db.delete(UserSession)).rowcount
            return deleted


@pytest.fixture
def database(live_app):
    return Database(live_app)


MANAGER = "gestionnaire@mairie.example"


@pytest.fixture
def structure_id(live_app, database):
    """A private structure, "Commune de Saint-Exemple", whose primary manager is MANAGER (log in with log_in)."""
    from chorus.accounts.models import User
    from helpers import make_structure

    database.create_account(MANAGER)
    with live_app.app_context():
        manager = db.session.execute(db.select(User).where(User.login_email == MANAGER)).scalar_one()
        return make_structure(manager, "Commune de Saint-Exemple").id
