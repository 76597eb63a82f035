# ruff: noqa  (throw-away measuring tools, see README.md)
"""Writes lines_sub.sql (spaces as a correlated subquery) and lines_lat.sql (LEFT JOIN LATERAL) from stmt.sql."""
import os

OUT = os.environ.get("OUT", "/tmp/pgb")
HERE = os.path.dirname(os.path.abspath(__file__))
stmt = open(OUT + "/stmt.sql").read().strip().rstrip(";")
select, rest = stmt.split("\nFROM membership JOIN", 1)
rest = "FROM membership JOIN" + rest
where, order = rest.split(" ORDER BY ")
FORM = "('=', '+', '-', '@', E'\\t', E'\\r', E'\\n', '＝', '＋', '－', '＠')"

def neut(x):
    return f"CASE WHEN left({x}, 1) IN {FORM} THEN '''' || {x} ELSE {x} END"

def q(x, typed):
    v = neut(x) if typed else x
    return f"""CASE WHEN {x} ~ '[;"\\r\\n]' THEN '"' || replace({v}, '"', '""') || '"' ELSE {v} END"""

core = {
 10: ("structure.identifier", False), 20: ("structure.designation", True),
 30: ("CASE membership.role WHEN 'primary' THEN 'Gestionnaire principal' WHEN 'secondary' THEN 'Gestionnaire secondaire' WHEN 'member' THEN 'Utilisateur simple' ELSE membership.role END", False),
 40: ("CASE membership.status WHEN 'pending' THEN 'En cours de validation' WHEN 'validated' THEN 'Validé' WHEN 'refused' THEN 'Refusé' WHEN 'deactivated' THEN 'Désactivé' WHEN 'removed' THEN 'Supprimé' WHEN 'cancelled' THEN 'Annulé' ELSE membership.status END", False),
 50: ("user_account.last_name", True), 51: ("user_account.first_name", True), 60: ("user_account.login_email", True),
 61: ("user_account.contact_email", True), 62: ("user_account.phone", True),
 70: ("CASE user_account.status WHEN 'pending' THEN 'En cours d''activation' WHEN 'active' THEN 'Actif' WHEN 'deactivated' THEN 'Désactivé' ELSE user_account.status END", False),
 80: ("to_char(membership.created_at, 'DD/MM/YYYY')", False),
 81: ("coalesce(to_char(membership.start_date, 'DD/MM/YYYY'), '')", False),
 82: ("coalesce(to_char(membership.decided_at, 'DD/MM/YYYY'), '')", False),
}
SPACES_AGG = ("string_agg(CASE s.space_code WHEN 'FACTURES_EMISES' THEN 'Factures émises' WHEN 'FACTURES_RECUES' THEN 'Factures reçues' "
  "WHEN 'SOLLICITATIONS_EMISES' THEN 'Sollicitations émises' WHEN 'SOLLICITATIONS_RECUES' THEN 'Sollicitations reçues' ELSE s.space_code END"
  " || ' (' || CASE WHEN s.unit_label = '' THEN 'Tous les services' ELSE s.unit_label END || ', ' || "
  "CASE s.\"right\" WHEN 'consultation' THEN 'consultation' WHEN 'modification' THEN 'modification' ELSE lower(s.\"right\") END || ')', ', '"
  " ORDER BY s.space_code COLLATE \"C\", s.unit_id COLLATE \"C\", s.unit_label COLLATE \"C\", s.\"right\" COLLATE \"C\")")
SPACES_FROM = "FROM space_subscription s WHERE s.membership_id = membership.id AND s.status = 'validated'"

def build(spaces, services, raw_quote=True):
    cells = dict(core)
    cells[60.5] = (spaces, True)
    cells[25] = (services, True)
    parts = [q(x, t) if raw_quote or t else x for _, (x, t) in sorted(cells.items())]
    return "SELECT " + " || ';' || ".join(parts) + " AS line\n"

SVC_LAT = ("LEFT JOIN LATERAL (SELECT sv.code, sv.is_default FROM membership_service ms JOIN service sv ON ms.service_id = sv.id "
           "WHERE ms.membership_id = membership.id AND ms.status IN ('validated', 'pending')) svc ON true")
svc = "coalesce(svc.code, 'Toute la structure')"
svc_order = ", svc.is_default DESC, lower(svc.code)"
sub = build(f"coalesce((SELECT {SPACES_AGG} {SPACES_FROM}), '')", svc)
lat = build("coalesce(sp.spaces, '')", svc)
frm_sub = where.replace("\nWHERE", f" {SVC_LAT}\nWHERE", 1)
frm_lat = where.replace("\nWHERE", f" {SVC_LAT} LEFT JOIN LATERAL (SELECT {SPACES_AGG} AS spaces {SPACES_FROM}) sp ON true\nWHERE", 1)
open(OUT + "/lines_sub.sql", "w").write(sub + frm_sub + " ORDER BY " + order + svc_order + "\n")
open(OUT + "/lines_lat.sql", "w").write(lat + frm_lat + " ORDER BY " + order + svc_order + "\n")
# no spaces/services, only the core cells: the cost of the cells' expressions
open(OUT + "/lines_core.sql", "w").write(build("''", "'Toute la structure'") + where + " ORDER BY " + order + "\n")
