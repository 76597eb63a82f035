"""Screens of "Gestion des pièces jointes" (SPEC DOC-2, DOC-3): list, add, download one or several, delete."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, flash, render_template, request, stream_with_context, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.exceptions import RequestEntityTooLarge

from chorus.events import Refused
from chorus.forms import put_errors
from chorus.pagination import page_count
from chorus.permissions import Denied
from chorus.spaces import set_current
from chorus.structures import services as structures
from chorus.web import ERROR_TEXTS, accepts_files, page_arg, parse_id, redirect_to, render

from . import services
from .forms import DocumentForm

bp = Blueprint("documents", __name__, template_folder="templates")

TOO_LARGE = "Le fichier dépasse la taille maximale de 4 Mo : choisissez un fichier plus petit."
# A downloaded file is never a page of this site: nothing in it runs, even opened in the browser.
DOWNLOAD_CSP = "default-src 'none'; sandbox"
RECORD_ROWS = 5


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} octet{'s' if n > 1 else ''}"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} Ko"
    return f"{n / (1024 * 1024):.1f} Mo".replace(".", ",")


def _structure(structure_id: int):
    structure = structures.get_for(current_user, structure_id, "structure.view")
    set_current(structures.space_of(current_user, structure))
    return structure


def _form(formdata=None):
    return DocumentForm(formdata=formdata, types=services.document_types())


def _index(structure, form=None, status=200, number=None):
    number = number or page_arg()
    rows, total = services.page(current_user, structure, number)
    pages = page_count(total, services.PAGE_SIZE)
    manage = services.may_manage(current_user, structure)
    if form is None and manage:
        form = _form()
    return render("documents/index.html", status=status, structure=structure, rows=rows, total=total,
                  page=number, pages=pages, form=form, can_manage=manage,
                  can_download=services.may_download(current_user, structure), type_label=services.type_label,
                  human_size=human_size)


def record_section(structure):
    """The "Pièces jointes" block of the record (slot structure_sections): the latest documents, and the way in."""
    rows, total = services.page(current_user, structure, 1, RECORD_ROWS)
    return Markup(render_template("documents/_section.html", structure=structure, rows=rows, total=total,
                                  can_manage=services.may_manage(current_user, structure),
                                  can_download=services.may_download(current_user, structure),
                                  type_label=services.type_label, human_size=human_size))


@bp.get("/structures/<id:structure_id>/pieces-jointes")
def index(structure_id):
    """"Gestion des pièces jointes" for managers; the list, to download from, for the structure's users."""
    return _index(_structure(structure_id))


@bp.post("/structures/<id:structure_id>/pieces-jointes")
@accepts_files("fichier", max_size=services.MAX_FILE_SIZE)
def add(structure_id):
    """"Ajouter" (SPEC DOC-2): a file over 4 MB never reaches this view (413, see too_large below)."""
    structure = _structure(structure_id)
    if not services.may_manage(current_user, structure):
        raise Denied()
    form = _form(request.form)
    upload = request.files.get("fichier")
    if form.validate():
        try:
            document = services.add(current_user, structure, upload.stream if upload and upload.filename else None,
                                    upload.filename if upload else None, form.designation.data,
                                    form.type_code.data)
        except Refused as e:
            put_errors(form, e.errors)
        else:
            flash(f"Pièce jointe « {document.designation} » ajoutée ({document.file_name}).", "success")
            return redirect_to(url_for("documents.index", structure_id=structure.id))
    elif not (upload and upload.filename):
        form.fichier.errors = ["Choisissez un fichier."]
    return _index(structure, form, status=422)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """413 on the add form: the same page, the form's error next to the file field (with or without htmx)."""
    structure_id = (request.view_args or {}).get("structure_id")
    if request.endpoint == "documents.add" and structure_id and current_user.is_authenticated:
        try:
            structure = _structure(structure_id)
            if services.may_manage(current_user, structure):
                form = _form()
                form.fichier.errors = [TOO_LARGE]
                return _index(structure, form, status=413, number=1)  # the body (page included) is unread
        except Denied:
            pass
    title, text = ERROR_TEXTS[413]
    return render("errors/error.html", status=413, code=413, title=title, text=text)


def _attachment(response: Response, name: str) -> Response:
    """Content-Disposition per RFC 6266, the name in UTF-8 per RFC 5987 and an ASCII fallback."""
    ascii_name = name.encode("ascii", "ignore").decode("ascii").replace('"', "").replace("\\", "") or "document"
    response.headers["Content-Disposition"] = (f'attachment; filename="{ascii_name}"; '
                                               f"filename*=UTF-8''{quote(name, safe='')}")
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/structures/<id:structure_id>/pieces-jointes/<id:document_id>")
def download(structure_id, document_id):
    """One document, as an attachment (SPEC DOC-3, DOC-4)."""
    structure = structures.get_for(current_user, structure_id, "structure.view")
    document = services.one(current_user, structure, document_id)
    # content_type, not mimetype: no charset added to a text file whose encoding we did not choose (CSV in cp1252).
    response = Response(stream_with_context(services.chunks(document.id)), content_type=document.media_type,
                        direct_passthrough=True)
    response.content_length = document.size
    return _attachment(response, document.file_name)


def _ids() -> list[int]:
    return [i for i in (parse_id(v) for v in request.values.getlist("ids")) if i]


@bp.post("/structures/<id:structure_id>/pieces-jointes/archive")
def download_many(structure_id):
    """The checked documents together, in one ZIP streamed while it is made (SPEC DOC-3)."""
    structure = structures.get_for(current_user, structure_id, "structure.view")
    documents = services.selected(current_user, structure, _ids(), for_action="download")
    if not documents:
        flash("Cochez au moins une pièce jointe.", "error")
        return redirect_to(url_for("documents.index", structure_id=structure.id))
    response = Response(stream_with_context(services.zip_stream(documents)), mimetype="application/zip",
                        direct_passthrough=True)
    return _attachment(response, f"pieces-jointes-{structure.identifier}.zip")


@bp.route("/structures/<id:structure_id>/pieces-jointes/supprimer", methods=["GET", "POST"])
def delete(structure_id):
    """Delete one or the checked documents (SPEC DOC-3), after a confirmation that lists them."""
    structure = _structure(structure_id)
    ids = _ids()
    if request.method == "GET" or request.form.get("confirme") != "oui":
        documents = services.selected(current_user, structure, ids, for_action="delete")
        if documents:
            return render("documents/delete_confirm.html", structure=structure, documents=documents,
                          type_label=services.type_label)
        if request.method == "GET":
            raise Denied(hidden=True)
        flash("Cochez au moins une pièce jointe.", "error")
        return redirect_to(url_for("documents.index", structure_id=structure.id))
    try:
        gone = services.delete_documents(current_user, structure, ids)
    except Refused as e:
        flash(e.errors[""], "error")
    else:
        n = len(gone)
        flash(f"{n} pièce{'s' if n > 1 else ''} jointe{'s' if n > 1 else ''} supprimée{'s' if n > 1 else ''}.",
              "success")
    return redirect_to(url_for("documents.index", structure_id=structure.id))
