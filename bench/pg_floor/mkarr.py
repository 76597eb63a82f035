# ruff: noqa  (throw-away measuring tools, see README.md)
"""stmt_arr.sql and *_arr.sql: the manager's structures as an array of ids instead of the IN (subquery)
(what chorus.memberships.people.matching() does on PostgreSQL for a large list since this branch)."""
import os

import psycopg

OUT = os.environ.get("OUT", "/tmp/pgb")
DSN = os.environ.get("DSN", "host=127.0.0.1 port=54379 dbname=export user=chorus password=chorus")
with psycopg.connect(DSN) as conn:
    ids = conn.execute("SELECT string_agg(structure_id::text, ',') FROM membership WHERE user_id = 1 AND role IN "
                       "('primary', 'secondary') AND status = 'validated'").fetchone()[0]
s = open(f"{OUT}/stmt.sql").read()
i, j = s.index("membership.structure_id IN (SELECT"), s.index("AND (membership.user_id NOT IN")
old, new = s[i:j], f"membership.structure_id = ANY('{{{ids}}}'::integer[]) "
for f in ["stmt", "lines_sub", "lines_lat", "four_noord", "lines_core"]:
    t = open(f"{OUT}/{f}.sql").read()
    open(f"{OUT}/{f}_arr.sql", "w").write(t.replace(old, new))
