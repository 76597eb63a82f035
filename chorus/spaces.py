"""Spaces (SPEC ESP-1: the tabs of the top bar) and user-menu entries, as plugins declare them."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for
from flask_login import current_user

from .database import SAFE_METHODS
from .permissions import Denied, can
from .plugins import collect, hook


@dataclass(frozen=True)
class Space:
    code: str  # e.g. "MON_COMPTE", "FACTURES_RECUES"
    label: str  # French, as in the guides
    endpoint: str  # its landing page
    order: int = 100
    public_only: bool = False  # SPEC ESP-2: "Factures reçues", "Sollicitations reçues"
    # The URL prefix the space owns (e.g. "/factures-recues"): the core guards every route under it (ESP-5),
    # whoever registered the route. None: the space's views guard themselves (the core's own spaces).
    prefix: str | None = None

    @property
    def href(self) -> str:
        return url_for(self.endpoint)


@dataclass(frozen=True)
class SpaceOn:
    """A space on one structure: what a space route naming a structure (`structure_id` view argument) asks about."""

    space: Space
    structure_id: int


@dataclass(frozen=True)
class NavEntry:
    href: str
    label: str
    order: int = 100


def all_spaces() -> list[Space]:
    """Every registered space, in tab order (read once per app: start-up data)."""
    from flask import current_app

    known = current_app.extensions.get("chorus.spaces")
    if known is None:
        known = sorted(collect(hook().register_spaces()), key=lambda s: (s.order, s.label))
        current_app.extensions["chorus.spaces"] = known
    return list(known)


def reachable_spaces(user) -> list[Space]:
    """The spaces `user` may open: those an 'space.access' vote allows (SPEC ACC-4, ESP-5)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return [s for s in all_spaces() if can(user, "space.access", s)]


def space_of_path(path: str) -> Space | None:
    """The space whose prefix owns `path` (the longest prefix wins), or None."""
    owners = [s for s in all_spaces() if s.prefix and (path == s.prefix or path.startswith(s.prefix.rstrip("/") + "/"))]
    return max(owners, key=lambda s: len(s.prefix), default=None)


def guard():
    """One declaration for every route of a space (SPEC ESP-5), known or not to the space's module.

    Reading (GET, HEAD) needs the vote "space.access", anything else "space.modify": Consultation reads,
    Modification acts, refused by the server and not only hidden. A route naming a structure (view argument
    `structure_id`) asks about that structure (a `SpaceOn`): a right on structure A opens nothing on B.
    An address under the prefix that matches no route is refused the same way (nothing learnt from it).
    """
    space = space_of_path(request.path)
    if space is None:
        return None
    if not current_user.is_authenticated:
        from .extensions import login_manager

        return login_manager.unauthorized()
    wanted = "space.access" if request.method in SAFE_METHODS else "space.modify"
    structure_id = (request.view_args or {}).get("structure_id")
    if structure_id is not None and not isinstance(structure_id, int):
        raise Denied()  # a route naming its structure must take an integer (the `id` converter)
    obj = space if structure_id is None else SpaceOn(space, structure_id)
    if not can(current_user, wanted, obj):
        raise Denied()
    return None


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
