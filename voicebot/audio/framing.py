"""Cut a stream of PCM bytes into whole 20 ms frames."""

from __future__ import annotations

from collections.abc import Iterator

from voicebot.audio.frame import FRAME_MS, AudioFrame, frame_bytes


class Framer:
    """Accumulates PCM and yields whole frames; keeps the remainder for the next push.

    Timestamps count from the first byte pushed, so they stay exact across pushes.
    """

    def __init__(self, sample_rate_hz: int, frame_ms: int = FRAME_MS) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.frame_ms = frame_ms
        self.frame_size = frame_bytes(sample_rate_hz, frame_ms)
        self._buffer = bytearray()
        self._frames_out = 0

    def push(self, pcm: bytes) -> Iterator[AudioFrame]:
        self._buffer.extend(pcm)
        while len(self._buffer) >= self.frame_size:
            chunk = bytes(self._buffer[: self.frame_size])
            del self._buffer[: self.frame_size]
            yield AudioFrame(
                chunk, self.sample_rate_hz, timestamp_ms=self._frames_out * self.frame_ms
            )
            self._frames_out += 1

    def flush(self, pad: bool = True) -> Iterator[AudioFrame]:
        """Yield what remains: padded with silence to a whole frame, or dropped."""
        if self._buffer and pad:
            self._buffer.extend(b"\x00" * (self.frame_size - len(self._buffer)))
            yield from self.push(b"")
        self._buffer.clear()

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer)
