"""Live updates: the event stream follows the store's version, across instances, and ends
with the session."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx2

from tests.console.harness import Console, handed_over_call, log_in, serving
from voicebot.console.events import version_events
from voicebot.store import Store


async def test_stream_sends_each_new_version_then_logout(console: Console) -> None:
    store = console.store
    token, _csrf = store.new_session(console.agent)
    known = store.version()
    stream = version_events(
        store, token, known, poll_interval_s=0.05, session_check_s=0.1, lifetime_s=30
    )
    assert await anext(stream) == "retry: 2000\n\n"
    await asyncio.to_thread(handed_over_call, store)
    event = await asyncio.wait_for(anext(stream), timeout=5)
    version = store.version()
    assert version > known
    assert event == f"id: {version}\nevent: version\ndata: {version}\n\n"
    await asyncio.to_thread(store.end_session, token)
    assert await asyncio.wait_for(anext(stream), timeout=5) == "event: logout\ndata: session\n\n"
    await stream.aclose()


async def test_a_stale_page_gets_the_current_version_at_once(console: Console) -> None:
    token, _csrf = console.store.new_session(console.agent)
    stream = version_events(console.store, token, known=None, poll_interval_s=0.05)
    await anext(stream)
    event = await asyncio.wait_for(anext(stream), timeout=5)
    assert event.startswith(f"id: {console.store.version()}\n")
    await stream.aclose()


def test_a_write_by_another_instance_reaches_an_open_stream(
    console: Console, tmp_path: Path
) -> None:
    other_instance = Store.open(f"sqlite:///{tmp_path / 'console.db'}")
    with serving(console.app) as base, httpx2.Client(base_url=base, timeout=10) as client:
        assert log_in(client, "agent").status_code == 303
        version = console.store.version()
        with client.stream("GET", f"/console/events?v={version}") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            assert next(lines) == "retry: 2000"
            handed_over_call(other_instance)
            started = time.monotonic()
            received = []
            for line in lines:
                if line:
                    received.append(line)
                if line.startswith("data: ") or time.monotonic() - started > 5:
                    break
            waited_s = time.monotonic() - started
        assert received[0].startswith("id: ") and received[1] == "event: version"
        assert int(received[2].removeprefix("data: ")) > version
        assert waited_s < 2  # the stream polls every 0.2 s here
    other_instance.close()
