"""Helpers of the browser tests (tests/browser): page checks shared by every journey."""
from __future__ import annotations

import re

from playwright.sync_api import expect


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
