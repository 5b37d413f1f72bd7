"""Piper with the shipped en_US voice (phonemized as French) and espeak-ng French."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import rms
from voicebot.audio.frame import AudioFrame
from voicebot.errors import ModelError, UsageError
from voicebot.executor import EnginePool
from voicebot.tts import CachingSynthesizer, EspeakSynthesizer, PiperSynthesizer, render
from voicebot.tts.sentences import split_sentences

TEXT = "Bonjour, vous êtes bien à la mairie de Saint-Exemple. Que puis-je faire pour vous ?"
# Read aloud, this text lasts about 3 to 5 seconds, whatever the voice.
PLAUSIBLE_S = (2.5, 6.5)
RATES = (8000, 16000, 22050)


@pytest.fixture(scope="module")
def piper(joe_voice_path: Path, engine_pool: EnginePool) -> PiperSynthesizer:
    return PiperSynthesizer.load(joe_voice_path, engine_pool, phonemizer_voice="fr")


def dominant_hz(frame: AudioFrame) -> float:
    x = frame.to_array().astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.argmax(spectrum) * frame.sample_rate_hz / len(x))


@pytest.mark.parametrize("rate", RATES)
async def test_piper_speaks_french_at_each_rate(piper: PiperSynthesizer, rate: int) -> None:
    frames = [f async for f in piper.stream(TEXT, rate)]
    assert len(frames) >= 2  # sentence by sentence
    assert all(f.sample_rate_hz == rate for f in frames)
    whole = AudioFrame(b"".join(f.pcm for f in frames), rate)
    assert PLAUSIBLE_S[0] <= whole.duration_ms / 1000 <= PLAUSIBLE_S[1]
    assert rms(whole) > 1000  # speech, not silence
    assert 80 < dominant_hz(whole) < 3500  # energy where voices are
    assert frames[1].timestamp_ms == int(frames[0].duration_ms)


@pytest.mark.parametrize("rate", RATES)
async def test_espeak_speaks_french_at_each_rate(rate: int) -> None:
    frames = [f async for f in EspeakSynthesizer("fr").stream(TEXT, rate)]
    whole = AudioFrame(b"".join(f.pcm for f in frames), rate)
    assert PLAUSIBLE_S[0] <= whole.duration_ms / 1000 <= PLAUSIBLE_S[1]
    assert rms(whole) > 1000


async def test_slower_speech_lasts_longer(piper: PiperSynthesizer) -> None:
    text = "Votre dossier est en cours de traitement."

    async def median_ms(speed: float) -> float:
        # Piper draws its phoneme durations with noise: the median of three renders.
        runs = [(await render(piper, text, 16000, speed)).duration_ms for _ in range(3)]
        return sorted(runs)[1]

    normal, slow, fast = await median_ms(1.0), await median_ms(0.7), await median_ms(1.4)
    assert slow > normal * 1.2
    assert fast < normal * 0.85
    slow_espeak = await render(EspeakSynthesizer("fr"), text, 16000, 0.7)
    normal_espeak = await render(EspeakSynthesizer("fr"), text, 16000, 1.0)
    assert slow_espeak.duration_ms > normal_espeak.duration_ms * 1.2


async def test_empty_text_and_bad_speed_are_refused(piper: PiperSynthesizer) -> None:
    with pytest.raises(UsageError, match="texte vide"):
        await render(piper, "   ", 16000)
    with pytest.raises(UsageError, match="vitesse"):
        await render(EspeakSynthesizer("fr"), "Bonjour.", 16000, 5.0)


async def test_caching_synthesizer_renders_a_sentence_once(piper: PiperSynthesizer) -> None:
    cache = CachingSynthesizer(piper)

    async def say(text: str, rate_hz: int = 8000) -> bytes:
        return b"".join([chunk.pcm async for chunk in cache.stream(text, rate_hz)])

    # Three calls ask for the same prompt at the same moment: it is rendered once.
    first, *others = await asyncio.gather(*(say("Au revoir.") for _ in range(3)))
    assert all(pcm == first for pcm in others) and cache.misses == 1 and cache.hits == 2
    started = time.perf_counter()
    assert await say("Au revoir.") == first
    assert time.perf_counter() - started < 0.01
    # A prompt of two sentences reuses the one already rendered; another rate is rendered anew.
    await say("Merci de votre appel. Au revoir.")
    assert cache.misses == 2
    await say("Au revoir.", 16000)
    assert cache.misses == 3


def test_first_part_is_short_for_a_fast_first_audio() -> None:
    long_first = (
        "Pour une première demande de carte d'identité, prenez rendez-vous en ligne, "
        "puis venez avec un justificatif de domicile. Le délai est de trois semaines."
    )
    parts = split_sentences(long_first)
    assert len(parts[0]) < 60 and len(parts) == 3
    assert " ".join(parts) == long_first


def test_broken_voice_file_is_a_model_error(tmp_path: Path, joe_voice_path: Path) -> None:
    onnx = tmp_path / "broken.onnx"
    onnx.write_bytes(b"not an onnx model")
    (tmp_path / "broken.onnx.json").write_text(joe_voice_path.with_suffix(".onnx.json").read_text())
    with pytest.raises(ModelError):
        PiperSynthesizer.load(onnx, EnginePool("t", 1))
