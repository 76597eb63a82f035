"""The plugin manager: one per app, built-in list, entry points, disabling, typos caught at start-up."""
from __future__ import annotations

import textwrap

import pytest
from pluggy import PluginValidationError

from chorus.hookspecs import hookimpl
from chorus.plugins import CORE_PLUGINS, get_pm

PLUGIN_SOURCE = textwrap.dedent('''
    from chorus.hookspecs import hookimpl
    from chorus.spaces import NavEntry

    @hookimpl
    def navigation_entries(user):
        return [NavEntry(href="/", label="{label}")]
''')


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder on sys.path holding a module plugin and an installed distribution's entry point."""
    (tmp_path / "essai_builtin.py").write_text(PLUGIN_SOURCE.format(label="Intégré"))
    (tmp_path / "essai_external.py").write_text(PLUGIN_SOURCE.format(label="Externe"))
    dist = tmp_path / "essai_external-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: essai-external\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[chorus.plugins]\nessai_external = essai_external\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _labels(application):
    from chorus.spaces import navigation

    with application.test_request_context():
        return [e.label for e in navigation(None)]


def test_each_app_has_its_own_plugin_manager(make_app):
    class Marker:
        @hookimpl
        def register_spaces(self):
            return []

    first, second = make_app(EXTRA_PLUGINS=[Marker()]), make_app()
    assert get_pm(first) is not get_pm(second)
    assert len(get_pm(first).get_plugins()) == len(get_pm(second).get_plugins()) + 1
    for name in CORE_PLUGINS:
        assert get_pm(second).get_plugin(name) is not None


def test_builtin_and_entry_point_plugins_load(make_app, plugin_dir):
    application = make_app(PLUGINS=["essai_builtin"])
    assert _labels(application) == ["Externe", "Intégré"]


def test_disabled_plugins_do_not_load(make_app, plugin_dir):
    application = make_app(PLUGINS=["essai_builtin"], DISABLED_PLUGINS=["essai_builtin", "essai_external"])
    assert _labels(application) == []


def test_core_plugins_cannot_be_disabled(make_app):
    application = make_app(DISABLED_PLUGINS=["chorus.accounts"])
    assert get_pm(application).get_plugin("chorus.accounts") is not None


def test_misspelled_hook_implementation_fails_at_start_up(make_app):
    class Typo:
        @hookimpl
        def register_blueprint(self):  # missing "s"
            return []

    with pytest.raises(PluginValidationError, match="register_blueprint"):
        make_app(EXTRA_PLUGINS=[Typo()])


def test_wrong_hook_arguments_fail_at_start_up(make_app):
    class WrongArgs:
        @hookimpl
        def permission_vote(self, actor, verb, obj):
            return None

    with pytest.raises(PluginValidationError):
        make_app(EXTRA_PLUGINS=[WrongArgs()])
