"""The synthesizer interface every engine implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Protocol

from voicebot.audio.frame import AudioFrame
from voicebot.audio.resample import resample
from voicebot.errors import UsageError
from voicebot.tts.sentences import split_sentences

MIN_SPEED = 0.5
MAX_SPEED = 2.0


class Synthesizer(Protocol):
    """Speaks French text, sentence by sentence, at the rate the call asks for."""

    engine: str
    """``piper`` or ``espeak-ng``."""
    voice: str
    native_rate_hz: int

    def stream(
        self, text: str, sample_rate_hz: int, speed: float = 1.0
    ) -> AsyncIterator[AudioFrame]:
        """Yield one frame per sentence, resampled to ``sample_rate_hz``.

        ``speed`` above 1 speaks faster, below 1 slower ("plus lentement").
        """
        ...


class SentenceSynthesizer(ABC):
    """An engine that renders one sentence at a time at its native rate."""

    engine: str
    voice: str
    native_rate_hz: int

    @abstractmethod
    async def _sentence_pcm(self, sentence: str, speed: float) -> bytes:
        """16-bit PCM of one sentence at ``native_rate_hz``."""

    async def _to_rate(self, pcm: bytes, sample_rate_hz: int) -> bytes:
        return resample(pcm, self.native_rate_hz, sample_rate_hz)

    async def stream(
        self, text: str, sample_rate_hz: int, speed: float = 1.0
    ) -> AsyncIterator[AudioFrame]:
        cleaned = check_request(text, speed)
        elapsed_ms = 0
        for sentence in split_sentences(cleaned):
            pcm = await self._sentence_pcm(sentence, speed)
            if not pcm:
                continue
            frame = AudioFrame(
                await self._to_rate(pcm, sample_rate_hz), sample_rate_hz, timestamp_ms=elapsed_ms
            )
            elapsed_ms += int(frame.duration_ms)
            yield frame


def check_request(text: str, speed: float) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise UsageError("texte vide : rien à dire", hint="donnez une phrase à prononcer")
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise UsageError(
            f"vitesse {speed} hors limites", hint=f"choisissez entre {MIN_SPEED} et {MAX_SPEED}"
        )
    return cleaned


async def render(
    synthesizer: Synthesizer, text: str, sample_rate_hz: int, speed: float = 1.0
) -> AudioFrame:
    """The whole text as one frame."""
    parts = [f.pcm async for f in synthesizer.stream(text, sample_rate_hz, speed)]
    return AudioFrame(b"".join(parts), sample_rate_hz)
