# ruff: noqa  (throw-away measuring tools, see README.md)
import os

HERE = os.path.dirname(os.path.abspath(__file__))
exec(open(HERE + "/mk2.py").read().split("spaces_variants = {")[0])
typed = {k: t for k, (x, t) in core.items()}
typed[60.5] = True; typed[25] = True
names = {k: f"c{k}" for k in core}; names[60.5] = "sp"; names[25] = "svc"
order = sorted(typed)
sp_sql = f"coalesce((SELECT {SPACES_AGG} {SPACES_FROM.replace('membership.id', 'sub.mid')}), '')"
keys_out = "sub.k0, sub.k1, sub.k2, sub.mid, sub.k4, sub.k5"
L2 = f"SELECT sub.*, {sp_sql} AS sp FROM ({inner}) sub OFFSET 0"
cell = lambda k: (neut(f"l2.{names[k]}") if typed[k] else f"l2.{names[k]}")
L3 = ("SELECT l2.*, " + " || ';' || ".join(cell(k) for k in order) + f" AS raw FROM ({L2}) l2 OFFSET 0")
fallback = " || ';' || ".join(q(f"l3.{names[k]}", typed[k]) for k in order)
L4 = (f"""SELECT CASE WHEN l3.raw !~ '["\\r\\n]' AND length(l3.raw) - length(replace(l3.raw, ';', '')) = {len(order) - 1}"""
      f" THEN l3.raw ELSE {fallback} END FROM ({L3}) l3 ORDER BY l3.k0, l3.k1, l3.k2, l3.mid, l3.k4 DESC, l3.k5")
open(OUT + "/four.sql", "w").write(L4 + "\n")
open(OUT + "/four_nosp.sql", "w").write(L4.replace(sp_sql, "''") + "\n")
# the same without the outer ORDER BY (the order is the sorted subquery's: PostgreSQL does not see it through
# the OFFSET 0 levels and would sort the lines again)
for name in ("four", "four_nosp"):
    text = open(f"{OUT}/{name}.sql").read()
    open(f"{OUT}/{name}_noord.sql", "w").write(text.replace(" ORDER BY l3.k0, l3.k1, l3.k2, l3.mid, l3.k4 DESC, l3.k5", ""))
