# ruff: noqa  (throw-away measuring tools, see README.md)
"""sha256 of the lines COPY gives (LF made CRLF): compare with the app body without BOM and header."""
import hashlib, sys, psycopg
sql = open(sys.argv[1]).read().strip().rstrip(";")
h, n = hashlib.sha256(), 0
with psycopg.connect("host=127.0.0.1 port=54379 dbname=export user=chorus password=chorus") as c:
    with c.cursor().copy(f"COPY ({sql}) TO STDOUT") as cp:
        for b in map(bytes, cp):
            assert b"\\" not in b
            h.update(b.replace(b"\n", b"\r\n")); n += 1
print(n, h.hexdigest())
