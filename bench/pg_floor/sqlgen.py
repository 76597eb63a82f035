# ruff: noqa  (throw-away measuring tools, see README.md)
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT, ROOT + "/tests", ROOT + "/bench"]
from sqlalchemy import select

from chorus import create_app
from chorus.accounts.models import User
from chorus.extensions import db

url = sys.argv[1] if len(sys.argv) > 1 else "postgresql+psycopg://chorus:chorus@127.0.0.1:54379/export"
app = create_app({"SECRET_KEY":"x","SQLALCHEMY_DATABASE_URI":url,"MAIL_DIR":"/tmp/m"})
with app.app_context():
    from chorus.memberships import people
    from plugins.csv_export.views import COLUMNS
    u = db.session.execute(select(User).where(User.login_email=="export@bench.example")).scalar_one()
    found = people.criteria(u, {})
    stmt = people.matching(u, found, *COLUMNS, large=people.is_large(u, found))
    print(str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})) + ";")
