"""Read and write WAV files, with clear errors for what is not a usable WAV."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voicebot.audio.frame import AudioFrame
from voicebot.audio.g711 import alaw_decode, ulaw_decode
from voicebot.errors import AudioError

_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_ALAW = 6
_WAVE_FORMAT_MULAW = 7


def read_wav(path: Path) -> AudioFrame:
    """Read a WAV (PCM 8/16/24/32-bit, mu-law or A-law, any rate, mono or stereo) as mono 16-bit."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AudioError(f"fichier introuvable : {path}", hint="vérifiez le chemin") from None
    except (IsADirectoryError, PermissionError) as exc:
        raise AudioError(f"impossible de lire {path} : {exc.strerror}") from None
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError(
            f"{path} n'est pas un fichier WAV",
            hint="convertissez-le, par exemple : sox entree.mp3 -r 16000 -c 1 sortie.wav",
        )
    fmt_code, channels, rate_hz, bits = _parse_fmt(data, path)
    payload = _find_chunk(data, b"data", path)
    if channels < 1:
        raise AudioError(f"{path} : nombre de canaux invalide ({channels})")
    if fmt_code == _WAVE_FORMAT_MULAW:
        pcm = np.frombuffer(ulaw_decode(payload), dtype="<i2")
    elif fmt_code == _WAVE_FORMAT_ALAW:
        pcm = np.frombuffer(alaw_decode(payload), dtype="<i2")
    elif fmt_code in (_WAVE_FORMAT_PCM, 0xFFFE) and bits in (8, 16, 24, 32):
        pcm = _pcm_to_int16(payload, bits)
    else:
        raise AudioError(
            f"{path} : encodage WAV non pris en charge (format {fmt_code}, {bits} bits)",
            hint="convertissez en PCM 16 bits : sox entree.wav -b 16 sortie.wav",
        )
    usable = len(pcm) - len(pcm) % channels
    if usable == 0:
        raise AudioError(f"{path} ne contient aucun échantillon audio")
    frames = pcm[:usable].reshape(-1, channels).astype(np.int32)
    mono = frames.mean(axis=1).astype("<i2") if channels > 1 else frames[:, 0].astype("<i2")
    return AudioFrame(mono.tobytes(), rate_hz)


def write_wav(path: Path, frame: AudioFrame) -> None:
    """Write 16-bit mono PCM to a WAV file."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(frame.sample_rate_hz)
        out.writeframes(frame.pcm)


def _chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    found = []
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        start = offset + 8
        found.append((chunk_id, start, min(start + size, len(data))))
        offset = start + size + (size & 1)
    return found


def _find_chunk(data: bytes, name: bytes, path: Path) -> bytes:
    for chunk_id, start, end in _chunks(data):
        if chunk_id == name:
            return data[start:end]
    raise AudioError(
        f"{path} : WAV sans bloc « {name.decode()} » (fichier tronqué ?)",
        hint="réenregistrez ou reconvertissez le fichier",
    )


def _parse_fmt(data: bytes, path: Path) -> tuple[int, int, int, int]:
    fmt = _find_chunk(data, b"fmt ", path)
    if len(fmt) < 16:
        raise AudioError(f"{path} : en-tête WAV « fmt » trop court")
    fmt_code = int.from_bytes(fmt[0:2], "little")
    channels = int.from_bytes(fmt[2:4], "little")
    rate_hz = int.from_bytes(fmt[4:8], "little")
    bits = int.from_bytes(fmt[14:16], "little")
    if rate_hz <= 0:
        raise AudioError(f"{path} : fréquence d'échantillonnage invalide ({rate_hz} Hz)")
    return fmt_code, channels, rate_hz, bits


def _pcm_to_int16(payload: bytes, bits: int) -> npt.NDArray[np.int16]:
    width = bits // 8
    payload = payload[: len(payload) - len(payload) % width]
    if bits == 8:
        return ((np.frombuffer(payload, dtype=np.uint8).astype(np.int16) - 128) << 8).astype("<i2")
    if bits == 16:
        return np.frombuffer(payload, dtype="<i2")
    if bits == 24:
        raw = np.frombuffer(payload, dtype=np.uint8).reshape(-1, 3)
        as32 = (
            raw[:, 0].astype(np.int32) << 8
            | raw[:, 1].astype(np.int32) << 16
            | raw[:, 2].astype(np.int32) << 24
        )
        return (as32 >> 16).astype("<i2")
    return (np.frombuffer(payload, dtype="<i4") >> 16).astype("<i2")
