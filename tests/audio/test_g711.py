import numpy as np
import pytest

from voicebot.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

ALL = np.arange(-32768, 32768, dtype=np.int32)
CODECS = {"ulaw": (ulaw_encode, ulaw_decode), "alaw": (alaw_encode, alaw_decode)}


@pytest.mark.parametrize("name", CODECS)
def test_round_trip_stays_within_the_codec_error(name: str) -> None:
    encode, decode = CODECS[name]
    pcm = ALL.astype("<i2").tobytes()
    coded = encode(pcm)
    assert len(coded) == len(ALL)  # one byte a sample
    back = np.frombuffer(decode(coded), dtype="<i2").astype(np.int32)
    error = np.abs(back - ALL)
    loud = np.abs(ALL) >= 256
    # 8-bit companding: a 4-bit mantissa per segment, so the relative error of a
    # loud sample stays under about 1/16, and a quiet one under a small step.
    assert (error[loud] / np.abs(ALL[loud])).max() < 1 / 16
    assert error[~loud].max() <= 16


@pytest.mark.parametrize(
    ("name", "sample", "code"),
    [
        ("ulaw", 0, 0xFF),
        ("ulaw", 32767, 0x80),
        ("ulaw", -32768, 0x00),
        ("alaw", 0, 0xD5),
        ("alaw", 32767, 0xAA),
        ("alaw", -32768, 0x2A),
    ],
)
def test_reference_code_points(name: str, sample: int, code: int) -> None:
    encode, _ = CODECS[name]
    assert encode(np.array([sample], dtype="<i2").tobytes()) == bytes([code])


@pytest.mark.parametrize("name", CODECS)
def test_decode_is_monotonic_over_each_sign(name: str) -> None:
    _, decode = CODECS[name]
    values = np.frombuffer(decode(bytes(range(256))), dtype="<i2")
    assert len(set(values.tolist())) >= 254  # nearly every code has its own level
    assert values.min() < -30000 and values.max() > 30000
