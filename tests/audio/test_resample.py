import numpy as np
import pytest

from voicebot.audio.resample import resample
from voicebot.errors import AudioError

RATES = (8000, 16000, 22050, 48000)


def tone(freq_hz: float, rate_hz: int, seconds: float = 1.0) -> bytes:
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    return (0.5 * np.sin(2 * np.pi * freq_hz * t) * 32767).astype("<i2").tobytes()


def peak_hz(pcm: bytes, rate_hz: int) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate_hz / len(x))


@pytest.mark.parametrize("src", RATES)
@pytest.mark.parametrize("dst", RATES)
def test_resampled_tone_keeps_its_frequency_and_length(src: int, dst: int) -> None:
    out = resample(tone(1000.0, src), src, dst)
    assert abs(len(out) / 2 - dst) <= 2
    assert abs(peak_hz(out, dst) - 1000.0) < 3.0


def test_downsampling_removes_what_the_target_rate_cannot_carry() -> None:
    # 6 kHz cannot exist at 8 kHz: a good resampler filters it, a naive one folds it to 2 kHz.
    out = np.frombuffer(resample(tone(6000.0, 48000), 48000, 8000), dtype="<i2")
    assert np.sqrt(np.mean(out.astype(np.float64) ** 2)) < 200


def test_unsupported_rate_is_a_clear_error() -> None:
    with pytest.raises(AudioError, match="11025 Hz non prise en charge"):
        resample(b"\x00\x00" * 10, 11025, 16000)
