"""Demo data for the README's run command: every plugin adds its part through `populate_demo`."""
from __future__ import annotations

from . import clock
from .accounts.models import AccountKind, AccountOrigin, AccountStatus, User
from .accounts.passwords import hash_password
from .accounts.services import find_by_login
from .database import transaction
from .extensions import db
from .plugins import get_pm

DEMO_PASSWORD = "demo-chorus-2026"
DEMO_DOMAIN = "demo.chorus.test"


def load_demo() -> dict:
    """Run every plugin's demo step (each is idempotent); returns what they made, by key."""
    demo: dict = {"logins": [], "created": False}
    # In registration order (the core first, then built-in plugins as listed, then entry points), so that a
    # plugin's demo can use what the plugins it builds on made; pluggy itself calls the newest first.
    for impl in get_pm().hook.populate_demo.get_hookimpls():
        impl.function(demo=demo)
    return demo


def demo_user(demo: dict, key: str, first_name: str, last_name: str, role: str, *, is_admin=False,
              is_pigp=False, status=AccountStatus.ACTIVE) -> User:
    """Find or create a demo account `key`@demo domain, listed with its role in the run output."""
    email = f"{key}@{DEMO_DOMAIN}"
    user = find_by_login(email)
    if user is None:
        now = clock.now()
        active = status == AccountStatus.ACTIVE
        user = User(
            last_name=last_name, first_name=first_name, login_email=email, contact_email=email, phone="",
            status=status, kind=AccountKind.PERSON,
            origin=AccountOrigin.ADMIN if (is_admin or is_pigp) else AccountOrigin.SELF,
            is_pigp=is_pigp, is_admin=is_admin, password_hash=hash_password(DEMO_PASSWORD) if active else None,
            created_at=now, activated_at=now if active else None,
        )
        db.session.add(user)
        db.session.flush()
        demo["created"] = True
    demo[key] = user
    if status == AccountStatus.ACTIVE:
        demo["logins"].append((email, role))
    return user


def core_demo(demo: dict) -> None:
    with transaction():
        demo_user(demo, "admin", "Camille", "Administratrice", "administratrice de la plateforme", is_admin=True)
        demo_user(demo, "nouveau", "Noé", "Nouveau", "compte actif, sans rattachement")
        demo_user(demo, "attente", "Inès", "Attente", "", status=AccountStatus.PENDING)
