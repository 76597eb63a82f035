"""The sub-units of a structure (its services, when a module keeps them), for choice lists: `structure_units`."""
from __future__ import annotations

from ..plugins import collect, hook


def units_of(structure) -> list[tuple[str, str]]:
    """(id, French label) pairs from every plugin's `structure_units`, in their order, each id once."""
    seen: dict[str, str] = {}
    for unit_id, label in collect(hook().structure_units(structure=structure)):
        seen.setdefault(str(unit_id), label)
    return list(seen.items())


def memberships_of_units(structure, unit_ids: list[str]) -> dict[str, set[int]]:
    """{unit id: ids of the structure's memberships working in that unit}, from the modules keeping the units."""
    out: dict[str, set[int]] = {str(u): set() for u in unit_ids}
    if unit_ids:
        for answer in hook().unit_memberships(structure=structure, unit_ids=[str(u) for u in unit_ids]):
            for unit_id, ids in (answer or {}).items():
                out.setdefault(str(unit_id), set()).update(ids)
    return out


def carried_units(source, successor) -> dict[str, str]:
    """{source unit id: successor unit id} once the modules copied their units (SIR-2), matched by label."""
    copies = {label: unit_id for unit_id, label in units_of(successor)}
    return {unit_id: copies[label] for unit_id, label in units_of(source) if label in copies}
