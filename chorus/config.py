"""Default configuration. Override in instance/config.py or with CHORUS_* / DATABASE_URL variables."""
import os
import secrets
from datetime import timedelta
from pathlib import Path


class Defaults:
    # Feature plugins shipped in plugins/ (module names); DISABLED_PLUGINS switches any of them,
    # or an entry-point plugin, off. The core modules (chorus.*) are always loaded.
    PLUGINS: list[str] = ["plugins.services", "plugins.documents", "plugins.spaces", "plugins.technical_users",
                          "plugins.siret_change", "plugins.csv_export"]
    DISABLED_PLUGINS: list[str] = []
    # Plugin objects registered as they are (tests use it for throw-away plugins).
    EXTRA_PLUGINS: list = []

    SQLALCHEMY_ENGINE_OPTIONS: dict = {}

    # Sessions: a server-side record per login; the cookie only names it (chorus.accounts.sessions).
    SESSION_COOKIE_NAME = "chorus_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # set CHORUS_HTTPS=1 behind HTTPS
    # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto/-Host (0: none, trust nothing).
    # Without it every client has the proxy's address, and the per-address limits become global.
    PROXY_COUNT = 0
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    # The cookie is written again only when it changes (login, the idle clock moved on a minute), not signed
    # and sent with every response.
    SESSION_REFRESH_EACH_REQUEST = False
    REMEMBER_COOKIE_DURATION = timedelta(0)

    # 4 MB documents (SPEC DOC-2) plus form overhead; anything larger is refused with 413.
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session, which has its own limits
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    WTF_I18N_ENABLED = False  # no Flask-Babel: forms use WTForms' French catalogue (chorus.forms.BaseForm)

    # Accounts.
    ACTIVATION_TOKEN_LIFETIME = timedelta(days=3)
    RESET_TOKEN_LIFETIME = timedelta(hours=1)
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 256
    # Login throttling (ACC-7), attempts per window. A stranger must not be able to lock the owner out
    # (ASVS 6.1.1, P6-2): failures count per account AND client address, or per trusted device (a signed
    # cookie given at a successful login); all untrusted clients together get a larger allowance per account,
    # which slows a distributed attack while the owner's own devices go on; the owner is told by e-mail.
    LOGIN_WINDOW = timedelta(minutes=15)
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 5  # per account and address, or per trusted device
    LOGIN_MAX_FAILURES_PER_ACCOUNT_UNTRUSTED = 30  # per account, every untrusted client together
    LOGIN_ALERT_AFTER = 10  # the owner is mailed when untrusted clients reach this many attempts in a window
    LOGIN_MAX_FAILURES_PER_ADDRESS = 50
    DEVICE_COOKIE_NAME = "chorus_device"
    DEVICE_COOKIE_LIFETIME = timedelta(days=180)
    # Mails asked ("Mot de passe oublié", "Créer votre compte") per window: per client address, and per
    # recipient (P6-8: 25 addresses could send 25 reset mails to one person).
    MAIL_REQUESTS_PER_ADDRESS = 20
    MAIL_REQUESTS_PER_RECIPIENT = 3
    MAIL_REQUESTS_WINDOW = timedelta(hours=1)
    # "Envoyer le courriel d'activation" from the user search (USR-3): mails one manager may send per window,
    # one by one or for the selected people (each recipient's own limit above applies as well).
    ACTIVATION_RESENDS_PER_MANAGER = 100
    ACTIVATION_RESENDS_WINDOW = timedelta(hours=1)
    # argon2id; the defaults are the OWASP minimum (19 MiB, 2 passes, 1 lane).
    ARGON2_MEMORY_KIB = 19 * 1024
    ARGON2_TIME_COST = 2
    ARGON2_PARALLELISM = 1

    # Membership requests left pending this long are refused with an e-mail (SPEC RAT-8).
    MEMBERSHIP_REQUEST_TTL = timedelta(days=30)
    # Invitations of people not yet linked to a manager's structures (SPEC RAT-6): lifetime, and how many
    # one manager may send per window (a trusted sender must not become a mailing list).
    INVITATION_LIFETIME = timedelta(days=14)
    INVITATIONS_PER_MANAGER = 20
    INVITATIONS_WINDOW = timedelta(days=1)

    # E-mail outbox. With no SMTP host, mails are written as .eml files to MAIL_DIR.
    MAIL_FROM = "Chorus <ne-pas-repondre@chorus.localhost>"
    MAIL_SMTP_HOST = ""
    MAIL_SMTP_PORT = 25
    MAIL_SMTP_USER = ""
    MAIL_SMTP_PASSWORD = ""
    MAIL_SMTP_STARTTLS = False
    MAIL_SMTP_TIMEOUT = 10
    MAIL_DIR = ""  # default: <instance>/mail
    MAIL_MAX_ATTEMPTS = 8
    MAIL_RETRY_BASE = timedelta(seconds=30)  # doubled at each attempt
    MAIL_RETRY_MAX = timedelta(hours=2)
    MAIL_LEASE = timedelta(minutes=5)  # a sender's claim on a message before another may retry it
    # Absolute links in e-mails (no request context in the sender).
    BASE_URL = "http://127.0.0.1:5000"
    # The structures' calendar (IANA name): "today" for starts of validity. Overseas: e.g. America/Guadeloupe.
    TIMEZONE = "Europe/Paris"


def from_environment(instance_path: str) -> dict:
    """Settings taken from environment variables (12-factor style)."""
    env = os.environ
    out: dict = {}
    if env.get("DATABASE_URL"):
        out["SQLALCHEMY_DATABASE_URI"] = env["DATABASE_URL"]
    if env.get("SECRET_KEY"):
        out["SECRET_KEY"] = env["SECRET_KEY"]
    if env.get("CHORUS_PROXY_COUNT"):
        out["PROXY_COUNT"] = int(env["CHORUS_PROXY_COUNT"])
    if env.get("CHORUS_HTTPS") == "1":
        out["SESSION_COOKIE_SECURE"] = True
        out["PREFERRED_URL_SCHEME"] = "https"
    for name in ("MAIL_FROM", "MAIL_SMTP_HOST", "MAIL_SMTP_USER", "MAIL_SMTP_PASSWORD", "MAIL_DIR", "BASE_URL",
                 "TIMEZONE"):
        if env.get("CHORUS_" + name):
            out[name] = env["CHORUS_" + name]
    if env.get("CHORUS_MAIL_SMTP_PORT"):
        out["MAIL_SMTP_PORT"] = int(env["CHORUS_MAIL_SMTP_PORT"])
    if env.get("CHORUS_MAIL_SMTP_STARTTLS") == "1":
        out["MAIL_SMTP_STARTTLS"] = True
    if env.get("CHORUS_DISABLED_PLUGINS"):
        out["DISABLED_PLUGINS"] = [p.strip() for p in env["CHORUS_DISABLED_PLUGINS"].split(",") if p.strip()]
    return out


def persistent_secret_key(instance_path: str) -> str:
    """A random key kept in instance/secret_key, made on first start (mode 0600).

    Several workers may start at once: the key is written to a private temporary file and linked into
    place, so a reader sees either no file or the whole key, and exactly one key wins.
    """
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)  # atomic; fails if another worker was first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable secret key: delete it or set SECRET_KEY")
    return key
