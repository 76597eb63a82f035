"""The benchmark's reference routes, added to the app as a throw-away plugin.

- /bench/bare: the session check every page pays, one indexed SELECT, plain text;
- /bench/floor: the same SELECT rendered in the site layout (top bar, spaces, user menu): the floor
  no manager page can go under, which every figure is divided by.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from sqlalchemy import text

from chorus.extensions import db
from chorus.hookspecs import hookimpl
from chorus.web import render

bp = Blueprint("bench", __name__, template_folder=str(Path(__file__).parent / "templates"))
SELECT = text("SELECT designation FROM structure WHERE id = 1")


@bp.get("/bench/bare")
def bare():
    return str(db.session.execute(SELECT).scalar()), 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/bench/floor")
def floor():
    return render("bench/floor.html", value=db.session.execute(SELECT).scalar())


class BenchPlugin:
    @hookimpl
    def register_blueprints(self):
        return [bp]
