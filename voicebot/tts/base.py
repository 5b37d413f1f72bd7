"""The synthesizer interface every engine implements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from voicebot.audio.frame import AudioFrame
from voicebot.errors import UsageError

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
