"""Echo guard: what comes back of the bot's own voice is not the caller speaking.

Phone lines return an attenuated, delayed copy of what the bot says (the
hybrid, the handset, a speakerphone), and nothing in the path cancels it.
The bot knows what it sends, so each inbound frame is checked against that
reference:

- Outbound audio is placed on the inbound timeline as Asterisk plays it: a
  prompt starts when it is sent (or after what is still queued) and plays at
  real-time pace; a flush drops what was queued.
- Every ``estimate_every_ms`` while the bot's voice is on the line, the
  delay and gain of the echo are estimated by normalised cross-correlation
  of the recent inbound audio with the reference (0 to ``max_delay_ms``).
  Only a clear match (correlation above ``min_correlation``) updates them,
  so double talk (caller and echo at once) does not corrupt the estimate.
- Once the echo path is known its prediction is subtracted: the residual is
  what the caller adds. A prompt that starts after a silence may come back
  with another delay (the transport's buffering moved): until its own echo
  is matched, the level the return loss allows holds as well.
- Before the path is known, or when the echo does not match any delay (a
  non-linear path), the loudest reference that could be echoing
  now, minus the echo return loss measured on this line (0 dB until
  measured: only speech louder than the bot's own voice counts), gives the
  level a frame must exceed.

The guard returns the residual and ``echo_floor_dbfs``: the level below which
the residual is still explained by the bot's voice. The voice gate treats
that floor like the background noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from voicebot.audio.vad import SILENCE_DBFS, level_dbfs

_ACTIVE_DBFS = -50.0
"""Reference quieter than this cannot produce an echo worth guarding against."""


@dataclass(frozen=True)
class EchoSettings:
    max_delay_ms: int = 300
    """Longest echo delay searched (line round trip plus the transport's buffering)."""
    window_ms: int = 400
    """Inbound audio compared with the reference at each estimate."""
    estimate_every_ms: int = 100
    min_correlation: float = 0.5
    residual_margin_db: float = 12.0
    """After cancellation, the residual must stand this far above the echo's
    expected leftovers (the prediction's level minus this margin)."""
    unknown_margin_db: float = 3.0
    """Without a known echo path: how far above (reference - return loss) a frame must be."""


@dataclass(frozen=True, slots=True)
class EchoCheck:
    residual: np.ndarray[Any, Any]
    """Inbound samples minus the predicted echo (int16)."""
    echo_floor_dbfs: float
    """Below this level the residual is still the bot's own voice."""


class EchoGuard:
    def __init__(self, sample_rate_hz: int, settings: EchoSettings | None = None) -> None:
        self.settings = settings or EchoSettings()
        self.rate_hz = sample_rate_hz
        self._max_delay = sample_rate_hz * self.settings.max_delay_ms // 1000
        self._window = sample_rate_hz * self.settings.window_ms // 1000
        self._every = sample_rate_hz * self.settings.estimate_every_ms // 1000
        self._in_pos = 0
        """Samples of inbound audio processed: the timeline's present."""
        self._play_end = 0
        """Where the reference queued toward the caller ends on that timeline."""
        self._ref = np.zeros(0, dtype=np.float32)
        self._ref_base = 0
        self._inbound = np.zeros(0, dtype=np.float32)
        self._since_estimate = 0
        self.delay_samples: int | None = None
        self._delay_current = False
        """The delay was measured on the prompt playing now (a new prompt after a silence
        may come back with another delay: the transport's buffering changed)."""
        self.gain = 0.0
        self.correlation = 0.0
        self.return_loss_db = 0.0
        """Echo return loss measured on this line (how much quieter the echo is)."""

    # ------------------------------------------------------------ outbound reference
    def sent(self, pcm: bytes) -> None:
        """Bot audio sent toward the caller (plays after what is still queued)."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        if not self.playing:
            self._delay_current = False
        start = max(self._play_end, self._in_pos)
        self._place(start, samples)
        self._play_end = start + len(samples)

    def flushed(self) -> None:
        """The transport dropped what was queued: nothing after now will play."""
        keep = max(0, self._in_pos - self._ref_base)
        self._ref = self._ref[:keep]
        self._play_end = self._in_pos

    @property
    def playing(self) -> bool:
        """Bot audio is still queued or playing, or its echo may still come back."""
        return self._in_pos < self._play_end + self._max_delay

    def _place(self, start: int, samples: np.ndarray[Any, Any]) -> None:
        end = start + len(samples)
        needed = end - self._ref_base
        if needed > len(self._ref):
            # Grown by half again at least: a long answer sent frame by frame is not copied
            # whole at every frame (the zeros past what was sent are silence, as they are).
            grown = np.zeros(max(needed, len(self._ref) * 3 // 2), np.float32)
            grown[: len(self._ref)] = self._ref
            self._ref = grown
        self._ref[start - self._ref_base : end - self._ref_base] = samples

    def _reference(self, start: int, end: int) -> np.ndarray[Any, Any]:
        """Reference samples on [start, end) of the timeline, zeros where nothing played."""
        out = np.zeros(max(0, end - start), dtype=np.float32)
        lo = max(start, self._ref_base)
        hi = min(end, self._ref_base + len(self._ref))
        if hi > lo:
            out[lo - start : hi - start] = self._ref[lo - self._ref_base : hi - self._ref_base]
        return out

    # ------------------------------------------------------------ inbound
    def process(self, samples: np.ndarray[Any, Any]) -> EchoCheck:
        """Check one inbound frame (int16 samples); advances the timeline."""
        start = self._in_pos
        count = len(samples)
        self._in_pos += count
        inbound = samples.astype(np.float32)
        self._inbound = np.concatenate([self._inbound, inbound])[-self._window :]
        self._trim()
        recent = self._reference(start - self._max_delay, start + count)
        if level_dbfs(recent) < _ACTIVE_DBFS:
            return EchoCheck(samples, SILENCE_DBFS)
        self._since_estimate += count
        if self._since_estimate >= self._every:
            self._since_estimate = 0
            self._estimate()
        return self._check(start, inbound, recent)

    def _check(
        self, start: int, inbound: np.ndarray[Any, Any], recent: np.ndarray[Any, Any]
    ) -> EchoCheck:
        frame = self.rate_hz // 50
        levels = _frame_levels(recent, frame)
        loudest = float(levels.max()) if len(levels) else level_dbfs(recent)
        unknown_floor = loudest - self.return_loss_db + self.settings.unknown_margin_db
        if self.delay_samples is None:
            return EchoCheck(inbound.astype(np.int16), unknown_floor)
        d = self.delay_samples
        predicted = self.gain * self._reference(start - d, start + len(inbound) - d)
        residual = np.clip(inbound - predicted, -32768, 32767).astype(np.int16)
        predicted_level = level_dbfs(predicted)
        floor = predicted_level - self.settings.residual_margin_db
        if predicted_level <= SILENCE_DBFS:
            floor = SILENCE_DBFS
        elif not self._delay_current:
            # Until this prompt's echo is matched again, a misaligned subtraction leaves
            # the echo whole: the level the line's return loss allows holds as well.
            floor = max(floor, unknown_floor)
        return EchoCheck(residual, floor)

    def _estimate(self) -> None:
        """Delay and gain of the echo from the last window (kept unless the match is clear)."""
        x = self._inbound
        n = len(x)
        if n < self._window // 2:
            return
        end = self._in_pos
        ref = self._reference(end - n - self._max_delay, end)
        if level_dbfs(ref) < _ACTIVE_DBFS:
            return
        self._measure_return_loss(x, ref[-n:])
        size = 1 << math.ceil(math.log2(len(ref) + n))
        spectrum = np.fft.rfft(ref, size) * np.conj(np.fft.rfft(x, size))
        full = np.fft.irfft(spectrum, size)
        # full[k] = sum x[i] * ref[i + k]; lag d pairs x[i] with ref[i + max_delay - d].
        lags = full[self._max_delay - np.arange(self._max_delay + 1)]
        squares = np.concatenate([[0.0], np.cumsum(ref.astype(np.float64) ** 2)])
        offsets = self._max_delay - np.arange(self._max_delay + 1)
        ref_energy = squares[offsets + n] - squares[offsets]
        x_energy = float(np.dot(x, x))
        if x_energy <= 0:
            return
        norm = np.sqrt(np.maximum(ref_energy, 1e-9) * x_energy)
        correlation = lags / norm
        best = int(np.argmax(correlation))
        if correlation[best] < self.settings.min_correlation or ref_energy[best] <= 0:
            return
        self.correlation = float(correlation[best])
        self.delay_samples = best
        self._delay_current = True
        self.gain = float(lags[best] / ref_energy[best])
        self.return_loss_db = max(self.return_loss_db, -20.0 * math.log10(max(self.gain, 1e-6)))

    def _measure_return_loss(self, x: np.ndarray[Any, Any], ref: np.ndarray[Any, Any]) -> None:
        """A window with the bot speaking throughout: the inbound is at most echo plus
        whatever the caller adds, so (reference - inbound) bounds the return loss from
        below; the largest bound seen is kept."""
        frame = self.rate_hz // 50
        voiced = int(np.count_nonzero(_frame_levels(ref, frame) > _ACTIVE_DBFS))
        if voiced * frame < 0.8 * len(ref):
            return
        bound = level_dbfs(ref) - level_dbfs(x)
        self.return_loss_db = max(self.return_loss_db, bound)

    def _trim(self) -> None:
        keep_from = self._in_pos - self._window - self._max_delay * 2
        drop = keep_from - self._ref_base
        if drop > self.rate_hz:  # trim in one-second steps
            self._ref = self._ref[drop:]
            self._ref_base += drop


def _frame_levels(samples: np.ndarray[Any, Any], frame: int) -> np.ndarray[Any, Any]:
    """Level in dBFS of each whole frame of ``samples``."""
    count = len(samples) // frame
    if not count:
        return np.zeros(0)
    blocks = samples[: count * frame].astype(np.float64).reshape(count, frame)
    rms = np.sqrt(np.mean(blocks * blocks, axis=1))
    levels: np.ndarray[Any, Any] = np.maximum(
        SILENCE_DBFS, 20.0 * np.log10(np.maximum(rms, 1e-9) / 32768.0)
    )
    return levels
