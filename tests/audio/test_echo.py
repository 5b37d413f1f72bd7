"""The echo guard and the voice gate on a simulated G.711 line, frame by frame, as a call
sees them: the bot's prompt sent ahead, its echo coming back attenuated and delayed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest

from tests.conftest import espeak_speech
from voicebot.audio.echo import EchoGuard
from voicebot.audio.g711 import ulaw_decode, ulaw_encode
from voicebot.audio.vad import SileroModel, VoiceGate, new_gate
from voicebot.calls.turns import TurnDetector, TurnEvent

RATE = 8000
FRAME = RATE // 50
BOT_TEXT = (
    "Bonjour, vous êtes bien à la mairie. Vous parlez à un assistant automatique. "
    "Ce que vous dites est transcrit pour traiter votre demande."
)
CALLER_TEXT = "je voudrais renouveler mon passeport"


def at_level(samples: np.ndarray, dbfs: float) -> np.ndarray:
    voiced = samples[np.abs(samples) > 200].astype(np.float64)
    rms = float(np.sqrt(np.mean(voiced * voiced)))
    return samples.astype(np.float64) * (32768.0 * 10 ** (dbfs / 20.0) / rms)


@cache
def bot_speech() -> np.ndarray:
    pcm = espeak_speech(BOT_TEXT, "fr", RATE, pad_s=0.0).pcm
    return g711(at_level(np.frombuffer(pcm, "<i2"), -15.0))


@cache
def caller_speech() -> np.ndarray:
    pcm = espeak_speech(CALLER_TEXT, "fr+m3", RATE, pad_s=0.0).pcm
    return at_level(np.frombuffer(pcm, "<i2"), -18.0)


def g711(samples: np.ndarray) -> np.ndarray:
    """Through μ-law and back, as on the line."""
    pcm = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
    return np.frombuffer(ulaw_decode(ulaw_encode(pcm)), "<i2").astype(np.float64)


@dataclass
class Line:
    echo_db: float | None
    delay_ms: int
    caller_at_s: float | None = None
    noise_dbfs: float | None = None

    def inbound(self, bot: np.ndarray, total_s: float) -> np.ndarray:
        total = int(total_s * RATE)
        out = np.zeros(total)
        if self.echo_db is not None:
            delay = self.delay_ms * RATE // 1000
            echo = bot[: max(0, total - delay)] * 10 ** (self.echo_db / 20.0)
            out[delay : delay + len(echo)] += echo
        if self.caller_at_s is not None:
            start = int(self.caller_at_s * RATE)
            speech = caller_speech()[: total - start]
            out[start : start + len(speech)] += speech
        if self.noise_dbfs is not None:
            rng = np.random.default_rng(7)
            out += rng.standard_normal(total) * 32768.0 * 10 ** (self.noise_dbfs / 20.0)
        return g711(out)


@dataclass
class Heard:
    events: list[tuple[float, TurnEvent]]
    guard: EchoGuard

    def first(self, kind: TurnEvent) -> float | None:
        return next((at for at, event in self.events if event is kind), None)


def frames(samples: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(samples) - FRAME + 1, FRAME):
        yield samples[start : start + FRAME].astype(np.int16)


def listen(line: Line, gate: VoiceGate, total_s: float = 6.0) -> Heard:
    """The bot sends its whole prompt at once (as it does, a sentence ahead); the inbound
    frames then go through the guard, the gate and the turn detector."""
    guard = EchoGuard(RATE)
    bot = bot_speech()
    guard.sent(bot.astype("<i2").tobytes())
    turns = TurnDetector()
    events: list[tuple[float, TurnEvent]] = []
    for index, frame in enumerate(frames(line.inbound(bot, total_s))):
        check = guard.process(frame)
        voice = gate.push(check.residual, check.echo_floor_dbfs, turns.candidate)
        event = turns.push(voice.voiced)
        if event is not None:
            events.append(((index + 1) * 0.02, event))
    return Heard(events, guard)


@pytest.fixture(scope="module")
def silero() -> SileroModel:
    return SileroModel.load()


@pytest.fixture(params=["silero", "energy"])
def gate(request: pytest.FixtureRequest, silero: SileroModel) -> VoiceGate:
    return new_gate(RATE, silero if request.param == "silero" else None)


ECHOES = [(-6.0, 20), (-6.0, 120), (-12.0, 60), (-20.0, 20), (-20.0, 120)]


@pytest.mark.parametrize(("echo_db", "delay_ms"), ECHOES)
def test_the_bots_own_echo_is_never_caller_speech(
    gate: VoiceGate, echo_db: float, delay_ms: int
) -> None:
    heard = listen(Line(echo_db, delay_ms), gate)
    assert heard.first(TurnEvent.CONFIRMED) is None, heard.events


@pytest.mark.parametrize(("echo_db", "delay_ms"), ECHOES)
def test_the_echo_path_is_measured(gate: VoiceGate, echo_db: float, delay_ms: int) -> None:
    guard = listen(Line(echo_db, delay_ms), gate).guard
    assert guard.delay_samples is not None
    assert abs(guard.delay_samples - delay_ms * RATE // 1000) <= 1
    assert abs(-20 * np.log10(guard.gain) + echo_db) < 1.0


@pytest.mark.parametrize(
    ("echo_db", "delay_ms"), [(-12.0, 60), (-20.0, 120), (-6.0, 60), (None, 0)]
)
def test_a_caller_speaking_over_the_echo_is_heard_at_once(
    gate: VoiceGate, echo_db: float | None, delay_ms: int
) -> None:
    heard = listen(Line(echo_db, delay_ms, caller_at_s=2.0), gate)
    confirmed = heard.first(TurnEvent.CONFIRMED)
    assert confirmed is not None, heard.events
    onset = 2.0 + np.flatnonzero(np.abs(caller_speech()) > 300)[0] / RATE
    assert 0 < confirmed - onset <= 0.3, (confirmed, onset, heard.events)


@pytest.mark.parametrize("shift_ms", [0, 12, 30])
def test_a_later_prompt_whose_echo_comes_back_later_is_not_the_caller(
    gate: VoiceGate, shift_ms: int
) -> None:
    """The greeting teaches the guard the echo's delay; the next prompt, sent after a
    silence, plays ``shift_ms`` later than the transport did before (its buffering
    moved): a subtraction on the old delay leaves the echo whole."""
    bot = bot_speech()
    first, second = bot[: 3 * RATE], bot[3 * RATE : 6 * RATE]
    second_at, delay = 5 * RATE, 60 * RATE // 1000
    shift = shift_ms * RATE // 1000
    inbound = np.zeros(9 * RATE)
    inbound[delay : delay + len(first)] += first * 10 ** (-12.0 / 20.0)
    start = second_at + delay + shift
    inbound[start : start + len(second)] += second * 10 ** (-12.0 / 20.0)
    guard = EchoGuard(RATE)
    turns = TurnDetector()
    guard.sent(first.astype("<i2").tobytes())
    events = []
    for index, frame in enumerate(frames(g711(inbound))):
        if index * FRAME == second_at:
            guard.sent(second.astype("<i2").tobytes())
        check = guard.process(frame)
        voice = gate.push(check.residual, check.echo_floor_dbfs, turns.candidate)
        event = turns.push(voice.voiced)
        if event is not None:
            events.append(((index + 1) * 0.02, event))
    assert TurnEvent.CONFIRMED not in [event for _, event in events], events
    assert guard.delay_samples is not None  # and it learnt the new delay
    assert abs(guard.delay_samples - (delay + shift)) <= 1


def test_without_any_echo_the_guard_learns_the_line_returns_nothing(gate: VoiceGate) -> None:
    guard = listen(Line(None, 0), gate).guard
    assert guard.delay_samples is None
    assert guard.return_loss_db > 30


def test_steady_noise_is_learnt_as_background(silero: SileroModel) -> None:
    for gate in (new_gate(RATE, silero), new_gate(RATE, None)):
        heard = listen(Line(-20.0, 60, noise_dbfs=-35.0), gate, total_s=8.0)
        assert heard.first(TurnEvent.CONFIRMED) is None, heard.events
        assert gate.floor.dbfs > -45.0


def test_a_caller_is_heard_through_steady_noise(silero: SileroModel) -> None:
    gate = new_gate(RATE, silero)
    heard = listen(Line(None, 0, caller_at_s=3.0, noise_dbfs=-35.0), gate, total_s=7.0)
    confirmed = heard.first(TurnEvent.CONFIRMED)
    assert confirmed is not None and confirmed > 3.0, heard.events
    assert heard.first(TurnEvent.ENDED) is not None
