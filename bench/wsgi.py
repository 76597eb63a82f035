"""`gunicorn wsgi:app` (from bench/) for the mixed load: the application plus the reference routes."""
import os
import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

from plugin import BenchPlugin  # noqa: E402

from chorus import create_app  # noqa: E402

app = create_app({"SECRET_KEY": os.environ.get("SECRET_KEY", "bench"),
                  "SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"], "MAIL_DIR": tempfile.mkdtemp(),
                  "EXTRA_PLUGINS": [BenchPlugin()]})
