"""The one audio value passed between stages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voicebot.errors import AudioError

FRAME_MS = 20
SAMPLE_WIDTH_BYTES = 2


def frame_bytes(sample_rate_hz: int, frame_ms: int = FRAME_MS) -> int:
    """Bytes in one frame of 16-bit mono PCM (640 for 20 ms at 16 kHz)."""
    return sample_rate_hz * frame_ms // 1000 * SAMPLE_WIDTH_BYTES


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """A piece of 16-bit little-endian PCM with its format and its place in time."""

    pcm: bytes
    sample_rate_hz: int
    sample_width: int = SAMPLE_WIDTH_BYTES
    channels: int = 1
    timestamp_ms: int = 0

    def __post_init__(self) -> None:
        if self.sample_width != SAMPLE_WIDTH_BYTES or self.channels != 1:
            raise AudioError(
                f"format audio interne non pris en charge ({self.sample_width * 8} bits, "
                f"{self.channels} canaux)",
                hint="convertissez en PCM 16 bits mono",
            )
        if len(self.pcm) % SAMPLE_WIDTH_BYTES:
            raise AudioError(
                f"trame PCM de {len(self.pcm)} octets : nombre impair",
                hint="chaque échantillon fait 2 octets",
            )

    @property
    def samples(self) -> int:
        return len(self.pcm) // SAMPLE_WIDTH_BYTES

    @property
    def duration_ms(self) -> float:
        return 1000.0 * self.samples / self.sample_rate_hz

    def to_array(self) -> npt.NDArray[np.int16]:
        return np.frombuffer(self.pcm, dtype="<i2")

    @classmethod
    def from_array(
        cls, samples: npt.NDArray[np.generic], sample_rate_hz: int, timestamp_ms: int = 0
    ) -> AudioFrame:
        """Build a frame from int16 samples, or floats in [-1, 1] (clipped)."""
        if np.issubdtype(samples.dtype, np.floating):
            scaled = np.clip(samples, -1.0, 1.0) * 32767.0
            data = np.round(scaled).astype("<i2")
        else:
            data = samples.astype("<i2")
        return cls(data.tobytes(), sample_rate_hz, timestamp_ms=timestamp_ms)
