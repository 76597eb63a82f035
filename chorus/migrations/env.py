"""Alembic environment: runs against the Flask app's engine (SQLite or PostgreSQL)."""
from alembic import context
from flask import current_app

from chorus.extensions import db
from chorus.migrations import include_object

config = context.config
app = config.attributes.get("flask_app") or current_app._get_current_object()


def run_migrations() -> None:
    with app.app_context():
        engine = db.engine
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=db.metadata,
                render_as_batch=engine.dialect.name == "sqlite",  # ALTER TABLE on SQLite
                compare_type=True,
                include_object=include_object,
            )
            with context.begin_transaction():
                context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run against a database.")
run_migrations()
