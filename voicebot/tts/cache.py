"""Fixed prompts (greeting, reprompts, menus) rendered once, kept in memory and on disk."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from voicebot.audio.frame import AudioFrame
from voicebot.audio.wav import read_wav, write_wav
from voicebot.tts.base import Synthesizer, render

log = logging.getLogger(__name__)


class PromptCache:
    def __init__(self, synthesizer: Synthesizer, directory: Path | None = None) -> None:
        self.synthesizer = synthesizer
        self.directory = directory
        self._memory: dict[str, AudioFrame] = {}
        self.hits = 0
        self.misses = 0

    def key(self, text: str, sample_rate_hz: int, speed: float) -> str:
        s = self.synthesizer
        material = f"{s.engine}\x00{s.voice}\x00{sample_rate_hz}\x00{speed:.3f}\x00{text}"
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]

    async def get(self, text: str, sample_rate_hz: int, speed: float = 1.0) -> AudioFrame:
        key = self.key(text, sample_rate_hz, speed)
        frame = self._memory.get(key)
        if frame is not None:
            self.hits += 1
            return frame
        path = self.directory / f"{key}.wav" if self.directory else None
        if path is not None and path.exists():
            frame = read_wav(path)
            self.hits += 1
        else:
            self.misses += 1
            frame = await render(self.synthesizer, text, sample_rate_hz, speed)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                temporary = path.with_suffix(".tmp")
                write_wav(temporary, frame)
                temporary.replace(path)
        self._memory[key] = frame
        return frame

    async def preload(self, texts: list[str], sample_rate_hz: int) -> None:
        for text in texts:
            await self.get(text, sample_rate_hz)
