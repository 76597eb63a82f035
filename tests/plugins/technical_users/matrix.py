"""The technical users plugin's rows of the permission matrix (tests/test_permission_matrix.py loads this file while
the plugin is switched on). A: the actors' structure, whose primary manager alone manages its technical user
(TEC-1, TEC-2); B: another one. The rows run in order: create, export, export again, reset."""
from __future__ import annotations

VALUES: dict = {}


def populate(world) -> dict:
    return {}


def _technical(w):
    return {"login_email": "si@alpha.example", "contact_email": ""}


def rows(m) -> list:
    """`m`: the matrix module (Row, roles, LOGIN)."""
    Row, roles, LOGIN = m.Row, m.roles, m.LOGIN
    a, b = "/structures/{A}/utilisateur-technique", "/structures/{B}/utilisateur-technique"
    primary_only = lambda status: roles(LOGIN, 403, 403, status, 403)  # noqa: E731
    foreign = roles(LOGIN, 404, 404, 404, 403)  # MGR-2; administrators see B's record, manage nothing
    return [
        Row("GET", a + "/nouveau", "technical_users.create", "A", primary_only(200)),
        Row("GET", b + "/nouveau", "technical_users.create", "B", foreign),
        Row("POST", b + "/nouveau", "technical_users.create", "B", foreign, _technical),
        Row("POST", a + "/nouveau", "technical_users.create", "A", primary_only(303), _technical, changes=True),
        Row("POST", b + "/exporter", "technical_users.export", "B", foreign, lambda w: {}),
        Row("POST", a + "/exporter", "technical_users.export", "A", primary_only(200), lambda w: {}, page=False),
        # Exported already: refused, back to the record with the message, nothing changed.
        Row("POST", a + "/exporter", "technical_users.export", "A", primary_only(303), lambda w: {}),
        Row("GET", a + "/reinitialiser", "technical_users.reset", "A", primary_only(200)),
        Row("GET", b + "/reinitialiser", "technical_users.reset", "B", foreign),
        Row("POST", b + "/reinitialiser", "technical_users.reset", "B", foreign, lambda w: {}),
        Row("POST", a + "/reinitialiser", "technical_users.reset", "A", primary_only(303), lambda w: {},
            changes=True),
    ]
