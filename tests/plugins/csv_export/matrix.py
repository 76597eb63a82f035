"""The csv_export plugin's rows of the permission matrix (tests/test_permission_matrix.py loads this file while the
plugin is switched on): the export is the user search's, for the managers of the rows' structures only."""
from __future__ import annotations

VALUES: dict = {}


def populate(world) -> dict:
    return {}


def rows(m) -> list:
    Row, roles, LOGIN = m.Row, m.roles, m.LOGIN
    url = "/gestionnaire/utilisateurs/export.csv"
    return [
        Row("GET", url, "csv_export.export_all", "-", roles(LOGIN, 403, 200, 200, 403), page=False),
        Row("GET", url + "?designation=alpha&statut=active", "csv_export.export_all", "A",
            roles(LOGIN, 403, 200, 200, 403), page=False),
        Row("POST", url, "csv_export.export_selected", "A", roles(LOGIN, 403, 200, 200, 403),
            lambda w: {"ids": [str(w.member_A)]}, page=False),
        # A row of B (where no actor manages): not one the screen shows.
        Row("POST", url, "csv_export.export_selected", "B", roles(LOGIN, 403, 404, 404, 403),
            lambda w: {"ids": [str(w.member_A), str(w.primary_B_membership)]}),
    ]
