"""Queue an e-mail in the current transaction: it is sent only if that transaction commits."""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import current_app
from jinja2_fragments.flask import render_block

from .. import clock
from ..extensions import db
from .models import MailStatus, OutboxMessage


def absolute_url(endpoint: str, **values) -> str:
    """A link for an e-mail, always on BASE_URL: never on the request's Host header, which a client
    chooses (a reset link pointing at another site would hand its token over)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(parts.netloc or "localhost", script_name=parts.path or "/")
    return f"{parts.scheme or 'http'}://{parts.netloc}{adapter.build(endpoint, values)}"


def queue(to: str, template: str, **context) -> OutboxMessage:
    """Render templates/mail/<template>.txt (blocks `subject` and `body`) into the outbox."""
    name = f"mail/{template}.txt"
    subject = " ".join(render_block(name, "subject", **context).split())
    body = render_block(name, "body", **context).strip() + "\n"
    domain = current_app.config["MAIL_FROM"].rsplit("@", 1)[-1].strip(">").strip() or "chorus.localhost"
    now = clock.now()
    message = OutboxMessage(
        message_id=f"<{uuid.uuid4().hex}@{domain}>",
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
