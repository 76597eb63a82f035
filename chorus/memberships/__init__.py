"""Memberships ("rattachements"): roles of users on structures (SPEC RAT, TRF-1)."""
from . import models  # noqa: F401  (tables known to Alembic)
