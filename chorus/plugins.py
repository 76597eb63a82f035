"""One pluggy PluginManager per app, kept in app.extensions["chorus.plugins"]."""
from __future__ import annotations

import importlib

import pluggy
from flask import current_app

from . import hookspecs

ENTRY_POINT_GROUP = "chorus.plugins"

# The core is the first set of plugins: these always load, before the built-in feature plugins.
CORE_PLUGINS = [
    "chorus.core",
    "chorus.accounts",
    "chorus.mail",
    "chorus.admin",
    "chorus.structures",
    "chorus.history",
    "chorus.dashboard",
    "chorus.memberships",
]


def build_plugin_manager(config) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("chorus")
    pm.add_hookspecs(hookspecs)
    for name in config["DISABLED_PLUGINS"]:
        if name not in CORE_PLUGINS:
            pm.set_blocked(name)
    for name in CORE_PLUGINS + list(config["PLUGINS"]):
        if not pm.is_blocked(name):
            pm.register(importlib.import_module(name), name=name)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in config["EXTRA_PLUGINS"]:
        pm.register(plugin)
    # A hook implementation whose name matches no hookspec (a typo) fails here, at start-up.
    pm.check_pending()
    return pm


def get_pm(app=None) -> pluggy.PluginManager:
    return (app or current_app).extensions["chorus.plugins"]


def hook(app=None):
    return get_pm(app).hook


def collect(results) -> list:
    """Flatten the list-of-lists a pluggy call returns, skipping None."""
    out = []
    for item in results:
        if item is None:
            continue
        if isinstance(item, (list, tuple)):
            out.extend(item)
        else:
            out.append(item)
    return out
