import pytest

from voicebot.audio import AudioFrame, Framer, frame_bytes
from voicebot.errors import AudioError


@pytest.mark.parametrize(("rate", "size"), [(8000, 320), (16000, 640), (48000, 1920)])
def test_frame_size_is_20ms(rate: int, size: int) -> None:
    assert frame_bytes(rate) == size


def test_framer_yields_whole_frames_across_uneven_pushes() -> None:
    framer = Framer(16000)
    frames = list(framer.push(b"\x01\x00" * 500)) + list(framer.push(b"\x02\x00" * 500))
    assert [len(f.pcm) for f in frames] == [640, 640, 640]
    assert [f.timestamp_ms for f in frames] == [0, 20, 40]
    assert framer.pending_bytes == 2000 - 3 * 640
    tail = list(framer.flush())
    assert len(tail) == 1 and len(tail[0].pcm) == 640 and tail[0].timestamp_ms == 60
    assert framer.pending_bytes == 0


def test_frame_refuses_an_odd_number_of_bytes() -> None:
    with pytest.raises(AudioError, match="nombre impair"):
        AudioFrame(b"\x00" * 3, 16000)


def test_frame_duration() -> None:
    assert AudioFrame(b"\x00" * 640, 16000).duration_ms == 20.0
