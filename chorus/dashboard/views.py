"""Activités du gestionnaire: the dashboard and its "Mes structures" search (SPEC MGR-1, MGR-2)."""
from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..extensions import db
from ..permissions import allowed, require
from ..structures.models import Structure
from ..web import render
from . import ACTIVITES_GESTIONNAIRE

bp = Blueprint("dashboard", __name__, url_prefix="/gestionnaire")

PAGE_SIZE = 20


@bp.before_request
def _managers_only():
    require(current_user, "space.access", ACTIVITES_GESTIONNAIRE)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def my_structures(actor, q: str, page: int):
    """The structures `actor` manages, filtered by identifier or designation (the database filters)."""
    stmt = select(Structure).where(allowed(actor, "structure.edit", Structure))
    q = q.strip()
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        stmt = stmt.where(or_(func.lower(Structure.designation).like(pattern, escape="\\"),
                              Structure.identifier.like(f"%{_escape_like(q.upper().replace(' ', ''))}%",
                                                        escape="\\")))
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.session.execute(
        stmt.order_by(func.lower(Structure.designation), Structure.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).scalars().all()
    return rows, total


@bp.get("/")
def index():
    q = request.args.get("q", "")[:200]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    structures, total = my_structures(current_user, q, page)
    context = {"structures": structures, "total": total, "q": q, "page": page,
               "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)}
    if request.headers.get("HX-Target") == "mes-structures-resultats":
        return render("dashboard/index.html", block="results", **context)
    return render("dashboard/index.html", **context)
