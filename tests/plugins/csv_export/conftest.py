"""The csv_export plugin's tests: not even imported when the plugin is switched off for the run."""
import os

_OFF = os.environ.get("CHORUS_TEST_DISABLED_PLUGINS", "")
collect_ignore_glob = ["test_*.py"] if _OFF == "all" or "plugins.csv_export" in _OFF.split(",") else []
