"""`voicebot serve` with its store: a real call over the media WebSocket lands in the
database while it happens (its caller number in E.164) and in the hand-over queue when it
ends; a stop leaves no call open; a start closes what a crash left open."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.calls.conftest import OPEN, PASSWORD, RunningServer, start_server
from tests.store.test_recorder import eventually
from voicebot.calls.record import CallRecord
from voicebot.config import load_settings
from voicebot.store import Store

INSTANCE = "test-bot"


async def test_calls_reach_the_store_and_the_queue(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    store.call_started(CallRecord("crashed", "mairie"), INSTANCE)  # left open by a crash
    settings = load_settings(
        media_password=PASSWORD,
        tts_engine="espeak",
        models_dir=tmp_path,  # no recogniser: keypad only, quick to start
        database_url=store_url,
        instance_id=INSTANCE,
    )
    uv, task, port = await start_server(settings)
    state = uv.config.app.state.voicebot  # type: ignore[union-attr]
    state.clock = lambda: OPEN  # agents answer: key 0 hands over, whatever the hour of the run
    server = RunningServer(
        f"ws://127.0.0.1:{port}/media", f"http://127.0.0.1:{port}", state, settings
    )
    try:
        assert state.store is not None
        crashed = await eventually(
            lambda: (d := store.call_detail("crashed")) is not None and d.summary.outcome
        )
        # The dialplan's fallback sent that caller to the agents: so says the record.
        assert crashed == "handed_over"

        # Asterisk gives the caller id as the trunk does; the store keeps it in E.164.
        async with server.call("svc-1", caller="0692 12 34 56") as call:
            await call.start_media()
            await call.wait_heard(1000)
            live = await eventually(lambda: [c for c in store.live_calls() if c.turn_count])
            assert [c.call_id for c in live] == ["svc-1"]
            assert live[0].instance == INSTANCE and live[0].caller_number == "+262692123456"
            await call.dtmf("0")
            await call.wait_closed(timeout=30)
        queue = await eventually(lambda: [h for h in store.queue() if h.call_id == "svc-1"])
        assert [h.reason for h in store.queue() if h.call_id == "crashed"] == ["bot_crashed"]
        assert queue[0].reason == "keypad_0" and queue[0].caller_number == "+262692123456"
        assert queue[0].transcript[0].speaker == "bot"
        assert "[touche 0]" in [t.text for t in queue[0].transcript]

        async with server.call("svc-2", caller="anonymous") as call:  # a withheld number
            await call.start_media()
            await call.wait_heard(500)
            await eventually(store.live_calls)
            uv.should_exit = True  # the service stops during the call
            await asyncio.wait_for(task, timeout=30)
    finally:
        uv.should_exit = True
        await task
    assert store.live_calls() == []
    stopped = store.call_detail("svc-2")
    assert stopped is not None and stopped.summary.ended_at is not None
    # The service stopped, not the caller: the caller went to the agents, and the queue
    # shows them.
    assert stopped.summary.outcome == "handed_over"
    assert stopped.summary.handover_reason == "bot_stopped"
    assert stopped.handover is not None and stopped.handover.reason == "bot_stopped"
    assert stopped.summary.caller_number is None
    assert stopped.turns and stopped.turns[0].speaker == "bot"
