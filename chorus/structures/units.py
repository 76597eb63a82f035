"""The sub-units of a structure (its services, when a module keeps them), for choice lists: `structure_units`."""
from __future__ import annotations

from ..plugins import collect, hook


def units_of(structure) -> list[tuple[str, str]]:
    """(id, French label) pairs from every plugin's `structure_units`, in their order, each id once."""
    seen: dict[str, str] = {}
    for unit_id, label in collect(hook().structure_units(structure=structure)):
        seen.setdefault(str(unit_id), label)
    return list(seen.items())
