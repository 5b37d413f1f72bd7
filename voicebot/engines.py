"""Choose and load the speech engines the settings ask for, saying what was chosen and why."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from voicebot.asr.vosk import VoskModel, decoder_options
from voicebot.config import Settings
from voicebot.errors import ModelError
from voicebot.executor import EnginePool
from voicebot.models import ModelStore, load_manifest
from voicebot.tts.base import Synthesizer
from voicebot.tts.espeak import EspeakSynthesizer
from voicebot.tts.piper import PiperSynthesizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SynthesizerChoice:
    synthesizer: Synthesizer
    reason: str


def model_store(settings: Settings) -> ModelStore:
    return ModelStore(settings.models_dir, load_manifest(settings.manifest))


def resolve_asr_model(settings: Settings, override: str | None = None) -> Path:
    return model_store(settings).resolve(override or settings.asr_model, "asr")


def load_asr_model(settings: Settings, override: str | None = None) -> VoskModel:
    options = decoder_options(settings.asr_beam, settings.asr_max_active)
    return VoskModel.load(resolve_asr_model(settings, override), options)


def load_synthesizer(
    settings: Settings, pool: EnginePool, voice_override: str | None = None
) -> SynthesizerChoice:
    """Piper when its voice is usable, espeak-ng otherwise (unless Piper was demanded)."""
    engine = settings.tts_engine
    if engine == "espeak":
        return SynthesizerChoice(EspeakSynthesizer(settings.espeak_voice), "espeak-ng demandé")
    voice = voice_override or settings.tts_voice
    try:
        onnx = model_store(settings).resolve(voice, "tts")
        piper = PiperSynthesizer.load(
            onnx, pool, threads=settings.tts_threads, phonemizer_voice=settings.tts_phonemizer_voice
        )
    except ModelError as exc:
        if engine == "piper" or voice_override:
            raise
        log.warning("Piper voice unavailable, falling back to espeak-ng: %s", exc)
        fallback = EspeakSynthesizer(settings.espeak_voice)
        return SynthesizerChoice(fallback, f"voix Piper indisponible ({exc.message})")
    return SynthesizerChoice(piper, f"voix Piper {piper.voice}")
