import wave
from pathlib import Path

import numpy as np
import pytest

from voicebot.audio.frame import AudioFrame
from voicebot.audio.g711 import ulaw_encode
from voicebot.audio.wav import read_wav, write_wav
from voicebot.errors import AudioError


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    frame = AudioFrame.from_array(np.linspace(-0.5, 0.5, 800), 8000)
    write_wav(tmp_path / "a.wav", frame)
    back = read_wav(tmp_path / "a.wav")
    assert back.sample_rate_hz == 8000 and back.pcm == frame.pcm


def test_stereo_is_mixed_to_mono(tmp_path: Path) -> None:
    path = tmp_path / "s.wav"
    left = np.full(100, 1000, dtype="<i2")
    right = np.full(100, 3000, dtype="<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes(np.stack([left, right], axis=1).tobytes())
    frame = read_wav(path)
    assert frame.samples == 100 and set(frame.to_array().tolist()) == {2000}


def test_mulaw_wav_is_decoded(tmp_path: Path) -> None:
    pcm = (np.sin(np.arange(800) / 5) * 10000).astype("<i2")
    payload = ulaw_encode(pcm.tobytes())
    fmt = (7).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
    fmt += (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt
    body += b"data" + len(payload).to_bytes(4, "little") + payload
    (tmp_path / "u.wav").write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + body)
    frame = read_wav(tmp_path / "u.wav")
    assert np.abs(frame.to_array().astype(int) - pcm.astype(int)).max() < 700


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ID3\x03 not a wav at all", "n'est pas un fichier WAV"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", "sans bloc"),
    ],
)
def test_bad_files_get_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=message):
        read_wav(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="introuvable"):
        read_wav(tmp_path / "nope.wav")
