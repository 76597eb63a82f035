"""Issue P6, "Hardening: what an outside attacker found": one section per item."""
from __future__ import annotations

from pathlib import Path

from helpers import page

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ P6-17: say only what is there


def test_pages_and_readme_promise_no_api_that_does_not_exist(client):
    # P6-17: the footer of every page and the README promised "compatible avec l'API Chorus Pro".
    for url in ("/", "/connexion", "/inscription", "/mot-de-passe-oublie"):
        html = page(client.get(url))
        assert "<footer>" in html
        assert "API" not in html.split("<footer>")[1], url
    readme = (ROOT / "README.md").read_text()
    assert "JSON API compatible" not in readme
    assert "not built yet" in readme
