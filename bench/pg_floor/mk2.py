# ruff: noqa  (throw-away measuring tools, see README.md)
import os

HERE = os.path.dirname(os.path.abspath(__file__))
exec(open(HERE + "/mklines.py").read().split("def build")[0])  # stmt parts, neut, q, core, SPACES_AGG
# inner: raw cells, services joined (not lateral), sorted; outer: the line, spaces after the sort
raw = {k: x for k, (x, t) in core.items()}
inner_cols = ", ".join(f"{x} AS c{k}" for k, x in raw.items())
SVC_JOIN = ("LEFT JOIN (membership_service ms JOIN service sv ON ms.service_id = sv.id) "
            "ON ms.membership_id = membership.id AND ms.status IN ('validated', 'pending')")
keys = ["user_account.last_name_folded", "user_account.first_name_folded", "user_account.id", "membership.id"]
inner = (f"SELECT membership.id AS mid, {inner_cols}, coalesce(sv.code, 'Toute la structure') AS svc, "
         + ", ".join(f"{k} AS k{i}" for i, k in enumerate(keys)) + ", sv.is_default AS k4, lower(sv.code) AS k5 "
         + where.replace("\nWHERE", f" {SVC_JOIN}\nWHERE", 1)
         + " ORDER BY " + ", ".join(keys) + ", sv.is_default DESC, lower(sv.code)")
spaces_variants = {
  "agg": f"coalesce((SELECT {SPACES_AGG} {SPACES_FROM.replace('membership.id', 'sub.mid')}), '')",
  "arr": "array_to_string(ARRAY(SELECT " + SPACES_AGG[len('string_agg('):].split(", ', '")[0]
         + f" {SPACES_FROM.replace('membership.id', 'sub.mid')} ORDER BY s.space_code COLLATE \"C\", s.unit_id COLLATE \"C\", s.unit_label COLLATE \"C\", s.\"right\" COLLATE \"C\"), ', ')",
}
for name, sp in spaces_variants.items():
    cells = {k: (f"sub.c{k}", t) for k, (x, t) in core.items()}
    cells[60.5] = (sp, True)
    cells[25] = ("sub.svc", True)
    line = " || ';' || ".join(q(x, t) for _, (x, t) in sorted(cells.items()))
    sql = f"SELECT {line} FROM ({inner}) sub ORDER BY sub.k0, sub.k1, sub.k2, sub.mid, sub.k4 DESC, sub.k5\n"
    open(f"{OUT}/two_{name}.sql", "w").write(sql)
    # the spaces column's expression evaluated once (a LATERAL of one row), then quoted
    cells[60.5] = ("sp.v", True)
    line = " || ';' || ".join(q(x, t) for _, (x, t) in sorted(cells.items()))
    open(f"{OUT}/two_{name}_lat.sql", "w").write(
        f"SELECT {line} FROM ({inner}) sub CROSS JOIN LATERAL (SELECT {sp} AS v OFFSET 0) sp ORDER BY sub.k0, sub.k1, sub.k2, sub.mid, sub.k4 DESC, sub.k5\n")
