"""The spaces a new membership opens by default (SPEC ESP-2): the modules that own spaces say which."""
from __future__ import annotations

from ..plugins import collect, hook
from .models import Role


def default_spaces(structure, role) -> list[str]:
    """The codes plugins' `default_spaces` hooks give, in their order, each once."""
    codes: list[str] = []
    for code in collect(hook().default_spaces(structure=structure, role=Role(role))):
        if code not in codes:
            codes.append(code)
    return codes
