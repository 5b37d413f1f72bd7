"""espeak-ng: always available, robotic but clear; the fallback when no Piper voice is installed."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

from voicebot.errors import EngineError
from voicebot.tts.base import SentenceSynthesizer

ESPEAK_RATE_HZ = 22050
DEFAULT_WORDS_PER_MINUTE = 165
_WAV_HEADER_BYTES = 44


def espeak_binary() -> str | None:
    return shutil.which("espeak-ng")


class EspeakSynthesizer(SentenceSynthesizer):
    engine = "espeak-ng"
    native_rate_hz = ESPEAK_RATE_HZ

    def __init__(self, voice: str = "fr", words_per_minute: int = DEFAULT_WORDS_PER_MINUTE) -> None:
        binary = espeak_binary()
        if binary is None:
            raise EngineError(
                "espeak-ng est introuvable",
                hint="installez-le : apt-get install espeak-ng",
            )
        self._binary = binary
        self.voice = voice
        self.words_per_minute = words_per_minute

    async def _sentence_pcm(self, sentence: str, speed: float) -> bytes:
        # A blocking run in a thread: espeak-ng takes milliseconds, and unlike an asyncio
        # subprocess nothing is left open if the call is cancelled mid-way (barge-in).
        return await asyncio.to_thread(self._speak_blocking, sentence, speed)

    def _speak_blocking(self, sentence: str, speed: float) -> bytes:
        wpm = str(round(self.words_per_minute * speed))
        process = subprocess.run(
            [self._binary, "-v", self.voice, "-s", wpm, "--stdout", sentence],
            capture_output=True,
            timeout=30,
            check=False,
        )
        out, err = process.stdout, process.stderr
        if process.returncode != 0 or len(out) < _WAV_HEADER_BYTES:
            raise EngineError(
                f"espeak-ng a échoué (voix « {self.voice} ») : "
                + err.decode(errors="replace").strip(),
                hint="vérifiez la voix avec : espeak-ng --voices=fr",
            )
        pcm = out[_WAV_HEADER_BYTES:]
        return pcm[: len(pcm) - len(pcm) % 2]
