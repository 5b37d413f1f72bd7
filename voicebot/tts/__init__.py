"""Speech synthesis: Piper voices, espeak-ng as the fallback, a cache for fixed prompts."""

from voicebot.tts.base import Synthesizer, render
from voicebot.tts.cache import CachingSynthesizer
from voicebot.tts.espeak import EspeakSynthesizer
from voicebot.tts.piper import PiperSynthesizer

__all__ = [
    "CachingSynthesizer",
    "EspeakSynthesizer",
    "PiperSynthesizer",
    "Synthesizer",
    "render",
]
