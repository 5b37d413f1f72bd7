"""Is the caller speaking in this 20 ms frame? Two detectors behind one gate.

- ``silero`` (default): the Silero VAD network (ONNX, on the onnxruntime the
  project already has), native at 8 and 16 kHz, about 0.1 ms a 32 ms chunk.
  Trained on speech: steady noise, hum and clicks score low.
- ``energy``: level against the background. Kept as the fallback and as the
  baseline ``voicebot bench turns`` measures against.

Both pass through the same level gate: a frame is voiced only when it also
stands clearly above the background, which a minimum-statistics tracker
learns from every frame (the quietest moments of the last seconds), so a
steady street or car noise raises the floor instead of sounding like speech
forever. The timing (when speech starts, is confirmed, ends) is decided by
:mod:`voicebot.calls.turns`, from these per-frame decisions.
"""

from __future__ import annotations

import importlib.util
import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voicebot.audio.frame import AudioFrame
from voicebot.errors import ModelError

SILENCE_DBFS = -90.0
SILERO_PACKAGE = "silero_vad"
SILERO_INSTALL = "pip install --no-deps silero-vad==6.2.3"
_SILERO_CHUNK = {8000: 256, 16000: 512}
_SILERO_CONTEXT = {8000: 32, 16000: 64}


def level_dbfs(samples: np.ndarray[Any, Any]) -> float:
    """RMS level of int16 samples in dBFS (full scale 32768)."""
    if not len(samples):
        return SILENCE_DBFS
    values = samples.astype(np.float64)
    rms = math.sqrt(float(np.mean(values * values)))
    return max(SILENCE_DBFS, 20.0 * math.log10(max(rms, 1e-9) / 32768.0))


@dataclass(frozen=True)
class VadSettings:
    threshold: float = 0.5
    """Speech probability above which a frame may be speech."""
    margin_db: float = 10.0
    """How far above the background a voiced frame must stand."""
    min_dbfs: float = -55.0
    """Never voiced below this level, whatever the background."""
    floor_window_ms: int = 2000
    """The background is the quietest moment of this window."""


class SpeechDetector(Protocol):
    """Per-frame speech probability, one instance per call (it keeps state)."""

    def probability(self, samples: np.ndarray[Any, Any]) -> float: ...

    def reset(self) -> None: ...


class EnergyDetector:
    """Level only: every frame loud enough is 'speech' (the gate decides how loud)."""

    def probability(self, samples: np.ndarray[Any, Any]) -> float:
        return 1.0

    def reset(self) -> None:
        return None


class SileroModel:
    """The Silero VAD network, loaded once per process and shared by the calls."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(
                f"modèle Silero VAD illisible ({path}) : {exc}",
                hint=f"réinstallez-le ({SILERO_INSTALL}) ou choisissez VOICEBOT_VAD=energy",
            ) from exc
        self.path = path

    @classmethod
    def load(cls, path: Path | None = None) -> SileroModel:
        return cls(path or find_silero_model())

    def detector(self, sample_rate_hz: int) -> SileroDetector:
        return SileroDetector(self, sample_rate_hz)


def find_silero_model() -> Path:
    """The ONNX file the ``silero-vad`` wheel ships (found without importing the package,
    which would import torch)."""
    spec = importlib.util.find_spec(SILERO_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / "data" / "silero_vad.onnx"
        if path.is_file():
            return path
    raise ModelError(
        "modèle Silero VAD introuvable (paquet silero-vad absent)",
        hint=f"installez-le ({SILERO_INSTALL}), indiquez VOICEBOT_VAD_MODEL=chemin/silero_vad.onnx "
        "ou choisissez VOICEBOT_VAD=energy",
    )


class SileroDetector:
    """One call's Silero state; 20 ms frames are gathered into the network's chunks
    (32 ms), and each frame gets the probability of the latest chunk."""

    def __init__(self, model: SileroModel, sample_rate_hz: int) -> None:
        if sample_rate_hz not in _SILERO_CHUNK:
            raise ModelError(
                f"Silero VAD attend 8000 ou 16000 Hz, pas {sample_rate_hz} Hz",
                hint="rééchantillonnez l'audio de l'appel",
            )
        self.model = model
        self.sample_rate_hz = sample_rate_hz
        self._chunk = _SILERO_CHUNK[sample_rate_hz]
        self._context_size = _SILERO_CONTEXT[sample_rate_hz]
        self._rate = np.array(sample_rate_hz, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, self._context_size), dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._last = 0.0

    def probability(self, samples: np.ndarray[Any, Any]) -> float:
        self._pending = np.concatenate([self._pending, samples.astype(np.float32) / 32768.0])
        while len(self._pending) >= self._chunk:
            chunk = self._pending[: self._chunk].reshape(1, -1)
            self._pending = self._pending[self._chunk :]
            window = np.concatenate([self._context, chunk], axis=1)
            out, self._state = self.model.session.run(
                None, {"input": window, "state": self._state, "sr": self._rate}
            )
            self._context = chunk[:, -self._context_size :]
            self._last = float(out[0][0])
        return self._last


class NoiseFloor:
    """Minimum statistics: the background is the quietest (lightly smoothed) level of the
    last seconds, learnt from every frame, speech included (speech has gaps)."""

    def __init__(self, window_frames: int, initial_dbfs: float = -70.0) -> None:
        self._levels: deque[float] = deque(maxlen=max(1, window_frames))
        self._smoothed: float | None = None
        self.initial_dbfs = initial_dbfs

    def push(self, level: float) -> None:
        self._smoothed = level if self._smoothed is None else 0.6 * self._smoothed + 0.4 * level
        self._levels.append(self._smoothed)

    @property
    def dbfs(self) -> float:
        return min(self._levels) if self._levels else self.initial_dbfs


@dataclass(frozen=True, slots=True)
class FrameVoice:
    voiced: bool
    probability: float
    level_dbfs: float
    floor_dbfs: float


class VoiceGate:
    """One call's voice decision per frame: the detector's probability and the level gate."""

    def __init__(
        self,
        detector: SpeechDetector,
        settings: VadSettings | None = None,
        frame_ms: int = 20,
    ) -> None:
        self.detector = detector
        self.settings = settings or VadSettings()
        self.floor = NoiseFloor(self.settings.floor_window_ms // frame_ms)

    def push(
        self, frame: AudioFrame | np.ndarray[Any, Any], echo_floor_dbfs: float = SILENCE_DBFS
    ) -> FrameVoice:
        """``echo_floor_dbfs``: what the echo guard says the bot's own voice may still
        account for (the frame must stand above it too)."""
        samples = frame.to_array() if isinstance(frame, AudioFrame) else frame
        level = level_dbfs(samples)
        self.floor.push(level)
        floor = self.floor.dbfs
        probability = self.detector.probability(samples)
        needed = max(floor + self.settings.margin_db, self.settings.min_dbfs, echo_floor_dbfs)
        loud = level >= needed
        voiced = loud and probability >= self.settings.threshold
        return FrameVoice(voiced, probability, level, floor)


def new_gate(sample_rate_hz: int, silero: SileroModel | None) -> VoiceGate:
    """The gate for one call: Silero when the process loaded it, else the energy one."""
    if silero is not None:
        return VoiceGate(silero.detector(sample_rate_hz))
    return VoiceGate(EnergyDetector(), VadSettings(margin_db=12.0, min_dbfs=-48.0))
