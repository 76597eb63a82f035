"""Activités du gestionnaire: the dashboard and its "Mes structures" search (SPEC MGR-1, MGR-2)."""
from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from ..permissions import require
from ..structures import services
from ..web import page_arg, render
from . import ACTIVITES_GESTIONNAIRE

bp = Blueprint("dashboard", __name__, url_prefix="/gestionnaire")

PAGE_SIZE = 20


@bp.before_request
def _managers_only():
    require(current_user, "space.access", ACTIVITES_GESTIONNAIRE)


@bp.get("/")
def index():
    q = request.args.get("q", "")[:200]
    page = page_arg()
    found = services.search(current_user, "structure.edit", q, page=page, per_page=PAGE_SIZE)
    context = {"structures": found.items, "total": found.total, "q": q, "page": page, "pages": found.pages}
    if request.headers.get("HX-Target") == "mes-structures-resultats":
        return render("dashboard/index.html", block="results", **context)
    return render("dashboard/index.html", **context)
