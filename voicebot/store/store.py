"""The store: one object over the database, opened once (migrations run at open)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from voicebot.store.accounts import Accounts
from voicebot.store.analytics import CallAnalytics
from voicebot.store.audit import Audit
from voicebot.store.base import utc_now
from voicebot.store.calls import CallWrites
from voicebot.store.database import create_store_engine, resolve_url, shown, upgrade
from voicebot.store.handovers import Handovers
from voicebot.store.logins import Logins
from voicebot.store.passwords import Passwords
from voicebot.store.reads import CallReads
from voicebot.store.retention import Retention
from voicebot.store.sessions import Sessions


class Store(
    CallWrites,
    CallReads,
    Handovers,
    CallAnalytics,
    Accounts,
    Sessions,
    Logins,
    Audit,
    Retention,
):
    """Calls, the hand-over queue, accounts, sessions, sign-in limits, audit and privacy, in
    SQLite or PostgreSQL. Every method is blocking: call it from a thread, not the event loop."""

    def __init__(
        self, engine: Engine, clock: Callable[[], datetime] = utc_now, url: str | None = None
    ) -> None:
        super().__init__(engine, clock)
        self.passwords = Passwords()
        self.url = url or shown(engine.url.render_as_string(hide_password=True))
        """Where it is, password hidden."""

    @classmethod
    def open(cls, url: str | None) -> Store:
        """Connect and bring the schema up to date; ``None`` is ``var/voicebot.db``."""
        resolved = resolve_url(url)
        engine = create_store_engine(resolved)
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, url=shown(resolved))

    def ping(self) -> None:
        """Read one small row: raises :class:`StoreError` when the database does not answer."""
        self.version()

    def close(self) -> None:
        self.engine.dispose()
