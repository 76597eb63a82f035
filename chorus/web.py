"""Web plumbing shared by every view: htmx-aware rendering, redirects, access guard, headers, errors."""
from __future__ import annotations

import io
import re
from tempfile import SpooledTemporaryFile
from urllib.parse import urlsplit

from flask import Request as FlaskRequest
from flask import flash, get_flashed_messages, make_response, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2_fragments.flask import render_block
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from .events import Refused
from .extensions import login_manager
from .permissions import Denied
from .spaces import guard as space_guard

# ---------------------------------------------------------------- htmx


def is_htmx() -> bool:
    """An htmx request that wants a fragment (boosted requests want the whole page)."""
    h = request.headers
    # A history restore (Back button after a cache miss) wants the whole page, as does a boosted link.
    return (h.get("HX-Request") == "true" and h.get("HX-Boosted") != "true"
            and h.get("HX-History-Restore-Request") != "true")


def render(template: str, status: int = 200, *, block: str = "content", **context):
    """The full page, or for htmx one block of the same template (`content` by default) plus flashes.

    A `content` fragment also carries the page title; a smaller block (one section of a page) does not.
    """
    if is_htmx():
        body = render_block(template, block, **context)
        if block == "content":
            title = render_block(template, "title", **context).strip()
            body = f"<title>{title} · Chorus</title>\n{body}"
        body = f"{body}\n{render_template('_flashes.html', oob=True)}"
        response = make_response(body, status)
    else:
        response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def flash_decisions(decided: int, skipped: int, accept: bool, kind: str = "") -> None:
    """The messages after deciding requests, one or many: how many changed (their requesters told by e-mail), how
    many were left as they were. `kind` follows "demande" (e.g. " d'abonnement")."""
    from flask import flash

    if decided:
        verb = "validée" if accept else "refusée"
        flash(f"{decided} demande{'s' if decided > 1 else ''}{kind} {verb}{'s' if decided > 1 else ''} ; "
              f"{'les demandeurs sont prévenus' if decided > 1 else 'le demandeur est prévenu'} par courriel.",
              "success")
    if skipped:
        flash(f"{skipped} demande{'s' if skipped > 1 else ''} déjà traitée{'s' if skipped > 1 else ''}, d'une "
              "structure inactive ou hors de votre périmètre : rien n'a changé pour "
              f"{'elles' if skipped > 1 else 'elle'}.", "info")


def redirect_to(location: str, status: int = 303):
    """Redirect after a successful POST: a full navigation with htmx too (the top bar may change)."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 200)
        response.headers["HX-Redirect"] = location
    else:
        response = make_response("", status)
        response.headers["Location"] = location
    response.vary.add("HX-Request")
    return response


def form_error(template: str, *, block: str = "content", **context):
    """A form with errors: re-rendered with 422, swapped in place by htmx."""
    return render(template, status=422, block=block, **context)


# ---------------------------------------------------------------- numbers from the outside

MAX_ID = 2**31 - 1  # the largest id a PostgreSQL integer (and so every table here) holds
MAX_PAGE = 100_000


class IdConverter(IntegerConverter):
    """`<id:name>` in routes: a database id; anything else (0, 10**30) answers 404, not a 500."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1, max=MAX_ID)


def parse_id(value) -> int | None:
    """A database id from a form or query string value, or None."""
    value = (value or "").strip() if isinstance(value, str) else ""
    if re.fullmatch(r"[0-9]{1,10}", value) and 0 < int(value) <= MAX_ID:
        return int(value)
    return None


def url_pattern(endpoint: str, name: str, **values):
    """url_for() built once for a list: a function of one id giving that row's URL.

    A list of 50 rows with three links each would otherwise pay 150 route builds per page.
    """
    marker = str(MAX_ID)
    base = url_for(endpoint, **values, **{name: MAX_ID})
    head, _, tail = base.rpartition(marker)
    return lambda value: f"{head}{int(value)}{tail}"


def page_arg(name: str = "page") -> int:
    """The page argument of a list (`page`, or `name` when a page holds two lists), clamped to 1..MAX_PAGE."""
    value = parse_id(request.values.get(name)) or 1
    return min(value, MAX_PAGE)


# ---------------------------------------------------------------- request bodies (P6-5)


class _MaxLengthStream(LimitedStream):
    """A streamed body (chunked: no Content-Length) limited to MAX_CONTENT_LENGTH. Werkzeug's own stops
    reading at the limit and returns what it has, so a larger body was cut silently and parsed: here a body
    with more to read than the limit is refused with 413."""

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._stream.read(1):
            raise RequestEntityTooLarge()
        return data


class _FormDataParser(FormDataParser):
    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        # Werkzeug applies max_form_memory_size to multipart text parts only: an urlencoded body is all text,
        # so it is held to the same limit, read in bounded steps (never more than the limit + 1 byte).
        limit = self.max_form_memory_size
        if limit is not None:
            if content_length is not None and content_length > limit:
                raise RequestEntityTooLarge()
            data = bytearray()
            while len(data) <= limit:
                chunk = stream.read(min(64 * 1024, limit + 1 - len(data)))
                if not chunk:
                    break
                data += chunk
            if len(data) > limit:
                raise RequestEntityTooLarge()
            stream = io.BytesIO(bytes(data))
        return super()._parse_urlencoded(stream, mimetype, content_length, options)


# Room for the text fields, boundaries and part headers beside the file(s) of a view with a per-file limit.
UPLOAD_FORM_ALLOWANCE = 64 * 1024


class _BoundedUpload(SpooledTemporaryFile):
    """An uploaded file part, kept in memory up to 500 KB then on disk (Werkzeug's default), that refuses with
    413 the first byte past `limit`: the parser stops there, before the view runs."""

    def __init__(self, limit: int):
        super().__init__(max_size=500 * 1024, mode="rb+")
        self._limit, self._written = limit, 0

    def write(self, data):
        self._written += len(data)
        if self._written > self._limit:
            self.close()
            raise RequestEntityTooLarge()
        return super().write(data)


class Request(FlaskRequest):
    """Body limits whatever the transfer encoding: MAX_CONTENT_LENGTH for the whole body, MAX_FORM_MEMORY_SIZE
    for form text (multipart text parts, and urlencoded bodies too), and a view's own per-file limit
    (`accepts_files(max_size=...)`) for each file part and for the body."""

    form_data_parser_class = _FormDataParser

    @property
    def max_file_size(self) -> int | None:
        """The per-file limit of the view this request is routed to, if it set one."""
        from flask import current_app

        if self.url_rule is None or not current_app:
            return None
        view = current_app.view_functions.get(self.url_rule.endpoint)
        return getattr(view, "chorus_max_file_size", None)

    @property
    def max_content_length(self) -> int | None:
        limit = super().max_content_length
        per_file = self.max_file_size
        if per_file is not None:
            own = per_file + UPLOAD_FORM_ALLOWANCE
            limit = own if limit is None else min(limit, own)
        return limit

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        per_file = self.max_file_size
        if per_file is None:
            return super()._get_file_stream(total_content_length, content_type, filename, content_length)
        return _BoundedUpload(per_file)

    @cached_property
    def stream(self):
        limit = self.max_content_length
        if "wsgi.input_terminated" in self.environ and limit is not None:
            return _MaxLengthStream(self.environ["wsgi.input"], limit, is_max=True)
        return super().stream


# ---------------------------------------------------------------- access


def public(view):
    """Mark a view as reachable without logging in; every other view requires a session."""
    view.chorus_public = True
    return view


def _guard():
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, "chorus_public", False) or request.endpoint == "static":
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def safe_next(target: str | None, default: str) -> str:
    """Keep `next=` on this site: a local absolute path, nothing that a browser reads as a host."""
    if not target or len(target) > 2000:
        return default
    if any(c in target for c in "\\\r\n\t\x00") or target.startswith("//"):
        return default
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. "http://[x"
        return default
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return default
    return target


def _unauthorized():
    next_url = request.full_path.rstrip("?") if request.method == "GET" else None
    if request.headers.get("HX-Request") == "true":
        try:
            next_url = urlsplit(request.headers.get("HX-Current-URL", "")).path or None
        except ValueError:
            next_url = None
    login = url_for("accounts.login", next=safe_next(next_url, "") or None)
    flash("Veuillez vous connecter pour accéder à cette page.", "info")
    if request.headers.get("HX-Request") == "true":
        # The session ended during an htmx request: leave the page for the login screen.
        response = make_response("", 401)
        response.headers["HX-Redirect"] = login
        return response
    response = make_response("", 303)
    response.headers["Location"] = login
    return response


# ---------------------------------------------------------------- headers and errors

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)

ERROR_TEXTS = {
    400: ("Requête invalide", "La requête n'a pas pu être traitée. Revenez à la page précédente et réessayez."),
    403: ("Accès refusé", "Vous n'avez pas les droits nécessaires pour accéder à cette page."),
    404: ("Page introuvable", "La page demandée n'existe pas ou vous n'y avez pas accès."),
    405: ("Méthode non autorisée", "Cette adresse ne peut pas être utilisée de cette façon."),
    413: ("Fichier ou formulaire trop volumineux", "Les données envoyées dépassent la taille autorisée."),
    429: ("Trop de demandes", "Trop de demandes ont été faites. Réessayez dans quelques minutes."),
    500: ("Erreur interne", "Une erreur inattendue s'est produite ; elle a été consignée. Réessayez plus tard."),
}


def _error_page(code: int, detail: str | None = None):
    title, text = ERROR_TEXTS.get(code, ERROR_TEXTS[500 if code >= 500 else 400])
    return render("errors/error.html", status=code, code=code, title=title, text=detail or text)


def accepts_files(*fields, max_size: int | None = None):
    """Mark a view that takes uploaded files; any other view refuses a file part (P6-3).

    `@accepts_files` takes files in any field; `@accepts_files("fichier", max_size=n)` only in the fields named
    (a file part in another field is refused the same way), and a file over `n` bytes, or a body too large to
    be one such file and its form, is refused with 413 while the body is read, before the view runs.
    """
    if len(fields) == 1 and callable(fields[0]):
        fields[0].chorus_accepts_files = True
        return fields[0]

    def mark(view):
        view.chorus_accepts_files = frozenset(fields) or True
        view.chorus_max_file_size = max_size
        return view

    return mark


def _reject_unexpected_files():
    # A text field sent as a file part (multipart with a filename) reached WTForms' validators as a FileStorage
    # and gave a 500 (P6-3). Only views marked @accepts_files take files; the others refuse them here, once.
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.files:
        return None
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint)
    accepted = getattr(view, "chorus_accepts_files", False)
    if accepted is True or (accepted and set(request.files) <= accepted):
        return None
    return _error_page(400, "Ce formulaire n'accepte pas de fichier : saisissez le texte dans les champs prévus.")


def _reject_nul_bytes():
    # NUL cannot be stored (PostgreSQL refuses it in text) and is never legitimate in a form.
    for source in (request.args, request.form):
        for _key, values in source.lists():
            if any("\x00" in v for v in values) or "\x00" in _key:
                return _error_page(400, "Les données envoyées contiennent un caractère interdit.")
    return None


def init_app(app):
    app.request_class = Request
    app.url_map.converters["id"] = IdConverter
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_reject_unexpected_files)
    app.before_request(_reject_nul_bytes)
    app.before_request(_guard)
    app.before_request(space_guard)  # after the session check: SPEC ESP-5, one declaration per space

    @app.after_request
    def _security_headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static":
            h["Cache-Control"] = "no-store"
        if app.config["SESSION_COOKIE_SECURE"]:  # served over HTTPS: browsers must keep to it
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        if not current_user.is_authenticated:
            # The session (and its CSRF secret) expired or was never there: back to the login page.
            return login_manager.unauthorized()
        return _error_page(400, "Le formulaire a expiré ou ne provient pas de ce site. Rechargez la page et réessayez.")

    @app.errorhandler(Denied)
    def _denied(error):
        return _error_page(404 if error.hidden else 403)

    @app.errorhandler(Refused)
    def _refused(error):
        # A rule (maybe a plugin's) refused a change the view had no form for: nothing was saved.
        from .extensions import db

        db.session.rollback()
        return render("errors/refused.html", status=422, messages=list(error.errors.values()))

    @app.errorhandler(HTTPException)
    def _http_error(error):
        if error.code in (301, 302, 303, 307, 308):
            return error
        return _error_page(error.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(error):
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        from .extensions import db

        db.session.rollback()  # the page below must not flush what failed
        return _error_page(500)

    @app.context_processor
    def _globals():
        from .plugins import hook
        from .spaces import current, navigation, reachable_spaces

        def slot(name, **context):
            parts = [p for p in hook().template_slot(name=name, context=context) if p]
            return Markup("\n").join(parts)  # a plain str from a plugin is escaped, Markup kept

        from .structures.countries import name as country_name

        return {
            "slot": slot,
            "country_name": country_name,
            "url_pattern": url_pattern,
            "spaces": lambda: reachable_spaces(current_user),
            "current_space": current,
            "nav_entries": lambda: navigation(current_user),
            "flashes": lambda: get_flashed_messages(with_categories=True),
        }

