"""A restarted service takes calls within seconds: readiness does not wait for warming.

Ready means a call arriving now gets speech (content, store, recognition model and
voice loaded). Warm recognisers and prompts rendered in advance follow in the
background. The time from process start to ready is printed, not asserted: on a
busy machine any bound would flake; what is asserted is what readiness waits for.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.conftest import espeak_speech
from tests.local_server import free_port
from tests.serve_process import Bot, serve_env
from voicebot.calls.simulator import SimulatedCall
from voicebot.store import Store
from voicebot.store.views import CallDetail

MEDIA_PASSWORD = "secret-readiness"
POOL_SIZE = 16  # the most idle recognisers a pool keeps: the longest warming there is


def watched(
    env: dict[str, str], port: int, tmp_path: Path, until: str
) -> tuple[Bot, list[dict[str, Any]]]:
    """A service started once ``/readyz`` says ``until`` is true; every answer it gave."""
    seen: list[dict[str, Any]] = []

    def reached(body: dict[str, Any]) -> bool:
        seen.append(body)
        return body.get(until) is True

    return Bot(env, port, tmp_path / "serve.log", ready=reached), seen


async def test_ready_before_warming_and_the_first_call_gets_speech(
    korean_model_dir: Path, joe_voice_path: Path, tmp_path: Path
) -> None:
    port = free_port()
    database_url = f"sqlite:///{tmp_path / 'voicebot.db'}"
    env = serve_env(
        port,
        korean_model_dir,
        joe_voice_path,
        asr_workers="2",
        asr_warm_recognizers=str(POOL_SIZE),
        media_password=MEDIA_PASSWORD,
        database_url=database_url,
    )
    bot, seen = watched(env, port, tmp_path, "ready")
    started = time.monotonic()
    await asyncio.to_thread(bot.start)
    try:
        print(
            f"\nvoicebot serve: process start to /readyz 200 in {time.monotonic() - started:.1f} s"
        )
        first = seen[-1]
        assert first["mode"] == "speech"
        assert first["prompts_ready"] is False  # prompts are still being rendered
        assert first["asr"]["idle_recognizers"] < POOL_SIZE  # and recognisers warmed

        # A call now, while all that goes on: greeted, heard, answered.
        call_id = "pendant-le-chauffage"
        async with SimulatedCall(
            f"ws://127.0.0.1:{port}/media", "asterisk", MEDIA_PASSWORD, call_id=call_id
        ) as call:
            await call.start_media()
            await call.wait_heard(3000, timeout=60)  # the greeting plays meanwhile
            heard_before = call.heard_ms()
            await call.say(espeak_speech("라디오 음악", "ko", 16000).pcm)
            await call.wait_heard(heard_before + 1000, timeout=60)  # a reply to it
        detail = await asyncio.to_thread(finished_call, database_url, call_id)
    finally:
        bot.stop()
    caller_turns = [t.text for t in detail.turns if t.speaker == "caller"]
    assert caller_turns and "라디오" in caller_turns[0]  # recognised, by a cold recogniser


def finished_call(database_url: str, call_id: str, timeout_s: float = 30.0) -> CallDetail:
    """The call as the service recorded it, once it is over."""
    store = Store.open(database_url)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            detail = store.call_detail(call_id)
            if detail is not None and detail.summary.ended_at is not None:
                return detail
            assert time.monotonic() < deadline, f"call {call_id} not recorded as ended"
            time.sleep(0.2)
    finally:
        store.close()


async def test_a_warm_recogniser_for_every_call_admitted_then_warmed(
    korean_model_dir: Path, joe_voice_path: Path, tmp_path: Path
) -> None:
    """Without a set number, the pool is warmed up to the admission limit (past the first
    ones warmed before the costs are measured); /readyz says when all warming is done."""
    port = free_port()
    limit = 14  # more than the first 12
    env = serve_env(  # no VOICEBOT_ASR_WARM_RECOGNIZERS: the default
        port,
        korean_model_dir,
        joe_voice_path,
        asr_workers="2",
        max_calls=str(limit),
        media_password=MEDIA_PASSWORD,
        database_url=f"sqlite:///{tmp_path / 'voicebot.db'}",
    )
    bot, seen = watched(env, port, tmp_path, "warmed")
    started = time.monotonic()
    await asyncio.to_thread(bot.start)
    try:
        print(f"\nvoicebot serve: {limit} recognisers warm in {time.monotonic() - started:.1f} s")
        assert any(body.get("warmed") is False for body in seen)  # said while warming
        body = seen[-1]
        assert body["prompts_ready"] is True
        assert body["asr"]["idle_recognizers"] == limit
        assert body["capacity"]["max_calls"] == limit
    finally:
        bot.stop()
