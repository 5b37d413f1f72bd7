"""The recorder: calls in memory reach the store while they happen, at their end, and at a
shutdown; what a crash left open is closed at the next start."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import pytest
import pytest_asyncio

from voicebot.calls.record import CallRecord, CallRegistry, Turn, now_utc
from voicebot.server.recorder import CallRecorder, close_stale_calls
from voicebot.store import Store

T = TypeVar("T")


async def eventually(check: Callable[[], T], timeout_s: float = 5.0) -> T:
    """The first truthy result of ``check`` (run in a thread), polled until the timeout."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await asyncio.to_thread(check)
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.05)


@pytest.fixture
def registry() -> CallRegistry:
    return CallRegistry()


@pytest_asyncio.fixture
async def recorder(store: Store, registry: CallRegistry) -> AsyncIterator[CallRecorder]:
    store.clock = now_utc
    running = CallRecorder(
        store,
        registry,
        "bot-a",
        purge_interval_s=3600,
        content_days=183,
        stats_days=365,
        sync_interval_s=0.05,
    )
    await running.start()
    yield running
    await running.stop()


def end(registry: CallRegistry, recorder: CallRecorder, record: CallRecord, outcome: str) -> None:
    """As a session ends a call: the registry, then the app's end hook."""
    record.outcome = outcome
    registry.finish(record)
    recorder.ended(record)


async def test_turns_are_written_while_the_call_goes_on(
    store: Store, registry: CallRegistry, recorder: CallRecorder
) -> None:
    record = CallRecord("live-1", "mairie", caller="0612345678")
    registry.start(record)
    record.turns.append(Turn("bot", "Bonjour, que puis-je pour vous ?"))
    live = await eventually(lambda: [c for c in store.live_calls() if c.turn_count == 1])
    assert live and live[0].call_id == "live-1" and live[0].instance == "bot-a"

    caller = Turn("caller", "mon numéro est le 06 12 34 56 78")
    record.turns.append(caller)
    await eventually(lambda: store.live_calls()[0].turn_count == 2)
    caller.intent = "rappel"  # understanding completes the turn a moment later
    detail = await eventually(
        lambda: (d := store.call_detail("live-1")) is not None and d.turns[1].intent == "rappel"
    )
    assert detail
    final = store.call_detail("live-1")
    assert final is not None and final.turns[1].text == "mon numéro est le [téléphone]"

    record.handover_reason = "asked_for_agent"
    end(registry, recorder, record, "handed_over")
    queue = await eventually(store.queue, timeout_s=2.0)
    assert [h.call_id for h in queue] == ["live-1"] and store.live_calls() == []


async def test_a_short_call_is_written_whole(
    store: Store, registry: CallRegistry, recorder: CallRecorder
) -> None:
    record = CallRecord("short", "rh")
    registry.start(record)
    record.turns.append(Turn("bot", "Bonjour."))
    end(registry, recorder, record, "abandoned")
    written = await eventually(
        lambda: (d := store.call_detail("short")) is not None and d.summary.ended_at is not None
    )
    detail = store.call_detail("short")
    assert written and detail is not None and detail.summary.outcome == "abandoned"
    assert detail.summary.instance == "bot-a" and len(detail.turns) == 1


async def test_shutdown_records_every_open_call(
    store: Store, registry: CallRegistry, recorder: CallRecorder
) -> None:
    for call_id in ("open-1", "open-2"):
        record = CallRecord(call_id, "mairie")
        record.turns.append(Turn("bot", "Bonjour."))
        registry.start(record)
    await recorder.stop()
    assert store.live_calls() == []
    for call_id in ("open-1", "open-2"):
        detail = store.call_detail(call_id)
        assert detail is not None and detail.summary.outcome == "interrupted"
        assert detail.summary.ended_at is not None and len(detail.turns) == 1


async def test_a_failed_write_is_logged_and_does_not_stop_the_others(
    store: Store,
    registry: CallRegistry,
    recorder: CallRecorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = CallRecord("broken", None)  # type: ignore[arg-type]  # the database refuses it
    good = CallRecord("good", "mairie")
    with caplog.at_level(logging.ERROR, logger="voicebot.server.recorder"):
        registry.start(broken)
        registry.start(good)
        assert await eventually(store.live_calls)
        end(registry, recorder, broken, "resolved")
        end(registry, recorder, good, "resolved")
        detail = await eventually(
            lambda: (d := store.call_detail("good")) is not None and d.summary.outcome
        )
        await asyncio.sleep(0.5)
        await recorder.stop()  # at shutdown, even a call waiting for its retry is tried
    assert detail == "resolved"
    assert store.call_detail("broken") is None
    failures = [m for m in caplog.messages if "call broken" in m]
    assert any("call broken start not written" in m for m in failures)
    assert any("call broken end not written" in m for m in failures)
    assert len(failures) <= 6  # retried later and later, not at every pass (every 50 ms)


def test_start_closes_what_a_dead_process_left_open(store: Store) -> None:
    finished = subprocess.run(["true"], check=True)
    assert finished.returncode == 0
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    store.call_started(CallRecord("mine", "mairie"), "bot-a")
    store.call_started(CallRecord("dead", "mairie"), f"{host}-{dead.pid}")
    store.call_started(CallRecord("elsewhere", "mairie"), "other-host-1")
    store.call_started(CallRecord("named", "mairie"), "bot-b")

    assert close_stale_calls(store, "bot-a") == 2
    assert sorted(c.call_id for c in store.live_calls()) == ["elsewhere", "named"]
    detail = store.call_detail("dead")
    # A crash's calls: the dialplan sent their callers to the queue, which shows them.
    assert detail is not None and detail.summary.outcome == "handed_over"
    assert detail.summary.handover_reason == "bot_crashed"
    assert detail.handover is not None and detail.handover.status == "waiting"
