"""Password hashing (argon2id) and the password policy (QUALITY.md: length, blocklist, no composition rules)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_BLOCKLIST_FILE = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=8)
def _hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism)


def hasher() -> PasswordHasher:
    c = current_app.config
    return _hasher(c["ARGON2_MEMORY_KIB"], c["ARGON2_TIME_COST"], c["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant work whether or not there is a hash, so unknown accounts answer as slowly."""
    h = hasher()
    if not stored_hash:
        try:
            h.verify(_dummy_hash(), password)
        except VerificationError:
            pass
        return False
    try:
        return h.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash("chorus-dummy-password-for-timing")


@lru_cache(maxsize=1)
def _blocklist() -> frozenset[str]:
    lines = _BLOCKLIST_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, personal: tuple[str, ...] = ()) -> str | None:
    """A French message saying why `password` is refused, or None. The password is taken as typed."""
    c = current_app.config
    if len(password) < c["PASSWORD_MIN_LENGTH"]:
        return f"Le mot de passe doit contenir au moins {c['PASSWORD_MIN_LENGTH']} caractères."
    if len(password) > c["PASSWORD_MAX_LENGTH"]:
        return f"Le mot de passe ne peut pas dépasser {c['PASSWORD_MAX_LENGTH']} caractères."
    lowered = password.lower()
    if lowered in _blocklist() or len(set(password)) <= 2:
        return "Ce mot de passe est trop courant ou trop simple : choisissez-en un autre."
    for item in personal:
        item = (item or "").lower().strip()
        if len(item) >= 4 and (lowered == item or lowered in item or item.split("@")[0] == lowered):
            return "Le mot de passe ne doit pas reprendre votre nom ou votre adresse électronique."
    return None
