"""The e-mail outbox against a real local SMTP server (aiosmtpd): SPEC NOT-1, NOT-2.

Mails are queued in the transaction of the action causing them, then `send_due()` delivers them,
with retries and backoff when the server is down or answers 4xx, and sets them aside on 5xx.
"""
from __future__ import annotations

import asyncio
import email
import socket
import threading
from datetime import timedelta
from email import policy
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from chorus import clock
from chorus.database import transaction
from chorus.extensions import db
from chorus.mail import outbox as mail_outbox
from chorus.mail import sender
from chorus.mail.models import MailStatus, OutboxMessage

SENDER = "ne-pas-repondre@chorus.localhost"  # the address part of the default MAIL_FROM
SUBJECT = "Chorus : votre compte existe déjà"


# ------------------------------------------------------------------ a recording SMTP server


class RecordingHandler:
    """An aiosmtpd handler that records what it is sent and answers what it is told.

    - `reply`: the answer to DATA for every message ("250 OK" by default);
    - `reply_once`: if set, the answer to the *first* DATA of each Message-ID (then `reply`);
    - `reply_for`: {Message-ID: reply} for one given message, at every attempt;
    - `refuse_rcpt`: {address: reply} to refuse a recipient at RCPT TO;
    - `delay`: seconds to wait before answering DATA (to make two senders overlap).
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.reply = "250 OK"
        self.reply_once: str | None = None
        self.reply_for: dict[str, str] = {}  # Message-ID -> reply, for every attempt at that message
        self.refuse_rcpt: dict[str, str] = {}
        self.delay = 0.0
        self.attempts: list[tuple[str, str]] = []  # (Message-ID, reply) for every DATA received
        self.contents: list[bytes] = []  # envelope.content of every accepted message
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TOs) of accepted messages

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message_id = str(parse(envelope.content)["Message-ID"])
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            seen = any(mid == message_id for mid, _ in self.attempts)
            answer = self.reply_once if self.reply_once and not seen else self.reply
            answer = self.reply_for.get(message_id, answer)
            self.attempts.append((message_id, answer))
            if answer.startswith("250"):
                self.contents.append(envelope.content)
                self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return answer

    @property
    def delivered(self) -> list[email.message.EmailMessage]:
        return [parse(c) for c in self.contents]

    def delivered_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.delivered]


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPServer:
    """A local SMTP server on a port chosen up front; start() may come later (outage tests)."""

    def __init__(self):
        self.port = free_port()
        self.handler = RecordingHandler()
        self.controller: Controller | None = None

    def start(self) -> SMTPServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    """A server that is NOT started yet: nothing listens on smtp.port until smtp.start()."""
    server = SMTPServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_up(smtp):
    return smtp.start()


@pytest.fixture
def mail_app(make_app, smtp):
    """An app sending through the local server (started or not), inside an app context."""
    application = make_app(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=smtp.port, MAIL_SMTP_TIMEOUT=5)
    with application.app_context():
        yield application


# ------------------------------------------------------------------ helpers


def queue_mail(to="claire.martin@mairie.example", first_name="Claire", last_name="Martin") -> OutboxMessage:
    """Queue one "account_exists" mail in its own transaction, as a service would."""
    user = SimpleNamespace(first_name=first_name, last_name=last_name, login_email=to)
    with transaction():
        message = mail_outbox.queue(to, "account_exists", user=user, reset_link="http://localhost/mot-de-passe/xyz")
    return message


def stored(message_id: int | None = None):
    """Fresh rows from the database (ending any read snapshot the test session holds)."""
    db.session.rollback()
    if message_id is not None:
        return db.session.get(OutboxMessage, message_id)
    return db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()


# ------------------------------------------------------------------ delivery


# SPEC NOT-1
def test_queued_mail_is_delivered_once_with_its_message_id(mail_app, smtp_up):
    handler = smtp_up.handler
    message = queue_mail()
    row = stored(message.id)
    assert row.status == MailStatus.PENDING and row.attempts == 0
    assert handler.attempts == []  # queued, not sent by the transaction itself

    report = sender.send_due()

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    assert len(handler.delivered) == 1
    received = handler.delivered[0]
    assert received["To"] == "claire.martin@mairie.example"
    assert received["Subject"] == SUBJECT
    assert received["From"] == "Chorus <ne-pas-repondre@chorus.localhost>"
    assert received["Auto-Submitted"] == "auto-generated"
    body = received.get_content()
    assert "Bonjour Claire Martin" in body
    assert "http://localhost/mot-de-passe/xyz" in body
    assert handler.envelopes == [(SENDER, ["claire.martin@mairie.example"])]

    row = stored(message.id)
    assert received["Message-ID"] == row.message_id
    assert row.message_id.startswith("<") and row.message_id.endswith("@chorus.localhost>")
    assert row.status == MailStatus.SENT
    assert row.attempts == 1
    assert row.sent_at is not None and row.last_error == ""

    # Sent is sent: later runs, even much later, do not send it again.
    clock.travel(timedelta(hours=3))
    assert sender.send_due().sent == 0
    assert len(handler.attempts) == 1


# SPEC NOT-1
def test_each_message_gets_its_own_message_id(mail_app, smtp_up):
    first = queue_mail("a@mairie.example")
    second = queue_mail("b@mairie.example")
    assert sender.send_due().sent == 2
    rows = stored()
    assert rows[0].message_id != rows[1].message_id
    assert smtp_up.handler.delivered_ids() == [rows[0].message_id, rows[1].message_id]
    assert [m["To"] for m in smtp_up.handler.delivered] == ["a@mairie.example", "b@mairie.example"]
    assert {first.id, second.id} == {r.id for r in rows}


# SPEC NOT-1
def test_rolled_back_transaction_queues_and_sends_nothing(mail_app, smtp_up):
    user = SimpleNamespace(first_name="Claire", last_name="Martin", login_email="claire@mairie.example")
    with pytest.raises(RuntimeError, match="boom"):
        with transaction():
            mail_outbox.queue("claire@mairie.example", "account_exists", user=user, reset_link="http://x/y")
            db.session.flush()  # the row did reach the database, inside the transaction
            raise RuntimeError("boom")

    assert stored() == []
    report = sender.send_due()
    assert (report.sent, report.retried, report.failed) == (0, 0, 0)
    assert smtp_up.handler.attempts == []


# ------------------------------------------------------------------ outages and refusals


# SPEC NOT-2
def test_server_down_mails_wait_then_are_delivered_once(mail_app, smtp, travel):
    messages = [queue_mail(f"agent{i}@mairie.example") for i in range(3)]
    before = clock.now()

    report = sender.send_due()  # nothing listens on smtp.port: no exception

    assert report.sent == 0 and report.retried == 1 and report.failed == 0
    rows = stored()
    assert [r.status for r in rows] == [MailStatus.PENDING] * 3
    # The first message was tried: its attempt is counted, with the error, and it waits (backoff).
    assert rows[0].attempts == 1
    assert rows[0].last_error != ""
    assert rows[0].next_attempt_at >= before + mail_app.config["MAIL_RETRY_BASE"]
    # The run stopped at the connection failure: the others were not charged an attempt.
    assert [r.attempts for r in rows[1:]] == [0, 0]
    stored_ids = [r.message_id for r in rows]

    # Still down, right away: the first is not due yet; the next one is tried and waits too.
    sender.send_due()
    rows = stored()
    assert rows[0].attempts == 1
    assert rows[1].attempts == 1 and rows[1].next_attempt_at > clock.now()
    assert all(r.status == MailStatus.PENDING for r in rows)

    # The server comes back; some minutes later every mail is delivered, once, with its Message-ID.
    smtp.start()
    travel(minutes=5)
    report = sender.send_due()
    assert report.sent == 3
    rows = stored()
    assert [r.status for r in rows] == [MailStatus.SENT] * 3
    assert [r.message_id for r in rows] == stored_ids  # stable across attempts
    assert sorted(smtp.handler.delivered_ids()) == sorted(stored_ids)
    assert len(smtp.handler.attempts) == 3
    assert {m.id for m in messages} == {r.id for r in rows}

    travel(hours=3)
    assert sender.send_due().sent == 0
    assert len(smtp.handler.attempts) == 3


# SPEC NOT-2
def test_backoff_grows_between_attempts(mail_app, smtp_up, travel):
    smtp_up.handler.reply = "451 4.3.0 Try again later"
    message = queue_mail()
    base = mail_app.config["MAIL_RETRY_BASE"]

    delays = []
    for _ in range(3):
        now = clock.now()
        sender.send_due()
        row = stored(message.id)
        assert row.status == MailStatus.PENDING
        delays.append(row.next_attempt_at - now)
        # Not due before its delay: an immediate run does not try it.
        tried = len(smtp_up.handler.attempts)
        sender.send_due()
        assert len(smtp_up.handler.attempts) == tried
        travel(hours=3)

    assert len(smtp_up.handler.attempts) == 3
    # 30 s, 60 s, 120 s (a little more for the time the run takes).
    for delay, expected in zip(delays, (base, 2 * base, 4 * base), strict=True):
        assert expected <= delay < expected + timedelta(seconds=5)


# SPEC NOT-2
def test_temporary_refusal_is_retried_and_delivered_once(mail_app, smtp_up, travel):
    handler = smtp_up.handler
    handler.reply_once = "451 4.3.0 Try again later"
    message = queue_mail()

    report = sender.send_due()
    assert (report.sent, report.retried, report.failed) == (0, 1, 0)
    row = stored(message.id)
    assert row.status == MailStatus.PENDING and row.attempts == 1
    assert "451" in row.last_error
    assert handler.delivered == []

    travel(minutes=5)
    report = sender.send_due()
    assert report.sent == 1
    row = stored(message.id)
    assert row.status == MailStatus.SENT
    assert row.attempts == 2
    assert row.last_error == ""
    assert handler.delivered_ids() == [row.message_id]
    assert [mid for mid, _ in handler.attempts] == [row.message_id, row.message_id]  # same id both times


# SPEC NOT-2
def test_temporary_refusal_of_one_mail_does_not_hold_back_the_others(mail_app, smtp_up):
    handler = smtp_up.handler
    handler.refuse_rcpt = {"full@mairie.example": "452 4.2.2 Mailbox full"}
    refused = queue_mail("full@mairie.example")
    accepted = queue_mail("ok@mairie.example")

    report = sender.send_due()

    assert (report.sent, report.retried, report.failed) == (1, 1, 0)
    assert stored(refused.id).status == MailStatus.PENDING
    assert "452" in stored(refused.id).last_error
    assert stored(accepted.id).status == MailStatus.SENT
    assert [m["To"] for m in handler.delivered] == ["ok@mairie.example"]


# SPEC NOT-2
def test_service_closing_421_does_not_charge_the_next_mail(mail_app, smtp_up):
    first = queue_mail("a@mairie.example")
    second = queue_mail("b@mairie.example")
    smtp_up.handler.reply_for = {stored(first.id).message_id: "421 4.3.2 Service shutting down"}

    sender.send_due()

    row = stored(first.id)
    assert row.status == MailStatus.PENDING and "421" in row.last_error
    row = stored(second.id)
    # Either it was delivered on a new connection, or it was left alone for the next run:
    # an attempt is counted only when the mail was actually offered to the server.
    assert row.status == MailStatus.SENT or row.attempts == 0, (row.status, row.attempts, row.last_error)


# SPEC NOT-2
@pytest.mark.parametrize("stage", ["DATA", "RCPT"])
def test_permanent_refusal_sets_the_mail_aside(mail_app, smtp_up, travel, stage):
    handler = smtp_up.handler
    if stage == "DATA":
        handler.reply = "550 5.1.1 No such user"
    else:
        handler.refuse_rcpt = {"nobody@mairie.example": "550 5.1.1 No such user"}
    message = queue_mail("nobody@mairie.example")

    report = sender.send_due()

    assert (report.sent, report.retried, report.failed) == (0, 0, 1)
    row = stored(message.id)
    assert row.status == MailStatus.FAILED
    assert row.attempts == 1
    assert "550" in row.last_error
    assert "No such user" in row.last_error
    assert row.sent_at is None
    data_seen = len(handler.attempts)

    # Not retried by later runs, however late.
    handler.reply, handler.refuse_rcpt = "250 OK", {}
    for _ in range(3):
        travel(hours=3)
        assert sender.send_due().sent == 0
    assert stored(message.id).status == MailStatus.FAILED
    assert stored(message.id).attempts == 1
    assert len(handler.attempts) == data_seen
    assert handler.delivered == []


# SPEC NOT-2
def test_too_many_temporary_failures_set_the_mail_aside(make_app, smtp_up, travel):
    app = make_app(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=smtp_up.port, MAIL_MAX_ATTEMPTS=3)
    handler = smtp_up.handler
    handler.reply = "451 4.3.0 Try again later"
    with app.app_context():
        message = queue_mail()
        statuses = []
        for _ in range(3):
            sender.send_due()
            statuses.append(stored(message.id).status)
            travel(hours=3)
        assert statuses == [MailStatus.PENDING, MailStatus.PENDING, MailStatus.FAILED]
        row = stored(message.id)
        assert row.attempts == 3
        assert "451" in row.last_error

        # Set aside: the server is fine again, but the mail waits for an administrator.
        handler.reply = "250 OK"
        travel(hours=3)
        assert sender.send_due().sent == 0
        assert len(handler.attempts) == 3
        assert handler.delivered == []
        db.session.remove()


# SPEC NOT-2
def test_a_sender_that_died_after_claiming_does_not_lose_the_mail(mail_app, smtp_up, travel):
    message = queue_mail()
    # A sender claims the message and dies before sending (process killed).
    assert sender._claim(message.id) is True

    # While its lease runs, other senders leave the message alone...
    assert sender.send_due().sent == 0
    assert smtp_up.handler.attempts == []
    # ...then it is sent by the next run, once, with the Message-ID it was stored with.
    travel(minutes=6)
    assert sender.send_due().sent == 1
    row = stored(message.id)
    assert row.status == MailStatus.SENT
    assert smtp_up.handler.delivered_ids() == [row.message_id]


# SPEC NOT-2
def test_two_concurrent_senders_deliver_each_mail_once(mail_app, smtp_up):
    handler = smtp_up.handler
    handler.delay = 0.01  # each delivery takes a moment, so that the two senders overlap
    count = 12
    for i in range(count):
        queue_mail(f"agent{i}@mairie.example")
    db.session.remove()

    barrier = threading.Barrier(2)
    reports, errors = [], []

    def run():
        try:
            with mail_app.app_context():
                barrier.wait(timeout=5)
                try:
                    reports.append(sender.send_due())
                finally:
                    db.session.remove()
        except BaseException as e:  # noqa: BLE001  (reported in the main thread)
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert errors == []

    rows = stored()
    ids = handler.delivered_ids()
    assert len(ids) == count
    assert sorted(ids) == sorted(r.message_id for r in rows)  # each one exactly once
    assert [r.status for r in rows] == [MailStatus.SENT] * count
    assert [r.attempts for r in rows] == [1] * count
    assert sum(r.sent for r in reports) == count
    # Both senders did take part (otherwise the test proves nothing about the claim).
    assert all(r.sent > 0 for r in reports), [r.sent for r in reports]


# ------------------------------------------------------------------ no SMTP server: files


# SPEC NOT-1
def test_without_smtp_host_mails_are_written_as_eml_files(app, tmp_path):
    assert app.config["MAIL_SMTP_HOST"] == ""
    message = queue_mail()

    report = sender.send_due()

    assert report.sent == 1
    row = stored(message.id)
    assert row.status == MailStatus.SENT and row.attempts == 1
    directory = tmp_path / "mail"
    files = sorted(directory.iterdir())
    assert [f.name for f in files] == [f"{row.id:06d}-account_exists.eml"]  # no .tmp left behind
    parsed = parse(files[0].read_bytes())
    assert parsed["Message-ID"] == row.message_id
    assert parsed["To"] == "claire.martin@mairie.example"
    assert parsed["Subject"] == SUBJECT
    assert "Bonjour Claire Martin" in parsed.get_content()

    assert sender.send_due().sent == 0
    assert len(list(directory.iterdir())) == 1


# ------------------------------------------------------------------ administration screen


@pytest.fixture
def failed_mail(mail_app, smtp_up):
    """A mail the server refused for good (550), set aside as failed."""
    smtp_up.handler.reply = "550 5.1.1 No such user"
    message = queue_mail("perdu@mairie.example")
    sender.send_due()
    assert stored(message.id).status == MailStatus.FAILED
    smtp_up.handler.reply = "250 OK"
    return message


@pytest.fixture
def admin_and_agent(mail_app, accounts):
    accounts.create(email="admin@chorus.example", is_admin=True)
    accounts.create(email="agent@mairie.example")
    admin, agent = mail_app.test_client(), mail_app.test_client()
    accounts.login(admin, email="admin@chorus.example")
    accounts.login(agent, email="agent@mairie.example")
    return admin, agent


# SPEC NOT-2
def test_administrator_sees_failed_mails(failed_mail, admin_and_agent):
    admin, _ = admin_and_agent
    page = admin.get("/administration/courriels?statut=failed")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "perdu@mairie.example" in html
    assert "550 5.1.1 No such user" in html
    assert f"/administration/courriels/{failed_mail.id}/relancer" in html  # the retry button
    pending = admin.get("/administration/courriels?statut=pending")
    assert pending.status_code == 200
    assert "perdu@mairie.example" not in pending.get_data(as_text=True)


# SPEC NOT-2
def test_administrator_retries_a_failed_mail(failed_mail, admin_and_agent, smtp_up):
    admin, agent = admin_and_agent
    message_id = failed_mail.id

    # A non-administrator may neither see nor retry it.
    assert agent.get("/administration/courriels?statut=failed").status_code == 403
    assert agent.post(f"/administration/courriels/{message_id}/relancer").status_code == 403
    assert stored(message_id).status == MailStatus.FAILED

    response = admin.post(f"/administration/courriels/{message_id}/relancer")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/administration/courriels")
    row = stored(message_id)
    assert row.status == MailStatus.PENDING
    assert row.attempts == 0 and row.last_error == ""

    # A second retry of a mail that is no longer failed changes nothing.
    assert admin.post(f"/administration/courriels/{message_id}/relancer").status_code == 303
    assert stored(message_id).status == MailStatus.PENDING

    # The next run delivers it (the address was fixed on the server side), with the same Message-ID.
    assert sender.send_due().sent == 1
    row = stored(message_id)
    assert row.status == MailStatus.SENT and row.attempts == 1
    assert smtp_up.handler.delivered_ids() == [row.message_id]
    assert {mid for mid, _ in smtp_up.handler.attempts} == {row.message_id}

    assert admin.post("/administration/courriels/999999/relancer").status_code == 404


# ------------------------------------------------------------------ command line


# SPEC NOT-2
def test_send_mail_command_reports_counts(mail_app, smtp_up):
    smtp_up.handler.refuse_rcpt = {"nobody@mairie.example": "550 5.1.1 No such user"}
    queue_mail("a@mairie.example")
    queue_mail("b@mairie.example")
    queue_mail("nobody@mairie.example")

    result = mail_app.test_cli_runner().invoke(args=["chorus", "send-mail"])

    assert result.exit_code == 0, result.output
    assert "sent: 2, to retry: 0, failed: 1" in result.output
    assert "No SMTP server configured" not in result.output
    assert len(smtp_up.handler.delivered) == 2
    assert [r.status for r in stored()] == [MailStatus.SENT, MailStatus.SENT, MailStatus.FAILED]

    result = mail_app.test_cli_runner().invoke(args=["chorus", "send-mail"])
    assert "sent: 0, to retry: 0, failed: 0" in result.output


def test_send_mail_command_without_smtp_host_writes_files(app, tmp_path):
    queue_mail()
    result = app.test_cli_runner().invoke(args=["chorus", "send-mail"])
    assert result.exit_code == 0, result.output
    assert "No SMTP server configured" in result.output
    assert str(tmp_path / "mail") in result.output
    assert "sent: 1" in result.output
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1


# ------------------------------------------------------------------ bulk queueing, rendered by the sender


def bulk_context(first_name: str) -> dict:
    return {"user": {"first_name": first_name, "last_name": "Martin"},
            "structure": {"designation": "Mairie de Vannes", "identifier": "21560260700015"},
            "membership": {"role_label": "Utilisateur simple"}, "reason": "", "link": "http://localhost/mon-compte"}


def test_mails_queued_in_bulk_are_rendered_by_the_sender_and_kept(mail_app, smtp_up):
    with transaction():
        assert mail_outbox.queue_many([
            {"to": f"agent{n}@mairie.example", "template": "membership_validated", "context": bulk_context(f"A{n}")}
            for n in range(3)]) == 3
    rows = stored()
    assert [(r.status, r.body) for r in rows] == [(MailStatus.PENDING, "")] * 3  # nothing rendered yet

    assert sender.send_due().sent == 3

    delivered = smtp_up.handler.delivered
    assert [m["To"] for m in delivered] == [f"agent{n}@mairie.example" for n in range(3)]
    assert delivered[1]["Subject"] == "Chorus : votre rattachement à Mairie de Vannes est validé"
    content = delivered[1].get_content()
    assert "Bonjour A1 Martin" in content and "Votre rôle : utilisateur simple." in content
    assert "http://localhost/mon-compte" in content
    row = stored()[1]  # what administrators read in "Courriels"
    assert row.subject == delivered[1]["Subject"] and "Bonjour A1 Martin" in row.body


def test_a_bulk_mail_retried_after_a_refusal_sends_the_same_text(mail_app, smtp_up, travel):
    smtp_up.handler.reply_once = "451 4.3.0 Try again later"
    with transaction():
        mail_outbox.queue_many([{"to": "a@mairie.example", "template": "membership_refused",
                                 "context": {**bulk_context("Paul"), "reason": "Inconnu du service"}}])
    assert sender.send_due().retried == 1
    travel(hours=1)
    assert sender.send_due().sent == 1
    assert "Motif : Inconnu du service" in smtp_up.handler.delivered[0].get_content()
    assert len({a[0] for a in smtp_up.handler.attempts}) == 1  # one Message-ID across attempts


def test_a_rolled_back_bulk_queues_nothing_and_a_wrong_template_or_context_fails_at_once(mail_app):
    from jinja2 import TemplateNotFound, UndefinedError

    with pytest.raises(RuntimeError), transaction():
        mail_outbox.queue_many([{"to": "a@mairie.example", "template": "membership_validated",
                                 "context": bulk_context("A")}])
        raise RuntimeError("the action failed")
    with pytest.raises(TemplateNotFound), transaction():
        mail_outbox.queue_many([{"to": "a@mairie.example", "template": "membership_valdated", "context": {}}])
    incomplete = bulk_context("A")
    del incomplete["structure"]["identifier"]
    with pytest.raises(UndefinedError), transaction():  # a field the template reads is missing
        mail_outbox.queue_many([{"to": "a@mairie.example", "template": "membership_validated",
                                 "context": incomplete}])
    assert stored() == []


def test_administrators_read_the_subject_of_a_bulk_mail_not_yet_rendered(mail_app, admin_and_agent):
    admin, _ = admin_and_agent
    with transaction():
        mail_outbox.queue_many([{"to": "agent7@mairie.example", "template": "membership_validated",
                                 "context": bulk_context("Agent")}])
    html = admin.get("/administration/courriels?statut=pending").get_data(as_text=True)
    assert "agent7@mairie.example" in html
    assert "Chorus : votre rattachement à Mairie de Vannes est validé" in html
