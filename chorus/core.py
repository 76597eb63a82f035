"""Hook implementations of the core itself: its CLI commands, migrations and demo accounts."""
from pathlib import Path

from .hookspecs import hookimpl


@hookimpl
def register_commands():
    from .cli import CORE_COMMANDS

    return CORE_COMMANDS


@hookimpl
def register_migrations():
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def populate_demo(demo):
    from .demo import core_demo

    core_demo(demo)
