"""Delivery of the outbox: SMTP with retries and backoff, or .eml files when no server is set.

Each message is claimed by a guarded update before it is sent (several senders may run), and
keeps its Message-ID across attempts, so a receiver can drop a duplicate after a crash.
"""
from __future__ import annotations

import os
import smtplib
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from .. import clock
from ..database import transaction
from ..extensions import db
from .models import MailStatus, OutboxMessage
from .outbox import rendered


class TemporaryFailure(Exception):
    """Try again later (4xx reply, refused or dropped connection, timeout)."""


class ConnectionFailure(TemporaryFailure):
    """The server cannot be reached: stop this run, the other messages wait too."""


class PermanentFailure(Exception):
    """The server refused for good (5xx): set the message aside."""


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def build_email(message: OutboxMessage) -> EmailMessage:
    em = EmailMessage()
    em["From"] = current_app.config["MAIL_FROM"]
    em["To"] = message.to_addr
    em["Subject"] = message.subject
    em["Date"] = format_datetime(message.created_at)
    em["Message-ID"] = message.message_id
    em["Auto-Submitted"] = "auto-generated"
    em.set_content(message.body)
    return em


class SMTPTransport:
    def __init__(self, config):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        try:
            smtp = smtplib.SMTP(c["MAIL_SMTP_HOST"], c["MAIL_SMTP_PORT"], timeout=c["MAIL_SMTP_TIMEOUT"])
            if c["MAIL_SMTP_STARTTLS"]:
                smtp.starttls()
            if c["MAIL_SMTP_USER"]:
                smtp.login(c["MAIL_SMTP_USER"], c["MAIL_SMTP_PASSWORD"])
        except smtplib.SMTPResponseException as e:
            raise ConnectionFailure(f"{e.smtp_code} {e.smtp_error!r}") from e
        except (OSError, smtplib.SMTPException) as e:
            raise ConnectionFailure(str(e) or type(e).__name__) from e
        return smtp

    def send(self, em: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = self._connect()
        try:
            refused = self._send(em)
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()))
            raise _classify(code, text) from e
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
            raise _classify(e.smtp_code, e.smtp_error) from e
        except smtplib.SMTPResponseException as e:  # e.g. a HELO refused
            self.close()
            raise _classify(e.smtp_code, e.smtp_error) from e
        except OSError as e:  # SMTPServerDisconnected, a reset connection, a timeout
            self.close()
            raise ConnectionFailure(str(e) or type(e).__name__) from e
        if refused:
            code, text = next(iter(refused.values()))
            raise _classify(code, text)

    def _send(self, em: EmailMessage):
        try:
            return self.smtp.send_message(em)
        finally:
            if self.smtp is not None and getattr(self.smtp, "sock", None) is None:
                # smtplib closed the socket itself (e.g. after a 421 reply): reconnect next time.
                self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.smtp = None


def _classify(code: int, text) -> Exception:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    detail = f"{code} {text}"[:900]
    return PermanentFailure(detail) if 500 <= code < 600 else TemporaryFailure(detail)


class FileTransport:
    """Writes each message to MAIL_DIR as <id>.eml (development, or no SMTP server on the intranet)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, em: EmailMessage, name: str = "") -> None:
        # Private, whatever the umask: the files hold live activation and reset links (P6-11).
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        final = self.directory / f"{name}.eml"
        tmp = final.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(bytes(em))
        tmp.replace(final)

    def close(self) -> None:
        pass


def mail_dir(app=None) -> Path:
    app = app or current_app
    return Path(app.config["MAIL_DIR"] or Path(app.instance_path) / "mail")


def _transport():
    if current_app.config["MAIL_SMTP_HOST"]:
        return SMTPTransport(current_app.config)
    return FileTransport(mail_dir())


def backoff(attempts: int):
    c = current_app.config
    return min(c["MAIL_RETRY_BASE"] * (2 ** max(attempts - 1, 0)), c["MAIL_RETRY_MAX"])


def send_due(limit: int = 200) -> SendReport:
    """Try every message that is due once. Safe to run from several processes at once."""
    report = SendReport()
    now = clock.now()
    ids = db.session.execute(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == MailStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).scalars().all()
    db.session.rollback()
    transport = _transport()
    try:
        for message_id in ids:
            if not _claim(message_id):
                continue
            message = db.session.get(OutboxMessage, message_id)
            try:
                message = _render_once(message)
            except Exception as e:  # a template error: no attempt will do better
                current_app.logger.exception("mail %s could not be rendered", message_id)
                _finish(message_id, MailStatus.FAILED, f"rendu impossible : {type(e).__name__}: {e}")
                report.failed += 1
                continue
            em = build_email(message)
            try:
                if isinstance(transport, FileTransport):
                    transport.send(em, name=f"{message.id:06d}-{message.template}")
                else:
                    transport.send(em)
            except PermanentFailure as e:
                _finish(message_id, MailStatus.FAILED, str(e))
                report.failed += 1
            except TemporaryFailure as e:
                failed = _retry_later(message_id, str(e))
                report.failed += failed
                report.retried += not failed
                if isinstance(e, ConnectionFailure):
                    break
            else:
                _finish(message_id, MailStatus.SENT, "")
                report.sent += 1
    finally:
        transport.close()
    return report


def _render_once(message: OutboxMessage) -> OutboxMessage:
    """A mail queued in bulk is rendered by the sender, once: subject and body are stored, so that a
    retry sends the same text and administrators read it."""
    if message.context is None:
        return message
    subject, body = rendered(message)
    with transaction():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id)
                           .values(subject=subject[:300], body=body, context=None))
    return db.session.get(OutboxMessage, message.id)


def _claim(message_id: int) -> bool:
    now = clock.now()
    with transaction():
        result = db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status == MailStatus.PENDING,
                OutboxMessage.next_attempt_at <= now,
            )
            .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + current_app.config["MAIL_LEASE"])
        )
        return result.rowcount == 1


def _finish(message_id: int, status: MailStatus, error: str) -> None:
    with transaction():
        values = {"status": status, "last_error": error[:1000]}
        if status == MailStatus.SENT:
            values["sent_at"] = clock.now()
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


def _retry_later(message_id: int, error: str) -> bool:
    """Schedule another attempt with backoff; True when the message has used all its attempts."""
    with transaction():
        message = db.session.get(OutboxMessage, message_id)
        message.last_error = error[:1000]
        if message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            message.status = MailStatus.FAILED
            return True
        message.next_attempt_at = clock.now() + backoff(message.attempts)
        return False


def retry(actor, message: OutboxMessage) -> bool:
    """A platform administrator puts a failed message back in the queue; False if it had not failed."""
    from ..permissions import require

    require(actor, "admin.outbox", message)
    with transaction():
        result = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.status == MailStatus.FAILED)
            .values(status=MailStatus.PENDING, attempts=0, next_attempt_at=clock.now(), last_error="")
        )
        return result.rowcount == 1


def run_forever(app, interval: float, stop: threading.Event) -> None:
    """The sender loop of `flask chorus send-mail --loop` and of the development server."""
    while not stop.is_set():
        with app.app_context():
            try:
                send_due()
            except Exception:
                app.logger.exception("mail sender run failed")
            finally:
                db.session.remove()
        stop.wait(interval)


def start_background_sender(app, interval: float = 3.0) -> threading.Event:
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(app, interval, stop), name="chorus-mail", daemon=True)
    thread.start()
    return stop
