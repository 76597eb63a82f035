"""Entry point: `flask --app app run`, `gunicorn app:app`."""
from chorus import create_app

app = create_app()
