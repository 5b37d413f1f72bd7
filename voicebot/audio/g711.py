"""G.711 mu-law and A-law (ITU-T G.711), vectorised with lookup tables.

Decoding is a 256-entry table. Encoding is a 65536-entry table indexed by the
16-bit sample, built once at import from the reference bit-level algorithm.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_BIAS = 0x84
_CLIP_14 = 8159
_ULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def _ulaw_encode_reference(sample: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    # Works on the 14-bit value, as the ITU reference code does.
    value = sample >> 2
    mask = np.where(value < 0, 0x7F, 0xFF)
    value = np.minimum(np.abs(value), _CLIP_14) + (_BIAS >> 2)
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, value)
    code = (segment << 4) | ((value >> (segment + 1)) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return ((code ^ mask) & 0xFF).astype(np.uint8)


def _ulaw_decode_reference(code: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]:
    code = ~code & 0xFF
    sign = code & 0x80
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = ((mantissa << 3) + _BIAS) << exponent
    value = np.where(sign != 0, _BIAS - magnitude, magnitude - _BIAS)
    return value.astype(np.int16)


def _alaw_encode_reference(sample: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    sign = np.where(sample >= 0, 0x80, 0x00)
    magnitude = np.minimum(np.where(sample >= 0, sample, -sample - 1), 32767) >> 3
    exponent = np.where(
        magnitude >= 0x20, np.floor(np.log2(np.maximum(magnitude, 1))).astype(np.int32) - 4, 0
    )
    exponent = np.clip(exponent, 0, 7)
    mantissa = np.where(exponent == 0, magnitude >> 1, magnitude >> exponent) & 0x0F
    code: npt.NDArray[np.uint8] = ((sign | (exponent << 4) | mantissa) ^ 0x55).astype(np.uint8)
    return code


def _alaw_decode_reference(code: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]:
    code = code ^ 0x55
    sign = code & 0x80
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = np.where(
        exponent == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
    )
    value = np.where(sign != 0, magnitude, -magnitude)
    return value.astype(np.int16)


_ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int32)
_ALL_CODES = np.arange(256, dtype=np.int32)
_ULAW_ENCODE = _ulaw_encode_reference(_ALL_SAMPLES)
_ALAW_ENCODE = _alaw_encode_reference(_ALL_SAMPLES)
_ULAW_DECODE = _ulaw_decode_reference(_ALL_CODES).astype("<i2")
_ALAW_DECODE = _alaw_decode_reference(_ALL_CODES).astype("<i2")


def _pcm_index(pcm: bytes) -> npt.NDArray[np.int32]:
    return np.frombuffer(pcm, dtype="<i2").astype(np.int32) + 32768


def ulaw_encode(pcm: bytes) -> bytes:
    """16-bit little-endian PCM to mu-law bytes (one byte a sample)."""
    return _ULAW_ENCODE[_pcm_index(pcm)].tobytes()


def ulaw_decode(data: bytes) -> bytes:
    """Mu-law bytes to 16-bit little-endian PCM."""
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)].tobytes()


def alaw_encode(pcm: bytes) -> bytes:
    """16-bit little-endian PCM to A-law bytes (one byte a sample)."""
    return _ALAW_ENCODE[_pcm_index(pcm)].tobytes()


def alaw_decode(data: bytes) -> bytes:
    """A-law bytes to 16-bit little-endian PCM."""
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)].tobytes()
