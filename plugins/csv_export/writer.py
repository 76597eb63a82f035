"""A CSV for French spreadsheets, streamed: `;` separated, UTF-8 with a BOM, CRLF line ends, every cell a
spreadsheet could read as a formula neutralised (QUALITY.md "CSV export"). Memory stays bounded whatever the
number of rows: rows are read from an iterator and written out in blocks of about BLOCK bytes.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from itertools import repeat
from operator import getitem, itemgetter
from urllib.parse import quote

from flask import Response, stream_with_context

BOM = "\ufeff"
BLOCK = 64 * 1024
BATCH = 200  # rows written at a time
# A cell starting with one of these is a formula (or becomes one) for Excel, LibreOffice or Google Sheets;
# the full-width forms are folded to them by some of these programs.
FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
# A formula after leading spaces (" =1+1") is one too for some of them: a cell starting with a blank is looked at
# past its blanks (str.isspace()'s characters, the no-break spaces included).
_BLANKS = frozenset(c for c in map(chr, range(0x3001)) if c.isspace()) - FORMULA_STARTS
_LOOKED_AT = FORMULA_STARTS | _BLANKS
_FIRST = slice(0, 1)


def _formula(value: str) -> bool:
    """`value` (text, not empty) could be read as a formula."""
    first = value[0]
    return first in FORMULA_STARTS or (first in _BLANKS and value.lstrip()[:1] in FORMULA_STARTS)


def cell(value) -> str:
    """One value as the text of a cell: dates the French way, a formula-like text prefixed with `'`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value and _formula(value) else value
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def lines(header: Sequence[str], rows: Iterable[Sequence], text: Sequence[int] | None = None) -> Iterable[bytes]:
    """The encoded file, block by block: BOM and header first, then `rows` (sequences of values).

    `text`: when every row is a list of strings (or None), the indexes of the cells that may hold text typed by
    someone (names, addresses...): only those are checked for formulas, the others (labels, dates, codes made
    by the application) are written as they are. None: every cell goes through cell().
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([cell(h) for h in header])
    pending, size = [BOM, out.getvalue()], 0
    batch = []
    for row in rows:
        if text is None:
            row = [cell(v) for v in row]
        batch.append(row)
        if len(batch) == BATCH:
            if text:
                _neutralise(batch, text)
            written = _csv_text(batch, writer, out)
            pending.append(written)
            size += len(written)
            batch.clear()
            if size >= BLOCK:
                yield "".join(pending).encode("utf-8")
                pending.clear()
                size = 0
    if batch:
        if text:
            _neutralise(batch, text)
        pending.append(_csv_text(batch, writer, out))
    yield "".join(pending).encode("utf-8")


def _neutralise(batch: list, text: Sequence[int]) -> None:
    """The formula-like cells of `batch` prefixed with `'`, among the cells at the indexes `text` (a million rows
    make millions of cells: only the typed ones are looked at, a column of the batch at once)."""
    for i in text:
        try:  # the first characters of the column's cells (those of Latin-1 are shared objects: nothing made)
            found = not _LOOKED_AT.isdisjoint(map(getitem, map(itemgetter(i), batch), repeat(_FIRST)))
        except TypeError:  # a None among them
            found = True
        if found:
            for row in batch:
                v = row[i]
                if v and _formula(v):
                    row[i] = "'" + v


def _csv_text(batch: list, writer, out: io.StringIO) -> str:
    """The CSV lines of `batch`, exactly as `writer` (QUOTE_MINIMAL, `;`, CRLF) writes them into `out`.

    Most rows quote nothing: their cells joined by `;` are their line. Joined first, the batch is checked at
    once: as many `;`, CR and LF as the joins put, no `"`, no lone empty cell (which csv quotes), text only.
    Otherwise csv.writer writes it, quoting what needs it."""
    try:
        joined = "\r\n".join([";".join(row) for row in batch])
    except TypeError:  # a cell that is not text (None, a number): csv.writer's way
        joined = None
    if joined is not None and '"' not in joined:
        sizes = list(map(len, batch))
        lines = len(batch) - 1
        if (1 not in sizes and joined.count(";") == sum(sizes) - len(sizes)
                and joined.count("\n") == lines and joined.count("\r") == lines):
            return joined + "\r\n"
    out.seek(0)
    out.truncate()
    writer.writerows(batch)
    return out.getvalue()


def response(filename: str, header: Sequence[str], rows: Iterable[Sequence],
             text: Sequence[int] | None = None) -> Response:
    """A streamed download of `rows` (read while the response is sent, in the request's context)."""
    disposition = f"attachment; filename=\"{filename.encode('ascii', 'replace').decode()}\"; " \
                  f"filename*=UTF-8''{quote(filename)}"
    return Response(stream_with_context(lines(header, rows, text)), mimetype="text/csv",
                    headers={"Content-Disposition": disposition, "Content-Type": "text/csv; charset=utf-8"})
