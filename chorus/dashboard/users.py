"""Activités du gestionnaire: "Rechercher un utilisateur" and the actions on its results (SPEC USR-2, USR-3).

The rules are in chorus.memberships.people; these views parse, call and render. Every list and form works
without JavaScript; htmx refreshes the results as the criteria change.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode

from flask import abort, flash, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import lists
from ..accounts.forms import ProfileForm
from ..accounts.services import AccountError
from ..events import Refused
from ..forms import put_errors
from ..memberships import people
from ..memberships.models import MembershipStatus, Role
from ..web import form_error, page_arg, parse_id, redirect_to, render
from .views import bp

PAGE_SIZE = 50
RESULTS = "utilisateurs-resultats"  # the id of the results' container, htmx's target


def _search_context(found: people.Criteria) -> dict:
    results = people.search(current_user, found, page=page_arg(), per_page=PAGE_SIZE)
    columns = lists.columns(people.LIST, actor=current_user)
    return {"found": found, "results": results, "columns": columns,
            "cells": lists.cells(columns, [r.id for r in results.items]),
            "filters": lists.filters(people.LIST, actor=current_user), "statuses": people.STATUS_CHOICES,
            "sorts": people.SORTS, "role_labels": {r.value: r.label for r in Role},
            "membership_labels": {s.value: s.label for s in MembershipStatus},
            "account_labels": dict(people.STATUS_CHOICES), "back": urlencode(found.query | {"page": results.page}),
            "results_id": RESULTS, "can_remove": people.can_remove}


@bp.get("/utilisateurs")
def users():
    """"Rechercher un utilisateur": criteria on the person and on the structure; the results page by page."""
    found = people.criteria(current_user, request.args)
    context = _search_context(found)
    if request.headers.get("HX-Target") == RESULTS:
        return render("dashboard/users.html", block="results", **context)
    return render("dashboard/users.html", **context)


@bp.route("/utilisateurs/<id:user_id>", methods=["GET", "POST"])
def user(user_id):
    """One person: their data, which the manager may modify, and all their memberships on the actor's
    structures (USR-3)."""
    found = people.person(current_user, user_id)
    if found is None:
        abort(404)
    person, memberships = found
    editable = people.can_edit(current_user, person)
    form = ProfileForm(obj=person) if editable else None
    if request.method == "POST":
        if not editable:
            abort(403)
        if form.validate_on_submit():
            try:
                changes = people.update_person(current_user, person, last_name=form.last_name.data,
                                               first_name=form.first_name.data,
                                               contact_email=form.contact_email.data, phone=form.phone.data or "")
            except AccountError as e:
                put_errors(form, {e.field or "": e.message})
            else:
                flash(f"Les données de {person.full_name} sont enregistrées." if changes
                      else "Aucune modification à enregistrer.", "success" if changes else "info")
                back = _back()
                return redirect_to(url_for("dashboard.user", user_id=person.id) + (f"?retour={quote(back)}"
                                                                                   if back else ""))
    context = {"person": person, "memberships": memberships, "back": _back(), "form": form,
               "can_remove": people.can_remove}
    if request.method == "POST":
        return form_error("dashboard/user.html", **context)
    return render("dashboard/user.html", **context)


def _ids() -> list[int]:
    """The rows acted on: the row's own button (`un`), else the ticked boxes (`ids`)."""
    one = parse_id(request.form.get("un"))
    if one:
        return [one]
    return [i for i in map(parse_id, request.form.getlist("ids")) if i]


def _back() -> str:
    """The search the actor came from (criteria, sort, page), as a query string of known characters."""
    return urlencode(parse_qsl(request.values.get("retour", ""))[:20])


def search_of_origin() -> people.Criteria:
    """The criteria and sort of the search the actor came from (its `retour` field)."""
    return people.criteria(current_user, MultiDict(parse_qsl(_back())))


def back_to_search():
    """Back to the search the actor came from (after an action on its rows; plugins' actions too)."""
    back = _back()
    return redirect_to(url_for("dashboard.users") + (f"?{back}" if back else ""))


@bp.post("/utilisateurs/activation")
def resend_activation():
    """"Envoyer le courriel d'activation" to one person or to the selected ones (USR-3), within limits."""
    ids = _ids()
    if not ids:
        flash("Cochez au moins un utilisateur.", "error")
        return back_to_search()
    report = people.resend_activation(current_user, ids)
    n = len(report.sent)
    if n:
        flash(f"Courriel d'activation envoyé à {', '.join(report.sent) if n <= 3 else f'{n} utilisateurs'}.",
              "success")
    if report.not_pending:
        flash(f"{report.not_pending} compte{'s' if report.not_pending > 1 else ''} déjà activé"
              f"{'s' if report.not_pending > 1 else ''} ou désactivé{'s' if report.not_pending > 1 else ''} : "
              "aucun courriel d'activation à envoyer.", "info")
    if report.limited:
        flash(f"{report.limited} courriel{'s' if report.limited > 1 else ''} non envoyé"
              f"{'s' if report.limited > 1 else ''} : trop de courriels d'activation envoyés récemment. "
              "Réessayez dans une heure.", "error")
    return back_to_search()


@bp.post("/utilisateurs/rattachements/supprimer")
def remove_memberships():
    """"Supprimer rattachements": the selected memberships, at structure level (RAT-7), after a confirmation."""
    ids = _ids()
    if not ids:
        flash("Cochez au moins un rattachement.", "error")
        return back_to_search()
    rows = people.removable(current_user, ids)
    if not rows:
        flash("Aucun des rattachements cochés ne peut être supprimé (demande en cours, gestionnaire principal ou "
              "structure inactive).", "info")
        return back_to_search()
    if request.form.get("confirme") != "oui":
        skipped = len(set(ids)) - len(rows)
        return render("dashboard/users_remove.html", rows=rows, skipped=skipped, back=_back(),
                      role_labels={r.value: r.label for r in Role})
    try:
        n = people.remove(current_user, ids)
    except Refused as e:
        flash(e.errors[""], "error")
    else:
        flash(f"{n} rattachement{'s' if n > 1 else ''} supprimé{'s' if n > 1 else ''}.", "success")
    return back_to_search()
