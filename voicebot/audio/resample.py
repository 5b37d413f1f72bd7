"""Sample-rate conversion with soxr (high quality; no aliasing, unlike linear or audioop)."""

from __future__ import annotations

import numpy as np
import soxr

from voicebot.errors import AudioError

SUPPORTED_RATES_HZ = (8000, 16000, 22050, 24000, 44100, 48000)


def _check_rate(rate_hz: int) -> None:
    if rate_hz not in SUPPORTED_RATES_HZ:
        rates = ", ".join(str(r) for r in SUPPORTED_RATES_HZ)
        raise AudioError(
            f"fréquence d'échantillonnage {rate_hz} Hz non prise en charge",
            hint=f"utilisez l'une de : {rates}",
        )


def resample(pcm: bytes, from_rate_hz: int, to_rate_hz: int) -> bytes:
    """Resample a whole buffer of 16-bit mono PCM."""
    _check_rate(from_rate_hz)
    _check_rate(to_rate_hz)
    if from_rate_hz == to_rate_hz or not pcm:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2")
    out = soxr.resample(samples, from_rate_hz, to_rate_hz, quality="HQ")
    return np.asarray(out, dtype="<i2").tobytes()
