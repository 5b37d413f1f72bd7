"""The voice detectors on real speech and on noise, at both telephone rates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak_speech
from voicebot.audio.vad import NoiseFloor, SileroModel, new_gate
from voicebot.errors import ModelError


@pytest.fixture(scope="module")
def silero() -> SileroModel:
    return SileroModel.load()


def voiced_share(samples: np.ndarray, rate_hz: int, silero: SileroModel | None) -> float:
    gate = new_gate(rate_hz, silero)
    frame = rate_hz // 50
    decisions = [
        gate.push(samples[i : i + frame].astype(np.int16)).voiced
        for i in range(0, len(samples) - frame + 1, frame)
    ]
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


def test_a_missing_model_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as error:
        SileroModel.load(tmp_path / "absent.onnx")
    assert "VOICEBOT_VAD=energy" in (error.value.hint or "")
