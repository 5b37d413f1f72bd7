"""Audio inside the bot: 16-bit mono PCM in 20 ms frames, and the helpers around it."""

from voicebot.audio.frame import FRAME_MS, AudioFrame, frame_bytes
from voicebot.audio.framing import Framer
from voicebot.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from voicebot.audio.resample import SUPPORTED_RATES_HZ, resample

__all__ = [
    "FRAME_MS",
    "SUPPORTED_RATES_HZ",
    "AudioFrame",
    "Framer",
    "alaw_decode",
    "alaw_encode",
    "frame_bytes",
    "resample",
    "ulaw_decode",
    "ulaw_encode",
]
