"""The siret_change plugin's rows of the permission matrix (tests/test_permission_matrix.py loads this file while
the plugin is on). A is a local authority: its identifier changes through the directory (SIR-5), nobody's screen;
C is private, where the primary actor is a secondary manager (SIR-1: managers, secondary ones too), the secondary
actor a plain member. The rows change nothing: the last step is posted with a wrong identifier (422), the change
itself is tested in tests/plugins/siret_change/."""
from __future__ import annotations

from helpers import new_siret

VALUES = {"C": 3}


def populate(world) -> dict:
    return {"C": world.C}


def _new(w):
    return {"identifier": new_siret()}


def _wrong(w):
    return {"identifier": "12345678901234"}


def rows(m) -> list:
    Row, roles, LOGIN = m.Row, m.roles, m.LOGIN
    nobody = roles(LOGIN, 403, 403, 403, 403)  # A: a local authority
    other = roles(LOGIN, 404, 404, 404, 403)  # B: not the actors' (administrators see it, manage nothing)
    rows = []
    for step, method, data, managers in (("", "GET", None, 200), ("/nouveau", "GET", None, 200),
                                         ("/nouveau", "POST", _new, 200), ("/confirmer", "POST", _wrong, 422)):
        endpoint = {"": "siret_change.start", "/nouveau": "siret_change.new_identifier",
                    "/confirmer": "siret_change.confirm"}[step]
        for obj, expected in (("A", nobody), ("B", other), ("C", roles(LOGIN, 404, 403, managers, 403))):
            rows.append(Row(method, f"/structures/{{{obj}}}/modifier-identifiant{step}", endpoint, obj, expected,
                            data, page=method == "GET" or managers == 200))
    rows.append(Row("GET", "/structures/{A}/modifier-identifiant/confirmer", "siret_change.confirm", "A",
                    m.everyone(405)))
    return rows
