"""No dead air: failures end in an apology and a human; no model means keypad only;
the event loop never stalls while calls are decoded and spoken."""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.calls.conftest import OPEN, PASSWORD, RunningServer, start_server
from tests.calls.test_endpoint import finished
from tests.conftest import espeak_speech
from tests.gbfs_server import STATIONS, gbfs_feed
from voicebot.calls.record import CallRecord
from voicebot.config import PROJECT_ROOT, load_settings

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


def velo_on_key_9(tmp_path: Path, gbfs_url: str, station_required: bool) -> Path:
    """The shipped content, with the bikes on key 9 (instead of the dossiers) and a feed."""
    root = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", root)
    service = root / "service.yaml"
    text = re.sub(r"(?m)^gbfs_url:.*$", f'gbfs_url: "{gbfs_url}"', service.read_text("utf-8"))
    service.write_text(text, encoding="utf-8")
    intents = root / "mairie" / "intents.yaml"
    text = intents.read_text("utf-8")
    text = text.replace('    keypad: "9"\n', "", 1)
    required = "[station]" if station_required else "[]"
    velo = "    slots: [station]\n    required: [station]\n"
    assert velo in text
    text = text.replace(velo, f'    keypad: "9"\n    slots: [station]\n    required: {required}\n')
    intents.write_text(text, encoding="utf-8")
    return root


async def started(server: RunningServer, call_id: str) -> CallRecord:
    record = server.state.registry.get(call_id)
    assert record is not None
    return record


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def test_calls_listen_for_the_live_station_names(
    tmp_path: Path, korean_model_dir: Path
) -> None:
    with gbfs_feed() as feed:
        prompts = velo_on_key_9(tmp_path, feed.url, station_required=True)
        server, handle = await running(
            tts_engine="espeak",
            models_dir=tmp_path,
            prompts_dir=prompts,
            asr_model=str(korean_model_dir),
        )
        try:
            refresh = server.state.station_refresh
            assert refresh is not None  # fetched at start, in the background
            await refresh
            async with server.call("stations") as call:
                await call.start_media()
                await call.wait_heard(500)
                session = server.state.sessions["stations"]
                assert set(session.context.stations) == {s[1] for s in STATIONS}
                await call.dtmf("9")
                await until(lambda: session.state.asking_slot == "station", "station question")
                # The grammar handed to the recogniser: the live station names.
                assert session.recognition is not None
                grammar = session.recognition.grammar
                assert grammar is not None
                assert {s[1] for s in STATIONS} <= set(grammar)
                await call.dtmf("0")
                await call.wait_closed(timeout=30)
        finally:
            await stop(handle)


@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param({"data": {"stations": [{"num_bikes_available": 3}]}}, id="missing-key"),
        pytest.param(
            {"data": {"stations": [{"station_id": "st-1", "num_bikes_available": "trois"}]}},
            id="wrong-type",
        ),
        pytest.param(b"<html>maintenance</html>", id="not-json"),
    ],
)
async def test_a_malformed_bike_feed_is_answered_and_the_call_goes_on(
    tmp_path: Path, malformed: object
) -> None:
    with gbfs_feed() as feed:
        feed.served["/station_status.json"] = malformed
        prompts = velo_on_key_9(tmp_path, feed.url, station_required=False)
        server, handle = await running(
            tts_engine="espeak", models_dir=tmp_path, prompts_dir=prompts
        )
        down = server.state.understander.content.line("mairie").prompts["live_data_down"]
        try:
            async with server.call("bikes") as call:
                await call.start_media()
                await call.wait_heard(500)
                await call.dtmf("9")  # the bikes: the feed is read at once
                record = await started(server, "bikes")
                await until(
                    lambda: any(t.text.startswith(down[:40]) for t in record.turns),
                    "the « service indisponible » answer",
                )
                assert server.state.sessions["bikes"].state.phase == "anything_else"
                await call.dtmf("0")  # the call goes on: a human
                await call.wait_closed(timeout=30)
            record = await finished(server, "bikes")
            assert record.outcome == "handed_over" and record.handover_reason == "keypad_0"
            assert "/station_status.json" in feed.requests
        finally:
            await stop(handle)


async def test_each_caller_turn_is_recorded_with_what_it_meant(
    tmp_path: Path, korean_model_dir: Path
) -> None:
    """An understood turn, then one not understood: the second carries no intent, so it
    reaches the console's phrases « non comprises »."""
    server, handle = await running(
        asr_model=str(korean_model_dir),
        tts_engine="espeak",
        models_dir=tmp_path,
        asr_workers=2,
        asr_warm_recognizers=2,
    )
    try:
        async with server.call("meanings") as call:
            await call.start_media()
            await call.wait_heard(500)
            record = await started(server, "meanings")
            await call.dtmf("5")  # déchets, understood
            await until(lambda: len(record.turns) >= 3, "the answer on déchets")
            await call.wait_heard(call.heard_ms() + 500)  # the answer is playing
            await call.say(espeak_speech("라디오 음악", "ko", 16000).pcm)
            await until(
                lambda: len(record.turns) >= 5, f"the reply to the Korean words: {record.turns}", 60
            )
            await call.dtmf("0")
            await call.wait_closed(timeout=30)
        record = await finished(server, "meanings")
        caller = [t for t in record.turns if t.speaker == "caller"]
        assert caller[0].text == "[touche 5]" and caller[0].intent == "dechets"
        assert caller[0].confidence is None  # a key is no guess
        heard = caller[1]
        assert "라디오" in heard.text
        assert heard.intent is None and heard.slots == {}
        assert heard.confidence is not None and 0.0 <= heard.confidence <= 1.0
        assert record.intents == ["dechets"]
        recorder, store = server.state.recorder, server.state.store
        assert recorder is not None and store is not None
        await recorder.flush()
        since = record.started_at - timedelta(minutes=1)
        stats = await asyncio.to_thread(store.analytics, since, since + timedelta(hours=1))
        assert heard.text in [text for text, _ in stats.not_understood]
        assert "[touche 5]" not in [text for text, _ in stats.not_understood]
    finally:
        await stop(handle)
