"""Chorus: the core application. `create_app()` builds one app with its own plugin manager."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from . import config as config_module
from .extensions import csrf, db, login_manager
from .plugins import build_plugin_manager, collect

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("CHORUS_INSTANCE_PATH", str(PROJECT_ROOT / "instance")),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.config.from_object(config_module.Defaults)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'chorus.sqlite3'}"
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(config_module.from_environment(app.instance_path))
    else:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.persistent_secret_key(app.instance_path)
    # Private: it holds the database, the secret key and mails with live links (P6-11).
    Path(app.instance_path).mkdir(parents=True, exist_ok=True, mode=0o700)

    pm = build_plugin_manager(app.config)
    app.extensions["chorus.plugins"] = pm

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    from . import database, events, web
    from .accounts.sessions import load_user_from_request

    login_manager.request_loader(load_user_from_request)
    database.init_app(app)
    events.init_app(app)
    web.init_app(app)

    for blueprint in collect(pm.hook.register_blueprints()):
        app.register_blueprint(blueprint)

    from .cli import build_group

    app.cli.add_command(build_group(collect(pm.hook.register_commands())))
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    return app
