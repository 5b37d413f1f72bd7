"""Every store test runs twice: on a SQLite file and on a real PostgreSQL.

PostgreSQL is the one `scripts/postgres.sh` starts (or VOICEBOT_TEST_POSTGRES_URL);
each test gets a schema of its own, dropped afterwards. An unreachable server fails
the tests: it is never a reason to skip them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.postgres import postgres_schema
from voicebot.calls.record import CallRecord, Turn
from voicebot.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""A Monday morning: the tests' "now"."""


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/voicebot.db"
        return
    with postgres_schema() as url:
        yield url


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(store_url: str, clock: Clock) -> Iterator[Store]:
    opened = Store.open(store_url)
    opened.clock = clock
    try:
        yield opened
    finally:
        opened.close()


def call_record(
    call_id: str,
    *,
    caller: str | None = "0612345678",
    line: str = "mairie",
    started_at: datetime = T0,
    outcome: str | None = None,
    reason: str | None = None,
    phrases: tuple[str, ...] = (),
    intents: tuple[str, ...] = (),
) -> CallRecord:
    """A call as the session leaves it: a greeting, then each caller phrase and a reply."""
    record = CallRecord(call_id, line, caller=caller, started_at=started_at)
    at = started_at
    record.turns.append(Turn("bot", "Bonjour, que puis-je pour vous ?", at=at))
    for index, phrase in enumerate(phrases):
        at += timedelta(seconds=5)
        intent = intents[index] if index < len(intents) else None
        record.turns.append(Turn("caller", phrase, at=at, intent=intent, confidence=0.9))
        at += timedelta(seconds=1)
        record.turns.append(Turn("bot", "Bien noté.", at=at, latency_ms=420.0, heard_fully=True))
    record.intents = [i for i in intents if i]
    if outcome is not None:
        record.outcome = outcome
        record.handover_reason = reason
        record.ended_at = at + timedelta(seconds=2)
    return record


def ended_call(store: Store, call_id: str, instance: str = "i1", **kwargs: object) -> CallRecord:
    record = call_record(call_id, **kwargs)  # type: ignore[arg-type]
    store.call_started(record, instance)
    store.call_ended(record)
    return record


Factory = Callable[..., CallRecord]
