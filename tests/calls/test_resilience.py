"""No dead air: failures end in an apology and a human; no model means keypad only;
the event loop never stalls while calls are decoded and spoken."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.calls.conftest import OPEN, PASSWORD, RunningServer, start_server
from tests.calls.test_endpoint import finished
from tests.conftest import espeak_speech
from voicebot.config import load_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")


Handle = tuple[uvicorn.Server, "asyncio.Task[None]"]


async def running(**overrides: object) -> tuple[RunningServer, Handle]:
    settings = load_settings(media_password=PASSWORD, **overrides)
    uv, task, port = await start_server(settings)
    state = uv.config.app.state.voicebot  # type: ignore[union-attr]
    state.clock = lambda: OPEN
    server = RunningServer(
        f"ws://127.0.0.1:{port}/media", f"http://127.0.0.1:{port}", state, settings
    )
    return server, (uv, task)


async def stop(handle: Handle) -> None:
    uv, task = handle
    uv.should_exit = True
    await task


async def test_synthesis_failure_apologises_and_hands_over(tmp_path: Path) -> None:
    # A voice espeak-ng does not have: every synthesis really fails.
    server, handle = await running(
        tts_engine="espeak", espeak_voice="zz-nonexistent", models_dir=tmp_path
    )
    try:
        async with server.call("broken") as call:
            await call.start_media()
            await call.wait_closed(timeout=15)
        record = await finished(server, "broken")
        assert record.outcome == "handed_over" and record.handover_reason == "error"
        assert record.route == "queue"
    finally:
        await stop(handle)


async def test_keypad_only_without_a_recogniser(tmp_path: Path) -> None:
    server, handle = await running(tts_engine="espeak", models_dir=tmp_path)
    try:
        async with httpx.AsyncClient() as client:
            health = (await client.get(f"{server.http}/healthz")).json()
        assert health["mode"] == "keypad_only"
        async with server.call("keys") as call:
            await call.start_media()
            await call.wait_heard(1000)
            await call.dtmf("5")  # déchets, from the keypad menu
            await asyncio.sleep(1.0)
            await call.dtmf("0")
            await call.wait_closed(timeout=30)
        record = await finished(server, "keys")
        greeting = record.turns[0].text
        assert "tapez 1" in greeting  # the greeting offers the keypad
        assert "dechets" in record.intents
        assert record.handover_reason == "keypad_0"
    finally:
        await stop(handle)


async def test_event_loop_never_stalls_during_concurrent_calls(
    korean_model_dir: Path, joe_voice_path: Path
) -> None:
    server, handle = await running(
        asr_model=str(korean_model_dir),
        tts_voice=str(joe_voice_path),
        tts_phonemizer_voice="fr",
        asr_workers=2,
    )
    lags: list[float] = []
    stop_probe = asyncio.Event()

    async def probe() -> None:
        while not stop_probe.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append((time.perf_counter() - started - 0.01) * 1000)

    speech = espeak_speech("라디오 음악", "ko", 16000).pcm

    async def caller(index: int) -> None:
        async with server.call(f"lag-{index}") as call:
            await call.start_media()
            await call.wait_heard(300)
            await call.say(speech)
            await asyncio.sleep(1.5)

    prober = asyncio.create_task(probe())
    try:
        await asyncio.gather(*(caller(i) for i in range(4)))
    finally:
        stop_probe.set()
        await prober
        await stop(handle)
    # The probe shares the loop with the server, four callers and their engines.
    assert len(lags) > 100
    assert statistics.median(lags) < 5.0, statistics.median(lags)
    assert max(lags) < 100.0, max(lags)
