"""Calls over a line as callers have them (street noise, the bot's own echo), through the
real endpoint, G.711 on the line, the shipped models and the trained voice detector."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from tests.calls.conftest import PASSWORD, RunningServer, running
from tests.calls.test_endpoint import finished
from tests.conftest import espeak_speech
from voicebot.calls.simulator import LineConditions
from voicebot.calls.turns import TurnSettings
from voicebot.config import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")


def flushes(commands: list[dict[str, object]]) -> int:
    return sum(1 for c in commands if c.get("command") == "FLUSH_MEDIA")


async def test_a_prompt_under_echo_plays_to_its_last_mark(server: RunningServer) -> None:
    echo = LineConditions(echo_db=-12.0, echo_delay_ms=60)
    async with server.call("echo-greeting", fmt="ulaw", conditions=echo) as call:
        await call.start_media()
        await call.wait_heard(3000)
        assert await call.wait_bot_done(quiet_s=1.0, timeout=40.0)
        assert flushes(call.commands) == 0  # its own voice never interrupted it
    record = await finished(server, "echo-greeting")
    greeting = record.turns[0]
    assert greeting.speaker == "bot" and greeting.heard_fully is True
    assert not [t for t in record.turns if t.speaker == "caller"]  # no invented turn


async def test_a_caller_in_street_noise_is_heard_whole_and_answered(
    server: RunningServer,
) -> None:
    """Pink noise at -35 dBFS and the bot's echo: the greeting plays on, the caller's one
    sentence is one turn (neither cut nor invented), answered after it ends. (What the
    words are is the recogniser's matter: the shipped Korean model hears this espeak
    sentence differently under noise even offline, so no exact text is asserted.)"""
    noisy = LineConditions(noise="pink", noise_dbfs=-35.0, echo_db=-20.0, echo_delay_ms=60)
    async with server.call("noisy", fmt="ulaw", conditions=noisy) as call:
        await call.start_media()
        assert await call.wait_bot_done(quiet_s=1.0, timeout=40.0)
        assert flushes(call.commands) == 0  # the noise interrupted nothing
        await call.say(espeak_speech("라디오 음악", "ko", 8000).pcm)
        spoke_at = call.last_voiced_sent
        assert spoke_at is not None
        await call.wait_heard(call.heard_ms() + 1000, timeout=20.0)
        answered = call.voiced_since(call.speech_onsets[-1])
    record = await finished(server, "noisy")
    caller_turns = [t for t in record.turns if t.speaker == "caller"]
    assert len(caller_turns) == 1 and len(caller_turns[0].text.split()) >= 2, record.turns
    assert answered is not None and answered > spoke_at  # not before the caller finished
    assert len([t for t in record.turns if t.speaker == "bot"]) == 2


async def test_a_complete_request_ends_the_turn_on_a_short_silence(
    korean_model_dir: Path, joe_voice_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The content knows what the (Korean) recogniser makes of this sentence: once the
    partial transcript is that request, the turn is given the short wait and ends on the
    partial's words, and the answer is the request's. An unknown sentence gets the
    ordinary wait. The decision is asserted, not a latency (a loaded machine shifts
    those), from the listener's record of each turn's end."""
    caplog.set_level(logging.DEBUG, logger="voicebot.calls.listener")
    prompts = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", prompts)
    (prompts / "mairie" / "learned.yaml").write_text(
        "examples:\n  horaires:\n    - 라디오 음악 전화 번호\n", encoding="utf-8"
    )
    settings = load_settings(
        asr_model=str(korean_model_dir),
        tts_voice=str(joe_voice_path),
        tts_phonemizer_voice="fr",
        media_password=PASSWORD,
        prompts_dir=prompts,
    )
    waits = TurnSettings()
    async with running(settings) as server:
        for call_id, text, wait in (
            ("complete", "라디오 음악 전화 번호", waits.end_short_ms),
            ("open", "안녕하세요", waits.end_ms),
        ):
            async with server.call(call_id) as call:
                await call.start_media()
                assert await call.wait_bot_done(quiet_s=1.0, timeout=40.0)
                await call.say(espeak_speech(text, "ko", 16000).pcm)
                await call.wait_heard(call.heard_ms() + 1000, timeout=20.0)
            record = await finished(server, call_id)
            assert any(t.speaker == "bot" and t.latency_ms for t in record.turns[1:])
            if call_id == "complete":
                assert record.intents == ["horaires"], record.turns
            ends = [m for m in caplog.messages if f"call {call_id}: turn ended" in m]
            assert len(ends) == 1, ends  # one turn: neither cut nor merged
            assert ends[0].endswith(f"(wait {wait} ms)"), ends
