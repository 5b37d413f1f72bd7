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
forever. Voices behind the caller (a hall, a café) rise and fall far above
that floor, and the detector rightly hears speech in them: a frame must also
stand above how loud the line usually is when the caller is not talking
(:class:`BackgroundLevel`), as a caller close to the phone does. Within the
caller's turn the gate holds (hysteresis): a lower probability and margin
keep the soft syllables of a sentence voiced. The timing (when speech
starts, is confirmed, ends) is decided by :mod:`voicebot.calls.turns`.
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
    count = len(samples)
    if not count:
        return SILENCE_DBFS
    values = samples.astype(np.float64, copy=False)
    rms = math.sqrt(float(np.dot(values, values)) / count)
    return max(SILENCE_DBFS, 20.0 * math.log10(max(rms, 1e-9) / 32768.0))


@dataclass(frozen=True)
class VadSettings:
    threshold: float = 0.5
    """Speech probability above which a frame may be speech."""
    margin_db: float = 10.0
    """How far above the background a voiced frame must stand."""
    hold_threshold: float = 0.35
    """Within the caller's turn, the probability that keeps a frame voiced (hysteresis:
    the weak syllables inside a sentence are not silence)."""
    hold_margin_db: float = 6.0
    """Within the caller's turn, how far above the quietest background a frame keeps
    voiced (in noise, a soft consonant is a few dB above it)."""
    min_dbfs: float = -55.0
    """Never voiced below this level, whatever the background."""
    floor_window_ms: int = 2000
    """The background is the quietest moment of this window."""
    background_margin_db: float = 6.0
    """How far above the loud moments of the background (voices behind the caller) a
    voiced frame must stand."""
    background_window_ms: int = 3000
    """The background's loud moments are learnt over this much line outside the caller's
    turns."""
    skip_below_db: float = 10.0
    """A frame this far below what a voiced frame needs is not given to the detector
    (it could not be voiced anyway)."""
    skip_reset_ms: int = 300
    """After this long without giving it a frame, the detector starts afresh."""
    background_delay_ms: int = 200
    """A frame is learnt as background only this long after it came, once no turn of
    the caller has begun on it: the first syllables, heard before the turn opens, are
    the caller's voice, not the line's."""


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


def percentile(values: list[float], percent: float) -> float:
    """As ``numpy.percentile`` (linear interpolation), in plain Python: for the few hundred
    values of a frame's decision, several times faster."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * percent / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class BackgroundLevel:
    """How loud the line is when nobody talks to the bot: the 90th percentile of the
    frame levels of the last seconds outside the caller's turns. A steady noise sits
    just above its quietest moment; a babble of voices far behind the caller peaks 8
    to 10 dB above it, still well below a caller close to the phone.

    While the bot speaks, what is left of its echo counts too (no babble interrupts a
    prompt); once it is quiet, only the line without echo does, so that the caller's
    answer right after a prompt is not held to the echo's level. Unknown (silent)
    until half a second of line is learnt."""

    PERCENTILE = 90
    MIN_FRAMES = 25

    def __init__(self, window_frames: int) -> None:
        size = max(self.MIN_FRAMES, window_frames)
        self._line: deque[float] = deque(maxlen=size)
        self._echo: deque[float] = deque(maxlen=size)
        self._in_echo = False
        self._dbfs = SILENCE_DBFS
        self._stale = True

    def push(self, level: float, echo: bool = False) -> None:
        """A frame outside the caller's turns; ``echo``: the bot's voice may be in it."""
        if echo:
            self._echo.append(level)
        else:
            self._line.append(level)
            if self._in_echo:
                self._echo.clear()  # the echo is over: the line is what it was
        self._in_echo = echo
        self._stale = True

    @property
    def dbfs(self) -> float:
        if self._stale:  # recomputed when asked, at most once a frame
            levels = [*self._line, *self._echo] if self._in_echo else list(self._line)
            self._dbfs = (
                percentile(levels, self.PERCENTILE)
                if len(levels) >= self.MIN_FRAMES
                else SILENCE_DBFS
            )
            self._stale = False
        return self._dbfs


@dataclass(frozen=True, slots=True)
class FrameVoice:
    voiced: bool
    probability: float
    level_dbfs: float
    floor_dbfs: float
    background_dbfs: float = SILENCE_DBFS


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
        self.background = BackgroundLevel(self.settings.background_window_ms // frame_ms)
        self._unlearnt: deque[tuple[float, bool]] = deque()
        self._learn_after = self.settings.background_delay_ms // frame_ms
        self._skipped = 0
        self._reset_after = max(1, self.settings.skip_reset_ms // frame_ms)

    def push(
        self,
        frame: AudioFrame | np.ndarray[Any, Any],
        echo_floor_dbfs: float = SILENCE_DBFS,
        caller_turn: bool = False,
    ) -> FrameVoice:
        """``echo_floor_dbfs``: what the echo guard says the bot's own voice may still
        account for (the frame must stand above it too). ``caller_turn``: the caller may
        be talking now: the frame is not learnt as background, and the gate holds (a
        lower probability and margin keep it voiced)."""
        samples = frame.to_array() if isinstance(frame, AudioFrame) else frame
        level = level_dbfs(samples)
        self.floor.push(level)
        floor = self.floor.dbfs
        background = self.background.dbfs
        if caller_turn:
            self._unlearnt.clear()  # the frames that opened the turn were the caller's
        else:
            self._unlearnt.append((level, echo_floor_dbfs > SILENCE_DBFS))
            while len(self._unlearnt) > self._learn_after:
                heard, echo = self._unlearnt.popleft()
                self.background.push(heard, echo=echo)
        settings = self.settings
        margin = settings.hold_margin_db if caller_turn else settings.margin_db
        threshold = settings.hold_threshold if caller_turn else settings.threshold
        needed = max(
            floor + margin,
            background + settings.background_margin_db,
            settings.min_dbfs,
            echo_floor_dbfs,
        )
        loud = level >= needed
        if level < needed - settings.skip_below_db:
            # Far too quiet to be the caller: the network's time is saved (most of a call
            # is the caller listening). After a while its memory of the last sound goes.
            self._skipped += 1
            if self._skipped == self._reset_after:
                self.detector.reset()
            return FrameVoice(False, 0.0, level, floor, background)
        self._skipped = 0
        probability = self.detector.probability(samples)
        voiced = loud and probability >= threshold
        return FrameVoice(voiced, probability, level, floor, background)


def new_gate(sample_rate_hz: int, silero: SileroModel | None) -> VoiceGate:
    """The gate for one call: Silero when the process loaded it, else the energy one."""
    if silero is not None:
        return VoiceGate(silero.detector(sample_rate_hz))
    return VoiceGate(
        EnergyDetector(), VadSettings(margin_db=12.0, hold_margin_db=8.0, min_dbfs=-48.0)
    )
