"""Speech recognition: a shared Vosk model, one streaming recogniser per call."""

from voicebot.asr.transcript import Alternative, Transcript, WordInfo
from voicebot.asr.vosk import RecognizerPool, VoskModel, VoskRecognizer

__all__ = [
    "Alternative",
    "RecognizerPool",
    "Transcript",
    "VoskModel",
    "VoskRecognizer",
    "WordInfo",
]
