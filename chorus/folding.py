"""Case and accent folding for search: "École Saint-Œuvre" and "ecole saint-oeuvre" fold alike.

Folded copies of searchable columns are stored (and indexed) beside the original, filled by the
column defaults and attribute events below, so that a search compares stored values instead of
calling lower() on every row. Query text is folded with the same function.
"""
from __future__ import annotations

import unicodedata

from sqlalchemy import event

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'"})


def fold(value: str | None) -> str:
    """Lower case, no accents, ligatures spelled out, spaces collapsed."""
    if not value:
        return ""
    text = unicodedata.normalize("NFKD", value.casefold().translate(_LIGATURES))
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).split())


def folded_default(source: str):
    """A column default computing the folded copy of `source` at INSERT, also for Core bulk inserts."""

    def default(context):
        return fold(context.get_current_parameters().get(source))

    return default


def keep_folded(attribute, target_name: str) -> None:
    """Every ORM write of `attribute` also sets its folded copy `target_name`."""

    @event.listens_for(attribute, "set", retval=False)
    def _set(target, value, oldvalue, initiator):
        setattr(target, target_name, fold(value))
