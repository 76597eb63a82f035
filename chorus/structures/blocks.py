"""Blocks of the structure record: the core's five, and those plugins add (hook `record_blocks`)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class RecordBlock:
    """One block of the record and of « Modification de la structure ».

    `form` is a WTForms form class (a `chorus.forms.BaseForm`) of the block's fields; `values(structure)`
    gives their current values by field name; `save(structure, values)` writes them, inside the core's
    transaction, after the rules passed (`None`: the fields are the structure's own columns, the core's
    blocks). The core records every change in the history with its value before and after (STR-10).
    """

    slug: str
    title: str
    form: type
    values: Callable
    save: Callable | None = None
    order: int = 100

    @property
    def labels(self) -> dict[str, str]:
        """The French label of each field, from the form class (for the history and the record)."""
        unbound = [(name, getattr(self.form, name)) for name in dir(self.form)
                   if hasattr(getattr(self.form, name, None), "field_class")]
        unbound.sort(key=lambda pair: pair[1].creation_counter)  # the order they were declared in
        return {name: str(f.kwargs.get("label", f.args[0] if f.args else name)) for name, f in unbound}


@dataclass(frozen=True)
class StructureWarning:
    """A non-blocking remark on a saved structure (e.g. SPEC STR-7's second part), shown after saving."""

    field: str
    message: str


def jsonable(value):
    """A value as the history's JSON detail keeps it."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    return value
