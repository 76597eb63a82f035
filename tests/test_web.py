"""Web plumbing: htmx fragments and full pages, expired sessions, flashes, CSRF, headers, errors, guard."""
from __future__ import annotations

import re

import pytest

from helpers import PASSWORD, page

HX = {"HX-Request": "true"}

# Routes reachable without a session. Anything else must refuse anonymous users (deny by default).
PUBLIC_ENDPOINTS = {
    "static", "accounts.home", "accounts.login", "accounts.register", "accounts.activate",
    "accounts.forgot_password", "accounts.reset_password",
}


def test_every_route_is_public_by_decision_or_refuses_anonymous_users(app, client):
    seen_public = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "chorus_public", False) or rule.endpoint == "static":
            seen_public.add(rule.endpoint)
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "1" if "id" in m.group(1) else "x", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code == 303, (rule.endpoint, method, response.status_code)
            assert response.headers["Location"].startswith("/connexion"), rule.endpoint
    assert seen_public == PUBLIC_ENDPOINTS


def test_htmx_gets_a_fragment_of_the_same_template_and_others_the_full_page(client):
    full = client.get("/inscription")
    fragment = client.get("/inscription", headers=HX)
    assert "HX-Request" in full.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    assert page(full).startswith("<!doctype html>") and "<header>" in page(full)
    body = page(fragment)
    assert "<html" not in body and "<header>" not in body
    assert "<title>Créer votre compte · Chorus</title>" in body
    assert 'name="login_email"' in body  # the same form as in the full page
    assert 'id="flashes" role="status" aria-live="polite" hx-swap-oob="true"' in body


def test_form_errors_come_back_as_a_422_fragment_for_htmx(client):
    response = client.post("/inscription", data={"for_whom": "self"}, headers=HX)
    assert response.status_code == 422
    assert "<html" not in page(response)
    assert "Le champ « Nom » est obligatoire." in page(response)


def test_success_of_an_htmx_form_navigates_with_hx_redirect(client, accounts):
    accounts.create()
    response = client.post("/connexion", data={"email": "agent@mairie.example", "password": PASSWORD}, headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/mon-compte"
    # The flash message waits for the next page, full or fragment.
    assert "Bienvenue, Claire." in page(client.get("/mon-compte", headers=HX))


def test_flash_messages_show_on_full_pages(client, accounts):
    accounts.create()
    accounts.login(client)
    html = page(client.get("/mon-compte"))
    assert re.search(r'<div id="flashes"[^>]*>\s*<p class="notice notice-success">Bienvenue, Claire.</p>', html)
    assert "Bienvenue" not in page(client.get("/mon-compte"))  # shown once


def test_an_expired_session_sends_htmx_to_the_login_page(client, accounts, travel):
    accounts.create()
    accounts.login(client)
    travel(minutes=31)
    headers = {**HX, "HX-Current-URL": "http://localhost/mon-compte"}
    for response in (client.get("/mon-compte", headers=headers),
                     client.post("/mon-compte", data={"last_name": "X"}, headers=headers)):
        assert response.status_code == 401
        assert response.headers["HX-Redirect"] == "/connexion?next=/mon-compte"
        assert response.get_data(as_text=True) == ""  # nothing to swap into the page


def test_csrf_is_required_and_travels_in_the_htmx_header(logged_in):
    data = {"last_name": "Martin", "first_name": "Claire", "contact_email": "c@exemple.fr", "phone": ""}
    missing = logged_in.post("/mon-compte", data=dict(data), csrf=False)
    assert missing.status_code == 400
    assert "Le formulaire a expiré ou ne provient pas de ce site" in page(missing)
    foreign = logged_in.post("/mon-compte", data={**data, "csrf_token": "IjEyMzQi.forged.token"}, csrf=False)
    assert foreign.status_code == 400
    token = logged_in.csrf_token()
    with_header = logged_in.post("/mon-compte", data=dict(data), csrf=False, headers={**HX, "X-CSRFToken": token})
    assert with_header.status_code == 200 and with_header.headers["HX-Redirect"] == "/mon-compte"


def test_csrf_failure_without_a_session_leads_to_the_login_page(client):
    response = client.post("/connexion", data={"email": "a@b.example", "password": "x"}, csrf=False)
    assert response.status_code == 303 and response.headers["Location"].startswith("/connexion")


def test_security_headers(logged_in):
    response = logged_in.get("/mon-compte")
    h = response.headers
    assert "script-src 'self'" in h["Content-Security-Policy"] and "unsafe-inline" not in h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "same-origin"
    assert h["Cache-Control"] == "no-store"
    assert "<script>" not in page(response)


INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def test_no_inline_script_or_event_handler_on_any_page(logged_in):
    # The CSP forbids inline scripts: a page relying on one would break silently in browsers.
    from helpers import make_structure

    structure = make_structure(logged_in.user, "Atelier Sans Script")
    assert INLINE_HANDLER.search('<button type="button" onclick="x()">')  # the check can fail
    for url in ("/mon-compte", f"/structures/{structure.id}", f"/structures/{structure.id}/modifier",
                "/gestionnaire/", "/gestionnaire/rattachements", f"/structures/{structure.id}/rattacher",
                "/mon-compte/rattachements/nouveau", "/structures/nouvelle"):
        html = logged_in.get(url).get_data(as_text=True)
        assert not INLINE_HANDLER.search(html), url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url


def test_pages_have_french_language_and_unique_titles(client):
    titles = set()
    for url in ("/", "/connexion", "/inscription", "/mot-de-passe-oublie"):
        html = page(client.get(url))
        assert '<html lang="fr">' in html
        titles.add(re.search(r"<title>(.*?)</title>", html).group(1))
    assert len(titles) == 4


@pytest.mark.parametrize("method,url,status,text", [
    ("GET", "/nulle-part", 404, "Page introuvable"),
    ("GET", "/deconnexion", 405, "Méthode non autorisée"),  # a state change by GET is refused
])
def test_errors_are_french_pages_without_traceback(client, method, url, status, text):
    response = client.open(url, method=method)
    assert response.status_code == status
    assert text in page(response) and "Traceback" not in page(response)


def test_nul_bytes_are_refused_cleanly(client):
    response = client.post("/inscription", data={"for_whom": "self", "last_name": "Du\x00rand"})
    assert response.status_code == 400
    assert "caractère interdit" in page(response)
    assert client.get("/connexion?next=/a\x00b").status_code == 400


def test_oversized_request_is_refused_with_413(client):
    response = client.post("/inscription", data={"last_name": "x" * (6 * 1024 * 1024)})
    assert response.status_code == 413
    assert "trop volumineux" in page(response)


def test_static_files_are_cacheable_and_vendored(client):
    response = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert response.status_code == 200 and b"htmx" in response.data
    assert response.headers.get("Cache-Control") != "no-store"
    response.close()


def test_out_of_range_numbers_never_give_a_500(app, logged_in):
    """Ids and pages beyond what the database holds, or odd digits, answer cleanly (never a 500)."""
    from helpers import make_structure

    structure = make_structure(logged_in.user, "Atelier Test")
    huge = "9" * 30
    for url in (f"/structures/{huge}", f"/structures/{2**31}", "/structures/0", f"/structures/{huge}/historique",
                f"/gestionnaire/rattachements/{huge}"):
        assert logged_in.get(url).status_code == 404, url
    for url in (f"/gestionnaire/?page={huge}", f"/structures/{structure.id}/historique?page={huge}",
                f"/gestionnaire/rattachements?page={huge}&structure={huge}", "/gestionnaire/?page=-3",
                f"/structures/{structure.id}/historique?page=%C2%B2"):
        assert logged_in.get(url).status_code == 200, url
    for data in ({"ids": [huge, "²", "-1"], "action": "valider"}, {"ids": ["abc"], "action": "refuser"}):
        assert logged_in.post("/gestionnaire/rattachements", data=data).status_code in (303, 422)
    assert logged_in.post("/mon-compte/rattachements/nouveau",
                          data={"structure_id": huge, "role": "member"}).status_code == 404
    response = logged_in.post(f"/structures/{structure.id}/rattacher", data={"user_id": "²", "role": "member"})
    assert response.status_code == 422 and "choisissez l'utilisateur à rattacher" in page(response)


def test_behind_a_proxy_the_client_address_is_the_forwarded_one(make_app, accounts):
    # PROXY_COUNT=1: per-address limits count the real clients, not the proxy
    application = make_app(PROXY_COUNT=1, LOGIN_MAX_FAILURES_PER_ADDRESS=2)
    with application.app_context():
        accounts.create()
        client = application.test_client()
        for _ in range(2):
            client.post("/connexion", data={"email": "x@exemple.fr", "password": "mauvais mot de passe"},
                        headers={"X-Forwarded-For": "10.0.0.1"})
        ok = client.post("/connexion", data={"email": "agent@mairie.example", "password": PASSWORD},
                         headers={"X-Forwarded-For": "10.0.0.2"})
        assert ok.status_code == 303


def test_hsts_when_served_over_https(make_app):
    application = make_app(SESSION_COOKIE_SECURE=True)
    assert "max-age" in application.test_client().get("/").headers["Strict-Transport-Security"]


# ------------------------------------------------------------------ uploads: accepts_files(fields, max_size)


class _Uploads:
    """A throw-away plugin with one upload view: files in "piece" only, 10 bytes at most."""

    def __init__(self):
        from flask import Blueprint, request

        from chorus.web import accepts_files

        self.seen = []
        bp = Blueprint("essai_upload", __name__)

        @bp.post("/essai/envoi")
        @accepts_files("piece", max_size=10)
        def envoi():
            self.seen.append(request.files["piece"].read())
            return "reçu"

        self.bp = bp

    from chorus.hookspecs import hookimpl

    @hookimpl
    def register_blueprints(self):
        return [self.bp]


def test_a_view_limits_its_files_before_it_runs(make_app, accounts):
    import io

    from helpers import page

    plugin = _Uploads()
    application = make_app(EXTRA_PLUGINS=[plugin])
    with application.app_context():
        accounts.create()
        client = application.test_client()
        accounts.login(client)

        def send(**files):
            return client.post("/essai/envoi", data={k: (io.BytesIO(v), f"{k}.txt") for k, v in files.items()},
                               content_type="multipart/form-data")

        assert send(piece=b"0123456789").status_code == 200  # exactly the limit
        response = send(piece=b"0123456789A")  # one byte more: refused while the body is read
        assert response.status_code == 413 and "Fichier ou formulaire trop volumineux" in page(response)
        # A file in a field the view does not name is refused like a file sent to any other form (P6-3).
        response = send(piece=b"ok", autre=b"ok")
        assert response.status_code == 400 and "n'accepte pas de fichier" in page(response)
        # A body that could not be one such file and its form is refused from its length alone.
        response = client.post("/essai/envoi", data={"piece": (io.BytesIO(b"x" * 100_000), "p.txt")},
                               content_type="multipart/form-data")
        assert response.status_code == 413
        assert plugin.seen == [b"0123456789"]
