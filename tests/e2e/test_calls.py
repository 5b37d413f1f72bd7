"""Phone calls end to end: SIPp caller → Asterisk 22 (PJSIP, Stasis, chan_websocket) → voicebot.

Each test owns a caller number, finds its call's record on the bot by that
number, and checks what the caller heard in Asterisk's own recording.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.cli import run_cli
from tests.conftest import espeak_speech
from tests.e2e import sipp
from tests.e2e.conftest import Agent, Sandbox, dial, finished
from tests.serve_process import Bot
from voicebot.audio.resample import resample
from voicebot.content import load_content
from voicebot.dialog.render import render as render_text
from voicebot.executor import EnginePool
from voicebot.store import Store
from voicebot.tts.base import render
from voicebot.tts.piper import PiperSynthesizer

FRAME_S = 0.02
SPEECH_DB = -40.0


def envelope_db(pcm: bytes, rate_hz: int) -> npt.NDArray[np.float64]:
    """Level of each 20 ms frame, in dB relative to full scale."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64) / 32768.0
    size = int(rate_hz * FRAME_S)
    frames = samples[: len(samples) // size * size].reshape(-1, size)
    return np.asarray(10 * np.log10(np.mean(frames**2, axis=1) + 1e-10), dtype=np.float64)


def active(levels: npt.NDArray[np.float64], start_s: float, end_s: float) -> float:
    """Share of frames between two instants that carry speech."""
    window = levels[int(start_s / FRAME_S) : int(end_s / FRAME_S)]
    return float(np.mean(window > SPEECH_DB)) if len(window) else 0.0


def best_likeness(
    heard: npt.NDArray[np.float64], reference: npt.NDArray[np.float64], max_lag_s: float
) -> float:
    """Highest correlation of the two envelopes over the lags Asterisk may add."""
    best = -1.0
    for lag in range(int(max_lag_s / FRAME_S)):
        part = heard[lag : lag + len(reference)]
        if len(part) < len(reference):
            break
        best = max(best, float(np.corrcoef(part, reference)[0, 1]))
    return best


def test_a_call_hears_the_greeting(
    sandbox: Sandbox, bot: Bot, tmp_path: Path, joe_voice_path: Path
) -> None:
    call = dial(tmp_path, "0600000101", 12, hang_up_at_ms=10000)
    finished(call, 30)
    record = bot.record("0600000101")
    greeting = record["turns"][0]
    assert greeting["speaker"] == "bot" and "mairie" in greeting["text"]
    pcm, rate = sandbox.heard(record["call_id"])
    levels = envelope_db(pcm, rate)
    assert len(levels) * FRAME_S >= 9.5  # the whole call was recorded
    assert active(levels, 1.0, 9.0) > 0.6  # speech, not dead air

    # Likeness to what the synthesizer says for that text (first seconds).
    pool = EnginePool("likeness", 1)
    try:
        voice = PiperSynthesizer.load(joe_voice_path, pool, phonemizer_voice="fr")
        first_sentence = greeting["text"].split(".")[0] + "."
        reference = asyncio.run(render(voice, first_sentence, 16000))
    finally:
        pool.shutdown()
    expected = envelope_db(resample(reference.pcm, 16000, rate), rate)
    likeness = best_likeness(levels, expected[: int(2.5 / FRAME_S)], max_lag_s=2.0)
    assert likeness > 0.6, likeness
    # The same envelope against silence-padded noise of the same length does not match.
    shuffled = np.random.default_rng(0).permutation(expected[: int(2.5 / FRAME_S)])
    assert best_likeness(levels, shuffled, max_lag_s=2.0) < likeness - 0.2


def test_a_key_chooses_a_menu_answer_which_is_heard(
    sandbox: Sandbox, bot: Bot, tmp_path: Path
) -> None:
    call = dial(tmp_path, "0600000102", 20, keys=[sipp.Key("5", 4000)], hang_up_at_ms=16000)
    finished(call, 40)
    record = bot.record("0600000102")
    content = load_content(Path(bot.env["VOICEBOT_PROMPTS_DIR"]))
    line = content.lines["mairie"]
    intent = line.intents[line.keypad["5"]]
    answer = render_text(
        next(a.text for a in intent.answers if not a.when), line, content.service, {}
    )
    texts = [t["text"] for t in record["turns"]]
    assert "[touche 5]" in texts
    reply = record["turns"][texts.index("[touche 5]") + 1]
    assert reply["speaker"] == "bot" and answer.split(".")[0] in reply["text"]
    levels = envelope_db(*sandbox.heard(record["call_id"]))
    assert active(levels, 5.0, 12.0) > 0.6  # the answer was heard after the key


def test_key_zero_reaches_an_agent_with_the_call_named(
    sandbox: Sandbox, bot: Bot, agent: Agent, tmp_path: Path
) -> None:
    call = dial(tmp_path, "0600000103", 40, keys=[sipp.Key("0", 3000)])
    finished(call, 45)  # the agent answers, talks, hangs up: Asterisk ends the call
    record = bot.record("0600000103")
    assert record["outcome"] == "handed_over"
    assert record["handover_reason"] == "keypad_0"
    assert [t["text"] for t in record["turns"]][:2] == [record["turns"][0]["text"], "[touche 0]"]
    # Asterisk reported the last mark of the farewell: the caller heard it to the end.
    assert record["turns"][-1]["speaker"] == "bot" and record["turns"][-1]["heard_fully"] is True
    assert record["call_id"] in agent.answered()
    got = next(c for c in agent.calls() if c["call_id"] == record["call_id"])
    assert got["reason"] == "keypad_0"
    assert sandbox.idle()
    # The durable hand-over the console's queue shows: reason and transcript.
    store = Store.open(bot.env["VOICEBOT_DATABASE_URL"])
    try:
        waiting = {h.call_id: h for h in store.queue()}
    finally:
        store.close()
    handover = waiting[record["call_id"]]
    assert handover.reason == "keypad_0" and handover.caller_number == "+33600000103"
    assert "[touche 0]" in [t.text for t in handover.transcript]


def test_plain_dialplan_mode_asks_the_bot_where_the_call_goes(
    sandbox: Sandbox, bot: Bot, agent: Agent, tmp_path: Path
) -> None:
    """Number 300: Dial(WebSocket/...) without ARI; keys arrive on the media socket."""
    call = dial(tmp_path, "0600000108", 40, number="300", keys=[sipp.Key("0", 3000)])
    finished(call, 45)
    record = bot.record("0600000108")
    assert record["outcome"] == "handed_over" and record["route"] == "queue"
    assert "[touche 0]" in [t["text"] for t in record["turns"]]
    assert record["call_id"] in [c["call_id"] for c in agent.calls()]
    assert sandbox.idle()


def test_three_misunderstandings_end_with_an_agent(
    sandbox: Sandbox, bot: Bot, agent: Agent, tmp_path: Path
) -> None:
    speech = [
        (at, espeak_speech(text, "ko", 16000).pcm)
        for at, text in ((2.0, "라디오 음악"), (10.0, "지하철 버스"), (18.0, "라디오 음악"))
    ]
    call = dial(tmp_path, "0600000104", 60, speech=speech)
    finished(call, 70)
    record = bot.record("0600000104")
    assert record["outcome"] == "handed_over"
    assert record["handover_reason"] == "not_understood"
    heard = [t for t in record["turns"] if t["speaker"] == "caller"]
    assert len(heard) == 3 and all(t["intent"] is None for t in heard)
    got = next(c for c in agent.calls() if c["call_id"] == record["call_id"])
    assert got["reason"] == "not_understood"


def test_a_caller_hanging_up_during_a_prompt_is_abandoned(
    sandbox: Sandbox, bot: Bot, tmp_path: Path
) -> None:
    call = dial(tmp_path, "0600000106", 5, hang_up_at_ms=2500)
    finished(call, 20)
    record = bot.record("0600000106")
    assert record["outcome"] == "abandoned"
    assert record["turns"][0]["heard_fully"] is False
    assert sandbox.idle()
    assert bot.active_calls() == 0


def test_ten_calls_at_once_all_complete(sandbox: Sandbox, bot: Bot, tmp_path: Path) -> None:
    numbers = [f"06000002{i:02d}" for i in range(10)]
    calls = [
        dial(tmp_path, number, 20, index=i, keys=[sipp.Key("5", 4000)], hang_up_at_ms=14000)
        for i, number in enumerate(numbers)
    ]
    for call in calls:
        finished(call, 60)
    for number in numbers:
        record = bot.record(number)
        texts = [t["text"] for t in record["turns"]]
        assert "[touche 5]" in texts, texts
        assert record["turns"][texts.index("[touche 5]") + 1]["speaker"] == "bot"
        assert record["outcome"] == "abandoned"
        levels = envelope_db(*sandbox.heard(record["call_id"]))
        assert active(levels, 5.0, 12.0) > 0.6, number
    assert sandbox.idle()
    assert bot.active_calls() == 0


def test_doctor_sees_asterisk(sandbox: Sandbox, bot: Bot) -> None:
    env = {k: v for k, v in bot.env.items() if k.startswith("VOICEBOT_")}
    result = run_cli("doctor", env=env)
    assert "[ok ] Asterisk (VOICEBOT_ARI_URL) : Asterisk 22.10.1" in result.stdout, result.stdout
    wrong = run_cli("doctor", env={**env, "VOICEBOT_ARI_PASSWORD": "pas-le-bon"})
    assert "identifiants refusés pour « voicebot »" in wrong.stdout
    assert wrong.returncode == 1


def test_with_the_bot_stopped_a_call_goes_straight_to_the_queue(
    sandbox: Sandbox, bot: Bot, agent: Agent, tmp_path: Path
) -> None:
    bot.stop()
    try:
        started = time.monotonic()
        call = dial(tmp_path, "0600000105", 30)
        finished(call, 40)
        assert time.monotonic() - started < 15
        assert [c["reason"] for c in agent.calls()] == ["bot_unavailable"]
        assert len(agent.answered()) == 1
    finally:
        bot.start()


def test_the_bot_reconnects_when_asterisk_restarts(
    sandbox: Sandbox, bot: Bot, tmp_path: Path
) -> None:
    sandbox.run("start")  # stops the running Asterisk, starts a fresh one
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if sandbox.ari("/applications") and bot.active_calls() == 0:
            break
        time.sleep(0.2)
    assert any(app["name"] == "voicebot" for app in sandbox.ari("/applications"))
    call = dial(tmp_path, "0600000107", 14, keys=[sipp.Key("5", 3000)], hang_up_at_ms=10000)
    finished(call, 30)
    texts = [t["text"] for t in bot.record("0600000107")["turns"]]
    assert "[touche 5]" in texts


@pytest.fixture(autouse=True)
def _no_call_left_behind(sandbox: Sandbox) -> None:
    """Each test starts on an idle PBX (a failed test must not spoil the next)."""
    if not sandbox.idle(timeout=20):
        for channel in sandbox.ari("/channels"):
            sandbox.run("cli", f"channel request hangup {channel['name']}")
