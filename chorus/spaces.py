"""Spaces (SPEC ESP-1: the tabs of the top bar) and user-menu entries, as plugins declare them."""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from .permissions import can
from .plugins import collect, hook


@dataclass(frozen=True)
class Space:
    code: str  # e.g. "MON_COMPTE", "FACTURES_RECUES"
    label: str  # French, as in the guides
    endpoint: str  # its landing page
    order: int = 100
    public_only: bool = False  # SPEC ESP-2: "Factures reçues", "Sollicitations reçues"

    @property
    def href(self) -> str:
        return url_for(self.endpoint)


@dataclass(frozen=True)
class NavEntry:
    href: str
    label: str
    order: int = 100


def all_spaces() -> list[Space]:
    spaces = collect(hook().register_spaces())
    return sorted(spaces, key=lambda s: (s.order, s.label))


def reachable_spaces(user) -> list[Space]:
    """The spaces `user` may open: those an 'space.access' vote allows (SPEC ACC-4, ESP-5)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return [s for s in all_spaces() if can(user, "space.access", s)]


def set_current(code: str) -> None:
    """Say which space the page being rendered belongs to, when its address does not (its tab is highlighted)."""
    from flask import g

    g.chorus_space = code


def current() -> str | None:
    from flask import g

    return g.get("chorus_space")


def navigation(user) -> list[NavEntry]:
    entries = collect(hook().navigation_entries(user=user))
    return sorted(entries, key=lambda e: (e.order, e.label))
