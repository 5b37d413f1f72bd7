"""The voice detectors on real speech and on noise, at both telephone rates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak_speech
from voicebot.audio.vad import (
    SILENCE_DBFS,
    BackgroundLevel,
    NoiseFloor,
    SileroModel,
    VadSettings,
    VoiceGate,
    new_gate,
    percentile,
)
from voicebot.calls.simulator import NoiseSource
from voicebot.calls.turns import TurnDetector
from voicebot.errors import ModelError


@pytest.fixture(scope="module")
def silero() -> SileroModel:
    return SileroModel.load()


def voiced_share(samples: np.ndarray, rate_hz: int, silero: SileroModel | None) -> float:
    """As a call's listener drives the gate: what falls in a caller's turn is not learnt
    as background."""
    gate = new_gate(rate_hz, silero)
    turns = TurnDetector()
    frame = rate_hz // 50
    decisions = []
    for i in range(0, len(samples) - frame + 1, frame):
        voiced = gate.push(samples[i : i + frame].astype(np.int16), caller_turn=turns.candidate)
        turns.push(voiced.voiced)
        decisions.append(voiced.voiced)
    return sum(decisions) / len(decisions)


def noise(kind: str, dbfs: float, seconds: float, rate_hz: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    white = rng.standard_normal(int(seconds * rate_hz))
    if kind == "pink":
        spectrum = np.fft.rfft(white)
        spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
        white = np.fft.irfft(spectrum, len(white))
    white *= 32768.0 * 10 ** (dbfs / 20.0) / np.sqrt(np.mean(white * white))
    return white


@pytest.mark.parametrize("rate_hz", [8000, 16000])
def test_silero_hears_speech_at_both_rates(silero: SileroModel, rate_hz: int) -> None:
    pcm = espeak_speech("je voudrais renouveler mon passeport", "fr", rate_hz, pad_s=0.0).pcm
    speech = np.frombuffer(pcm, "<i2")
    assert voiced_share(speech, rate_hz, silero) > 0.45  # words, with their gaps


@pytest.mark.parametrize("rate_hz", [8000, 16000])
@pytest.mark.parametrize(("kind", "dbfs"), [("white", -35.0), ("pink", -35.0), ("white", -45.0)])
def test_steady_noise_is_not_speech(
    silero: SileroModel, rate_hz: int, kind: str, dbfs: float
) -> None:
    sound = noise(kind, dbfs, 4.0, rate_hz)
    assert voiced_share(sound, rate_hz, silero) < 0.02
    # The energy detector's floor also learns it: after the first seconds, nothing is voiced.
    assert voiced_share(sound, rate_hz, None) < 0.05


def test_the_floor_follows_the_quietest_recent_moment() -> None:
    floor = NoiseFloor(window_frames=50)
    for _ in range(60):
        floor.push(-35.0)
    assert floor.dbfs == pytest.approx(-35.0)
    for _ in range(10):
        floor.push(-15.0)  # speech does not lift it
    assert floor.dbfs < -34.0


@pytest.mark.parametrize(
    ("pushed", "expected"),
    [
        # (level, echo) pushed in order -> the background level then
        ([(-40.0, False)] * 10, SILENCE_DBFS),  # under half a second: unknown
        ([(-40.0, False)] * 30, -40.0),
        ([(-50.0, False)] * 26 + [(-30.0, False)] * 4, -30.0),  # the loud tenth counts
        ([(-50.0, False)] * 30 + [(-20.0, True)] * 30, -20.0),  # while the bot speaks
        ([(-50.0, False)] * 30 + [(-20.0, True)] * 30 + [(-50.0, False)], -50.0),  # after
        ([(-20.0, True)] * 40 + [(-50.0, False)] * 5, SILENCE_DBFS),  # only echo so far
    ],
)
def test_the_background_level_is_the_line_without_the_caller(
    pushed: list[tuple[float, bool]], expected: float
) -> None:
    background = BackgroundLevel(window_frames=150)
    for level, echo in pushed:
        background.push(level, echo)
    assert background.dbfs == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("size", [25, 26, 150, 151])
def test_the_percentile_is_numpys(size: int) -> None:
    values = list(np.random.default_rng(size).uniform(-90.0, -20.0, size))
    assert percentile(values, 90) == pytest.approx(float(np.percentile(values, 90)))


def babble(dbfs: float, seconds: float, rate_hz: int) -> np.ndarray:
    return NoiseSource("babble", dbfs, rate_hz, seed=2).take(int(seconds * rate_hz))


def turn_events(samples: np.ndarray, rate_hz: int, gate: VoiceGate) -> list[tuple[float, str]]:
    turns = TurnDetector()
    frame = rate_hz // 50
    events = []
    for i in range(0, len(samples) - frame + 1, frame):
        voiced = gate.push(samples[i : i + frame].astype(np.int16), caller_turn=turns.candidate)
        event = turns.push(voiced.voiced)
        if event is not None:
            events.append((round((i + frame) / rate_hz, 2), event.value))
    return events


@pytest.mark.parametrize("dbfs", [-40.0, -36.0])
def test_voices_behind_the_caller_are_not_the_caller(silero: SileroModel, dbfs: float) -> None:
    """A babble of voices far behind the caller: Silero rightly hears speech in it, the
    background level keeps it from being taken for the caller."""
    sound = babble(dbfs, 12.0, 8000)
    events = turn_events(sound, 8000, new_gate(8000, silero))
    assert "confirmed" not in [event for _, event in events], events
    # The same line without the background level: the voices confirm turns.
    loose = VoiceGate(silero.detector(8000), VadSettings(background_margin_db=-100.0))
    assert "confirmed" in [event for _, event in turn_events(sound, 8000, loose)]


def test_a_caller_is_heard_over_voices_behind(silero: SileroModel) -> None:
    pcm = espeak_speech("je voudrais renouveler mon passeport", "fr", 8000, pad_s=0.0).pcm
    speech = np.frombuffer(pcm, "<i2").astype(np.float64)
    voiced = speech[np.abs(speech) > 200]
    speech *= 32768.0 * 10 ** (-18.0 / 20.0) / float(np.sqrt(np.mean(voiced * voiced)))
    sound = babble(-40.0, 8.0, 8000)
    start = 4 * 8000
    sound[start : start + len(speech)] += speech
    end_s = 4.0 + len(speech) / 8000
    events = turn_events(np.clip(sound, -32768, 32767), 8000, new_gate(8000, silero))
    confirmed = [at for at, event in events if event == "confirmed"]
    ended = [at for at, event in events if event == "ended"]
    assert confirmed and 4.0 < confirmed[0] < 4.4, events
    assert ended and end_s < ended[0] < end_s + 1.2, (end_s, events)  # the voices do not hold it
    assert len(confirmed) == 1, events


@pytest.mark.parametrize("delay_ms", [200, 0])
def test_the_first_syllables_are_not_learnt_as_the_line(silero: SileroModel, delay_ms: int) -> None:
    """A caller who answers half a second after a prompt, on a quiet line: little line has
    been heard outside the bot's voice, so the syllables heard before the turn opens would
    be a large share of it. They are the caller's, not the line's: the background
    stays where the line was (held at the speech's level, it would silence the soft
    syllables of the whole turn)."""
    pcm = espeak_speech("je voudrais une aide pour payer mon loyer", "fr", 8000, pad_s=0.0).pcm
    speech = np.frombuffer(pcm, "<i2").astype(np.float64)
    voiced = speech[np.abs(speech) > 200]
    speech *= 32768.0 * 10 ** (-18.0 / 20.0) / float(np.sqrt(np.mean(voiced * voiced)))
    sound = np.concatenate([np.zeros(4000), np.clip(speech, -32768, 32767)])
    gate = VoiceGate(silero.detector(8000), VadSettings(background_delay_ms=delay_ms))
    turns = TurnDetector()
    backgrounds = []
    for i in range(0, len(sound) - 159, 160):
        voice = gate.push(sound[i : i + 160].astype(np.int16), caller_turn=turns.candidate)
        turns.push(voice.voiced)
        if turns.candidate:
            backgrounds.append(voice.background_dbfs)
    if delay_ms:
        assert backgrounds and max(backgrounds) < -80.0, max(backgrounds)
    else:  # learnt at once, the onset lifts the line's level up to the speech's
        assert max(backgrounds) > -45.0, max(backgrounds)


def test_a_missing_model_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as error:
        SileroModel.load(tmp_path / "absent.onnx")
    assert "VOICEBOT_VAD=energy" in (error.value.hint or "")
