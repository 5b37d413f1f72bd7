"""Voice activity detection and endpointing on 20 ms frames.

Energy against an adaptive noise floor: a frame is voiced when it stands
clearly above the background the detector has learned; speech starts after a
few voiced frames (so a click is not speech) and ends after a run of quiet
frames (the endpoint). Cheap enough to run on the event loop for every frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from voicebot.audio.frame import AudioFrame

_FLOOR_DBFS = -70.0


class VadEvent(Enum):
    SPEECH_START = "speech_start"
    SPEECH_END = "speech_end"


@dataclass
class VadSettings:
    start_ms: int = 60
    """Voiced time before speech is declared (barge-in reacts this fast)."""
    end_ms: int = 550
    """Quiet time after speech that ends the caller's turn."""
    margin_db: float = 12.0
    """How far above the noise floor a voiced frame must be."""
    min_dbfs: float = -48.0
    """Never voiced below this level, whatever the floor."""


def level_dbfs(frame: AudioFrame) -> float:
    samples = frame.to_array().astype(np.float64)
    if not len(samples):
        return _FLOOR_DBFS
    rms = math.sqrt(float(np.mean(samples * samples)))
    return max(_FLOOR_DBFS, 20.0 * math.log10(max(rms, 1e-9) / 32768.0))


class VoiceActivityDetector:
    def __init__(self, settings: VadSettings | None = None, frame_ms: int = 20) -> None:
        self.settings = settings or VadSettings()
        self.frame_ms = frame_ms
        self.noise_dbfs = -60.0
        self.in_speech = False
        self._voiced_ms = 0
        self._quiet_ms = 0

    @property
    def quiet_ms(self) -> int:
        """Quiet time since the last voiced frame, during speech."""
        return self._quiet_ms if self.in_speech else 0

    def reset(self) -> None:
        self.in_speech = False
        self._voiced_ms = 0
        self._quiet_ms = 0

    def voiced(self, level: float) -> bool:
        threshold = max(self.noise_dbfs + self.settings.margin_db, self.settings.min_dbfs)
        return level > threshold

    def push(self, frame: AudioFrame) -> VadEvent | None:
        level = level_dbfs(frame)
        voiced = self.voiced(level)
        if not voiced:
            # Learn the background slowly, and only from frames that are not speech.
            self.noise_dbfs += 0.05 * (level - self.noise_dbfs)
        if not self.in_speech:
            self._voiced_ms = self._voiced_ms + self.frame_ms if voiced else 0
            if self._voiced_ms >= self.settings.start_ms:
                self.in_speech = True
                self._quiet_ms = 0
                return VadEvent.SPEECH_START
            return None
        self._quiet_ms = 0 if voiced else self._quiet_ms + self.frame_ms
        if self._quiet_ms >= self.settings.end_ms:
            self.in_speech = False
            self._voiced_ms = 0
            return VadEvent.SPEECH_END
        return None
