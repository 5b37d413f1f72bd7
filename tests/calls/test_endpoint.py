"""The call endpoint driven as Asterisk drives it, with the real engines and shipped models."""

from __future__ import annotations

import asyncio
import gc
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.calls.conftest import RunningServer
from tests.conftest import espeak_speech
from voicebot.calls.record import TURN_STAGES, CallRecord

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def finished(server: RunningServer, call_id: str, timeout: float = 20) -> CallRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = server.state.registry.get(call_id)
        if record is not None and record.ended_at is not None:
            return record
        await asyncio.sleep(0.05)
    raise TimeoutError(f"call {call_id} has no final record")


async def test_greeting_is_heard(server: RunningServer) -> None:
    async with server.call("greet") as call:
        await call.start_media()
        await call.wait_heard(1500)
        assert {"command": "ANSWER"} in call.commands
        marks = [c for c in call.commands if c.get("command") == "MARK_MEDIA"]
        assert marks  # the bot knows what the caller heard
    record = await finished(server, "greet")
    assert record.outcome == "abandoned"
    assert record.turns[0].speaker == "bot" and "assistant automatique" in record.turns[0].text


async def test_speech_gives_a_transcript_and_a_reply(server: RunningServer) -> None:
    async with server.call("speak") as call:
        await call.start_media()
        await call.wait_heard(500)  # the greeting is playing: the caller talks over it
        heard_before = call.heard_ms()
        await call.say(espeak_speech("라디오 음악", "ko", 16000).pcm)
        spoke_at = call.last_speech_end or time.monotonic()
        await call.wait_heard(heard_before + 1500)
        reply_at = call.voiced_since(spoke_at)
        assert reply_at is not None
    record = await finished(server, "speak")
    caller_turns = [t for t in record.turns if t.speaker == "caller"]
    assert caller_turns and "라디오" in caller_turns[0].text
    replies = [t for t in record.turns if t.speaker == "bot"][1:]
    assert replies and replies[0].latency_ms is not None and replies[0].latency_ms < 3000
    # Where that latency went: every stage, in order, adding up to it.
    stages = replies[0].stages_ms
    assert list(stages) == list(TURN_STAGES)
    assert sum(stages.values()) == pytest.approx(replies[0].latency_ms, abs=1.0)
    assert stages["endpoint"] >= 150  # the turn waited for the caller's silence
    async with httpx.AsyncClient(base_url=server.http) as http:
        metrics = (await http.get("/metrics")).text
    for stage in TURN_STAGES:
        assert f'voicebot_turn_stage_seconds_count{{stage="{stage}"}}' in metrics
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line and not line.startswith("#")
    }
    assert values["voicebot_asr_audio_seconds_total"] >= 1.0  # the speech was decoded
    assert values['voicebot_engine_cpu_seconds_total{pool="asr"}'] > 0.0
    assert values["voicebot_event_loop_lag_seconds_count"] > 0
    # The start-up heap was collected once, then frozen out of the collector's walks.
    assert values['voicebot_gc_pause_seconds_count{generation="2"}'] >= 1
    assert gc.get_freeze_count() > 0


async def test_barge_in_flushes_the_prompt(server: RunningServer) -> None:
    async with server.call("barge") as call:
        await call.start_media()
        await call.wait_heard(1000)  # the greeting is playing
        started = time.monotonic()
        speaking = asyncio.create_task(call.say(espeak_speech("안녕하세요", "ko", 16000).pcm))
        for _ in range(100):
            if call.flushes:
                break
            await asyncio.sleep(0.01)
        await speaking
        assert call.flushes, "no FLUSH_MEDIA after the caller spoke"
        # espeak's speech starts after 0.3 s of padding: the flush follows its onset.
        assert call.flushes[0] - started < 0.3 + 0.25
    record = await finished(server, "barge")
    assert record.turns[0].heard_fully is False


async def test_key_zero_hands_over(server: RunningServer) -> None:
    async with server.call("zero", caller="0612345678") as call:
        await call.start_media()
        await call.wait_heard(500)
        await call.dtmf("0")
        await call.wait_closed()
    record = await finished(server, "zero")
    assert record.outcome == "handed_over" and record.handover_reason == "keypad_0"
    assert record.route == "queue" and record.caller == "+33612345678"
    async with httpx.AsyncClient() as client:
        route = await client.get(f"{server.http}/calls/zero/route")
    assert route.text == "queue"


async def test_hang_up_mid_prompt_is_abandoned_and_cleaned(server: RunningServer) -> None:
    async with server.call("gone") as call:
        await call.start_media()
        await call.wait_heard(400)
    record = await finished(server, "gone")
    assert record.outcome == "abandoned"
    assert "gone" not in server.state.sessions and "gone" not in server.state.registry.active


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [
        ("{pas du json", 1007, "JSON invalide"),
        ('{"no_event": 1}', 1007, "event"),
        ('{"event": "MEDIA_START", "format": "opus"}', 1003, "opus"),
        ("x" * 20000, 1007, "trop long"),
    ],
)
async def test_bad_messages_are_refused_and_others_still_served(
    server: RunningServer, message: str, code: int, reason: str
) -> None:
    async with server.call("bad") as bad, server.call("good") as good:
        await good.start_media()
        await bad.send_text(message)
        await bad.wait_closed()
        assert bad.close_code == code and reason in bad.close_reason
        await good.wait_heard(1000)  # the other call goes on
    await finished(server, "good")


async def test_oversized_audio_frame_is_refused(server: RunningServer) -> None:
    async with server.call("huge") as call:
        await call.start_media()
        await call.wait_heard(200)  # the call has started
        await call.ws.send(b"\x00" * 70000)
        await call.wait_closed()
        # Refused from its header by the server's limit (voicebot serve's own options).
        assert call.close_code == 1009
    # Not the caller's doing: the call is recorded, and its caller goes to a human.
    record = await finished(server, "huge")
    assert record.outcome == "handed_over" and record.handover_reason == "media_lost"
    async with httpx.AsyncClient() as client:
        route = await client.get(f"{server.http}/calls/huge/route")
    assert route.text == "queue"


@pytest.mark.parametrize("password", ["wrong", ""])
async def test_bad_credentials_are_refused_before_the_handshake(
    server: RunningServer, password: str
) -> None:
    intruder = server.call("intruder")
    intruder.password = password
    with pytest.raises(InvalidStatus) as refused:
        await intruder.__aenter__()
    assert refused.value.response.status_code == 403


async def test_unknown_line_is_refused(server: RunningServer) -> None:
    async with server.call("nowhere", line="pompiers") as call:
        await call.start_media()
        await call.wait_closed()
        assert call.close_code == 1008 and "pompiers" in call.close_reason


async def test_mulaw_call_works(server: RunningServer) -> None:
    async with server.call("ulaw", fmt="ulaw") as call:
        await call.start_media()
        await call.wait_heard(2000)
        await call.dtmf("0")
        await call.wait_closed()
    record = await finished(server, "ulaw")
    assert record.handover_reason == "keypad_0"


async def test_metrics_and_health(server: RunningServer) -> None:
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{server.http}/metrics")).text
        health = (await client.get(f"{server.http}/healthz")).json()
    assert "voicebot_calls_total" in metrics and "voicebot_turn_latency_seconds" in metrics
    assert 'voicebot_handovers_total{reason="keypad_0"}' in metrics
    assert health["mode"] == "speech"
