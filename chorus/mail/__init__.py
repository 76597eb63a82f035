"""The e-mail outbox and its sender (SPEC NOT-1, NOT-2)."""
import click

from ..hookspecs import hookimpl
from . import models  # noqa: F401  (tables known to Alembic)


@click.command("send-mail")
@click.option("--loop", is_flag=True, help="Keep running, sending due mails every --interval seconds.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between runs with --loop.")
def send_mail_command(loop, interval):
    """Send the e-mails waiting in the outbox (once, or as a loop)."""
    import threading

    from flask import current_app

    from .sender import mail_dir, run_forever, send_due

    app = current_app._get_current_object()
    if not app.config["MAIL_SMTP_HOST"]:
        click.echo(f"No SMTP server configured: mails are written to {mail_dir()}")
    if loop:
        stop = threading.Event()
        try:
            run_forever(app, interval, stop)
        except KeyboardInterrupt:
            stop.set()
        return
    report = send_due()
    click.echo(f"sent: {report.sent}, to retry: {report.retried}, failed: {report.failed}")


@hookimpl
def register_commands():
    return [send_mail_command]
