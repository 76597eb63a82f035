"""Fixtures of the technical users plugin's tests live in the test files; this file only leaves them out of a run
that switches the plugin off (tests/conftest.py, CHORUS_TEST_DISABLED_PLUGINS): their imports would add the
plugin's table to the core's metadata."""
import os

_OFF = os.environ.get("CHORUS_TEST_DISABLED_PLUGINS", "")
collect_ignore_glob = ["test_*.py"] if _OFF == "all" or "plugins.technical_users" in _OFF.split(",") else []
