"""Console sessions: only a hash of the token is stored (sign-in attempts: ``logins``)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from voicebot.store.accounts import user_view
from voicebot.store.base import StoreBase
from voicebot.store.schema import SessionRow, UserRow
from voicebot.store.views import User

LAST_SEEN_EVERY = timedelta(seconds=60)
"""``last_seen`` is written at most this often (not on every request)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions(StoreBase):
    def new_session(self, user: User, lifetime_s: int = 8 * 3600) -> tuple[str, str]:
        """A new session: (token for the cookie, CSRF token). The token is not stored."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.now()
        with self._write(visible=False) as session:
            session.add(
                SessionRow(
                    token_hash=token_hash(token),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + timedelta(seconds=lifetime_s),
                    last_seen=now,
                )
            )
        return token, csrf

    def session(self, token: str) -> tuple[User, str] | None:
        """(user, CSRF token) of a live session; None if unknown, expired or the user inactive."""
        now = self.now()
        key = token_hash(token)
        with self._read() as session:
            found = session.execute(
                select(SessionRow, UserRow)
                .join(UserRow, UserRow.id == SessionRow.user_id)
                .where(SessionRow.token_hash == key)
            ).first()
        if found is None:
            return None
        row, user = found[0], found[1]
        if row.expires_at <= now or not user.active:
            return None
        if now - row.last_seen >= LAST_SEEN_EVERY:
            with self._write(visible=False) as session:
                fresh = session.get(SessionRow, key)
                if fresh is not None:
                    fresh.last_seen = now
        return user_view(user), row.csrf_token

    def end_session(self, token: str) -> None:
        with self._write(visible=False) as session:
            session.execute(delete(SessionRow).where(SessionRow.token_hash == token_hash(token)))

    def end_sessions_of(self, user_id: int) -> None:
        with self._write(visible=False) as session:
            session.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
