"""Single-use, expiring links (activation, password reset)."""
from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import select, update

from .. import clock
from ..extensions import db
from .models import AccountToken, TokenPurpose, User
from .sessions import digest

LIFETIME_SETTING = {
    TokenPurpose.ACTIVATION: "ACTIVATION_TOKEN_LIFETIME",
    TokenPurpose.RESET: "RESET_TOKEN_LIFETIME",
}


def issue(user: User | None, purpose: TokenPurpose) -> str:
    """A new link for `user`; earlier unused links of the same purpose stop working.

    `user` None: the same statements for an address without an account (P6-7), giving a link that opens nothing.
    """
    now = clock.now()
    user_id = user.id if user is not None else None
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user_id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=digest(token),
            created_at=now,
            expires_at=now + current_app.config[LIFETIME_SETTING[purpose]],
        )
    )
    return token


def find_valid(token: str, purpose: TokenPurpose) -> AccountToken | None:
    if not token or len(token) > 200:
        return None
    row = db.session.execute(
        select(AccountToken).where(AccountToken.token_hash == digest(token), AccountToken.purpose == purpose)
    ).scalar_one_or_none()
    if row is None or row.user_id is None or row.used_at is not None or row.expires_at <= clock.now():
        return None
    return row


def consume(row: AccountToken) -> bool:
    """Mark the link used; False if another request used it first (guarded update)."""
    result = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=clock.now())
    )
    return result.rowcount == 1
