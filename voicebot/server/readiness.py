"""Whether the database answers, for ``/readyz``: a cheap ping in a thread, bounded in time.

One ping at a time: while one is under way (a database that hangs), the next
readiness checks wait for that same ping instead of piling up threads. A change
(down, or back) is logged once, not at every check.
"""

from __future__ import annotations

import asyncio
import logging

from voicebot.errors import StoreError
from voicebot.store import Store

log = logging.getLogger(__name__)

PING_TIMEOUT_S = 2.0
UNREACHABLE = "base de données injoignable"


class DatabaseProbe:
    def __init__(self, timeout_s: float = PING_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._ping: asyncio.Future[None] | None = None
        self._failing = False

    async def problem(self, store: Store) -> str | None:
        """``None`` when the store answered in time; else why not, in French (no detail:
        ``/readyz`` is open to anyone; the detail goes to the log)."""
        if self._ping is None or self._ping.done():
            self._ping = asyncio.ensure_future(asyncio.to_thread(store.ping))
        try:
            await asyncio.wait_for(asyncio.shield(self._ping), self.timeout_s)
        except TimeoutError:
            return self._failed(f"no answer within {self.timeout_s:g} s")
        except StoreError as exc:
            return self._failed(str(exc))
        if self._failing:
            log.info("database reachable again")
            self._failing = False
        return None

    def _failed(self, detail: str) -> str:
        if not self._failing:
            log.warning("database unreachable: %s", detail)
            self._failing = True
        return UNREACHABLE
