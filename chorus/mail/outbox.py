"""Queue an e-mail in the current transaction: it is sent only if that transaction commits."""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import current_app
from jinja2 import StrictUndefined
from jinja2_fragments import render_block as jinja_render_block
from jinja2_fragments.flask import render_block

from .. import clock
from ..database import bulk_insert
from ..extensions import db
from .models import MailStatus, OutboxMessage


def absolute_url(endpoint: str, **values) -> str:
    """A link for an e-mail, always on BASE_URL: never on the request's Host header, which a client
    chooses (a reset link pointing at another site would hand its token over)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(parts.netloc or "localhost", script_name=parts.path or "/")
    return f"{parts.scheme or 'http'}://{parts.netloc}{adapter.build(endpoint, values)}"


def render(template: str, context: dict) -> tuple[str, str]:
    """Subject and body of templates/mail/<template>.txt (blocks `subject` and `body`)."""
    name = f"mail/{template}.txt"
    subject = " ".join(render_block(name, "subject", **context).split())
    body = render_block(name, "body", **context).strip() + "\n"
    return subject, body


def _domain() -> str:
    return current_app.config["MAIL_FROM"].rsplit("@", 1)[-1].strip(">").strip() or "chorus.localhost"


def _message_id(domain: str | None = None) -> str:
    return f"<{uuid.uuid4().hex}@{domain or _domain()}>"


def queue(to: str, template: str, **context) -> OutboxMessage:
    """Render templates/mail/<template>.txt (blocks `subject` and `body`) into the outbox."""
    subject, body = render(template, context)
    now = clock.now()
    message = OutboxMessage(
        message_id=_message_id(),
        to_addr=to,
        subject=subject,
        body=body,
        template=template,
        status=MailStatus.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        last_error="",
    )
    db.session.add(message)
    return message


def _check_contexts(mails: list[dict]) -> None:
    """Render the first mail of each template once, strictly, in the request: a misspelled template or
    a field its context lacks fails here (the action rolls back), not as a blank in 1,000 sent mails."""
    strict = current_app.jinja_env.overlay(undefined=StrictUndefined)
    firsts = {}
    for mail in mails:
        firsts.setdefault(mail["template"], mail)
    for template, mail in firsts.items():
        for block in ("subject", "body"):
            jinja_render_block(strict, f"mail/{template}.txt", block, **mail["context"])


def queue_many(mails: list[dict]) -> int:
    """Queue many e-mails in one statement (COPY or a multi-row INSERT), rendered later by the sender.

    Each mail is {"to": address, "template": name, "context": {...}}; the context holds plain JSON
    values only (dicts, strings, numbers), which the template reads as it reads objects
    (`user.first_name` is `context["user"]["first_name"]`). Returns how many were queued.
    """
    if not mails:
        return 0
    _check_contexts(mails)
    domain = _domain()
    now = clock.now()
    bulk_insert(OutboxMessage.__table__, [
        {"message_id": _message_id(domain), "to_addr": m["to"], "subject": "", "body": "", "template": m["template"],
         "context": m["context"], "status": MailStatus.PENDING.value, "attempts": 0, "created_at": now,
         "next_attempt_at": now, "sent_at": None, "last_error": ""} for m in mails])
    return len(mails)


def rendered(message: OutboxMessage) -> tuple[str, str]:
    """The message's subject and body: stored, or rendered now from its context."""
    if message.context is None:
        return message.subject, message.body
    return render(message.template, message.context)
