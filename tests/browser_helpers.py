"""Helpers of the browser tests (tests/browser): page checks shared by every journey."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

AXE = Path(__file__).parent / "browser" / "vendor" / "axe-4.14.1.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def violations(page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page (its context must bypass CSP for the injection)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + ", ".join(n["target"][0] for n in v["nodes"][:3])
            for v in result["violations"]]


def path_of(page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def assert_single_page(page):
    """One whole page: not a page nested in the content area by an htmx swap."""
    expect(page.locator("header")).to_have_count(1)
    expect(page.locator("main")).to_have_count(1)
    expect(page.locator("footer")).to_have_count(1)


def field(scope, label):
    """The form field labelled `label`, whether or not its label ends with the required-field mark "*"."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}(\s*\*)?$"))


def log_in(page, email="gestionnaire@mairie.example", password="correct horse battery staple"):
    """Log in through the login page (by default as the manager of the `structure_id` fixture)."""
    page.goto("/connexion")
    field(page, "Adresse de connexion").fill(email)
    field(page, "Mot de passe").fill(password)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/mon-compte$"))
