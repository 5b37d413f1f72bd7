"""The engines one process shares across all its calls, loaded once at start."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicebot.asr.vosk import RecognizerPool, VoskModel
from voicebot.audio.frame import AudioFrame
from voicebot.audio.vad import SileroModel
from voicebot.audio.wav import read_wav
from voicebot.config import Settings
from voicebot.engines import load_asr_model, load_synthesizer
from voicebot.errors import AudioError, ConfigError, ModelError, VoicebotError
from voicebot.executor import EnginePool
from voicebot.tts.base import Synthesizer, render

log = logging.getLogger(__name__)

# Spoken once to each new recogniser, so that its first caller does not wait.
WARMUP_TEXT = (
    "Bonjour, je voudrais prendre un rendez-vous pour renouveler mon passeport, "
    "et savoir à quelle heure ouvre la mairie."
)
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/\\])~?(?:[/\\][^\s/\\()«»,;'\"`]+)+")
"""An absolute path (``/srv/modeles/vosk``, ``~/x``), not a URL's (``http://h/p``)."""


def without_paths(text: str) -> str:
    """Each absolute file path in ``text`` replaced by its last part (a model's name)."""
    return ABSOLUTE_PATH.sub(lambda found: re.split(r"[/\\]", found.group(0))[-1], text)


@dataclass
class LoadedEngines:
    asr_pool: EnginePool
    tts_pool: EnginePool
    synthesizer: Synthesizer
    tts_reason: str
    asr_model: VoskModel | None = None
    recognizers: RecognizerPool | None = None
    asr_problem: str | None = None
    warmup: AudioFrame | None = None
    vad: SileroModel | None = None
    """The trained voice detector; None with ``VOICEBOT_VAD=energy`` or when it is missing."""
    vad_problem: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        """``speech`` with a recogniser; ``keypad_only`` without one."""
        return "speech" if self.asr_model is not None else "keypad_only"

    def describe(self) -> dict[str, Any]:
        """What the engines are, for ``/readyz`` and the log: names, never file paths."""
        return {
            "mode": self.mode,
            "asr": {
                "model": self.asr_model.path.name if self.asr_model else None,
                "problem": without_paths(self.asr_problem) if self.asr_problem else None,
                "workers": self.asr_pool.max_workers,
                "pending": self.asr_pool.pending,
                "idle_recognizers": self.recognizers.idle if self.recognizers else 0,
            },
            "vad": {
                "engine": "silero" if self.vad is not None else "energy",
                "problem": without_paths(self.vad_problem) if self.vad_problem else None,
            },
            "tts": {
                "engine": self.synthesizer.engine,
                "voice": self.synthesizer.voice,
                "reason": without_paths(self.tts_reason),
                "pending": self.tts_pool.pending,
            },
        }

    def close(self) -> None:
        self.asr_pool.shutdown()
        self.tts_pool.shutdown()


def read_warmup_audio(path: Path) -> AudioFrame:
    """The IT team's recording for the recognisers' warm-up, or what is wrong with it."""
    try:
        return read_wav(path)
    except AudioError as exc:
        raise ConfigError(
            f"VOICEBOT_ASR_WARMUP_AUDIO : {exc.message}",
            hint=exc.hint or "donnez un fichier WAV de parole, ou retirez le réglage",
        ) from None


async def warmup_speech(settings: Settings, synthesizer: Synthesizer) -> AudioFrame | None:
    """What each new recogniser decodes once: the IT team's recording of callers' speech,
    else a sentence in the service's voice (its first synthesis, slower than the next
    ones, is paid here too). A recording that cannot be read stops the start: it says
    why."""
    if settings.asr_warmup_audio is not None:
        return await asyncio.to_thread(read_warmup_audio, settings.asr_warmup_audio)
    try:
        return await render(synthesizer, WARMUP_TEXT, 16000)
    except VoicebotError as exc:
        log.warning("no warm-up speech for the recognisers: %s", exc)
        return None


async def load_engines(settings: Settings) -> LoadedEngines:
    """Load what a call needs, off the event loop: the voice and the recognition model
    (both at once), and the speech that warms each new recogniser. No recogniser is
    warmed here: the service is ready without them (see :meth:`RecognizerPool.warm`).
    A missing recogniser model means keypad-only mode."""
    asr_pool = EnginePool("asr", settings.asr_workers)
    tts_pool = EnginePool("tts", settings.tts_workers)
    choice, (asr_model, asr_problem) = await asyncio.gather(
        asyncio.to_thread(load_synthesizer, settings, tts_pool),
        asyncio.to_thread(_load_asr_model, settings),
    )
    engines = LoadedEngines(asr_pool, tts_pool, choice.synthesizer, choice.reason)
    engines.vad, engines.vad_problem = await asyncio.to_thread(_load_vad, settings)
    if asr_model is None:
        engines.asr_problem = asr_problem
        return engines
    engines.asr_model = asr_model
    warmup = await warmup_speech(settings, choice.synthesizer)
    engines.recognizers = RecognizerPool(
        asr_model,
        asr_pool,
        16000,
        settings.asr_alternatives,
        max_idle=16,
        warmup=warmup,
    )
    engines.warmup = warmup
    return engines


def _load_vad(settings: Settings) -> tuple[SileroModel | None, str | None]:
    """The trained voice detector, or why the energy one serves instead (blocking)."""
    if settings.vad == "energy":
        return None, None
    try:
        return SileroModel.load(settings.vad_model), None
    except ModelError as exc:
        log.error("Silero VAD unavailable, the energy detector serves instead: %s", exc)
        return None, str(exc)


def _load_asr_model(settings: Settings) -> tuple[VoskModel | None, str | None]:
    """The recognition model, or why there is none (blocking)."""
    try:
        return load_asr_model(settings), None
    except ModelError as exc:
        log.warning("No French speech recognition model: serving in KEYPAD-ONLY mode (%s)", exc)
        return None, str(exc)
