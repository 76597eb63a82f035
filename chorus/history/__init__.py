"""The append-only history of managers' actions (SPEC HIS)."""
from . import models  # noqa: F401  (tables known to Alembic)
