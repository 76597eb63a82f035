"""Countries of a structure's address: ISO 3166-1 codes with their French names (pycountry)."""
from __future__ import annotations

import gettext
from functools import cache

import pycountry


@cache
def choices() -> tuple[tuple[str, str], ...]:
    """(alpha-2 code, French name), France first, then by name in French order."""
    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"], fallback=True)
    names = {c.alpha_2: french.gettext(getattr(c, "common_name", None) or c.name) for c in pycountry.countries}
    others = sorted((code for code in names if code != "FR"), key=lambda code: _sort_key(names[code]))
    return (("FR", names["FR"]), *((code, names[code]) for code in others))


def _sort_key(name: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFD", name.casefold()) if not unicodedata.combining(c))


@cache
def _names() -> dict[str, str]:
    return dict(choices())


def is_country(code: str) -> bool:
    return code in _names()


def name(code: str) -> str:
    return _names().get(code, code)


