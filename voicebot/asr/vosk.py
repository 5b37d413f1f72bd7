"""Vosk behind a small async interface.

One :class:`VoskModel` is loaded per process and shared by every call (it is
thread-safe). Each call gets a :class:`VoskRecognizer`, whose decoding runs in
the engine pool, never on the event loop. A recogniser's memory grows with
the audio it has decoded and ``Reset`` does not give it back, so a
:class:`RecognizerPool` keeps warm recognisers and retires them after a
bounded amount of audio.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voicebot.asr.transcript import Transcript, parse_final, parse_partial
from voicebot.audio.frame import AudioFrame
from voicebot.audio.resample import resample
from voicebot.errors import AudioError, EngineError, ModelError
from voicebot.executor import EnginePool, Priority

log = logging.getLogger(__name__)

RECOGNISER_RATES_HZ = (8000, 16000)
UNKNOWN_WORD = "[unk]"


def _vosk() -> Any:
    import vosk

    vosk.SetLogLevel(-1)
    return vosk


class VoskModel:
    """The shared acoustic and language model."""

    def __init__(self, path: Path, handle: Any) -> None:
        self.path = path
        self._handle = handle

    @classmethod
    def load(cls, path: Path, decoder: dict[str, float] | None = None) -> VoskModel:
        """Load a model folder (blocking, 1 to 2 s and ~500 MB for a small model).

        ``decoder`` overrides options of the model's ``conf/model.conf`` (``beam``,
        ``max-active``): the model folder is left as it is; Vosk reads a copy of its
        configuration beside links to its files."""
        from voicebot.models.store import check_vosk_model_dir

        check_vosk_model_dir(path)
        overlay = _decoder_overlay(path, decoder) if decoder else None
        try:
            handle = _vosk().Model(str(overlay or path))
        except Exception as exc:  # vosk raises a bare Exception on a bad model
            raise ModelError(
                f"Vosk n'a pas pu charger le modèle {path} ({exc})",
                hint="le dossier est peut-être corrompu : lancez `voicebot models verify`",
            ) from None
        finally:
            if overlay is not None:  # Vosk has read every file by now
                shutil.rmtree(overlay, ignore_errors=True)
        model = cls(path, handle)
        if decoder:
            try:  # Kaldi checks the options only when a decoder is made
                model.new_kaldi_recognizer(16000)
            except Exception:
                shown = ", ".join(f"{name}={value:g}" for name, value in decoder.items())
                raise ModelError(
                    f"le décodeur refuse ces réglages ({shown})",
                    hint="VOICEBOT_ASR_MAX_ACTIVE doit dépasser le --min-active du modèle "
                    f"(voir {path / 'conf' / 'model.conf'}), VOICEBOT_ASR_BEAM être positif",
                ) from None
        return model

    def has_word(self, word: str) -> bool:
        return int(self._handle.vosk_model_find_word(word)) >= 0

    def new_kaldi_recognizer(self, sample_rate_hz: int) -> Any:
        return _vosk().KaldiRecognizer(self._handle, float(sample_rate_hz))


def _decoder_overlay(path: Path, decoder: dict[str, float]) -> Path:
    """A folder where ``path``'s files are links and ``conf/model.conf`` is a copy with
    ``decoder``'s options in place of the model's own."""
    overlay = Path(tempfile.mkdtemp(prefix="voicebot-model-"))
    for entry in path.iterdir():
        if entry.name != "conf":
            os.symlink(entry.resolve(), overlay / entry.name)
    conf = overlay / "conf"
    conf.mkdir()
    lines: list[str] = []
    if (path / "conf").is_dir():
        for entry in (path / "conf").iterdir():
            if entry.name != "model.conf":
                os.symlink(entry.resolve(), conf / entry.name)
        if (path / "conf" / "model.conf").is_file():
            text = (path / "conf" / "model.conf").read_text(encoding="utf-8", errors="replace")
            lines = [
                line
                for line in text.splitlines()
                if line.strip().lstrip("-").split("=", 1)[0] not in decoder
            ]
    lines += [f"--{name}={value:g}" for name, value in decoder.items()]
    (conf / "model.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return overlay


def decoder_options(beam: float | None, max_active: int | None) -> dict[str, float]:
    """The decoder options set (``VOICEBOT_ASR_BEAM``, ``VOICEBOT_ASR_MAX_ACTIVE``)."""
    options: dict[str, float] = {}
    if beam is not None:
        options["beam"] = beam
    if max_active is not None:
        options["max-active"] = max_active
    return options


class VoskRecognizer:
    """One caller's stream: feed frames, get partial and final transcripts."""

    def __init__(
        self,
        model: VoskModel,
        pool: EnginePool,
        sample_rate_hz: int = 16000,
        alternatives: int = 3,
    ) -> None:
        if sample_rate_hz not in RECOGNISER_RATES_HZ:
            raise AudioError(
                f"le recogniseur attend 8000 ou 16000 Hz, pas {sample_rate_hz} Hz",
                hint="rééchantillonnez avant de transmettre l'audio",
            )
        self.model = model
        self.pool = pool
        self.sample_rate_hz = sample_rate_hz
        self.alternatives = alternatives
        self.grammar: tuple[str, ...] | None = None
        self.asked: tuple[str, ...] | None = None
        """The vocabulary last asked for (``grammar`` is what the model had of it)."""
        self.priority = Priority.NORMAL
        """How its jobs rank in the engine pool (its call's turn ended: urgent)."""
        self.audio_decoded_s = 0.0
        self._lock = asyncio.Lock()
        # The asyncio lock orders the jobs; this one makes them exclusive in the threads.
        # A cancelled await leaves its job running in the pool: without it, the next job
        # (a Reset when the call ends) would run at the same time, and Kaldi aborts.
        self._kaldi_lock = threading.Lock()
        self._kaldi = model.new_kaldi_recognizer(sample_rate_hz)
        self._kaldi.SetWords(True)
        self._kaldi.SetMaxAlternatives(alternatives)

    async def accept(self, frame: AudioFrame) -> Transcript:
        """Decode one frame; the transcript is final when Vosk detects an endpoint."""
        if frame.sample_rate_hz != self.sample_rate_hz:
            raise AudioError(
                f"trame à {frame.sample_rate_hz} Hz pour un recogniseur à {self.sample_rate_hz} Hz",
                hint="rééchantillonnez l'audio de l'appel",
            )
        async with self._lock:
            self.audio_decoded_s += frame.duration_ms / 1000.0
            self.pool.audio_s += frame.duration_ms / 1000.0
            return await self.pool.run_as(self._priority, self._accept_blocking, frame.pcm)

    async def finish(self) -> Transcript:
        """Flush the stream: the final transcript of what was said since the last one."""
        async with self._lock:
            raw = await self.pool.run_as(self._priority, self._call, "FinalResult")
            return parse_final(raw)

    async def set_grammar(self, words: Sequence[str] | None) -> list[str]:
        """Limit the vocabulary (None: open vocabulary). Returns the words kept."""
        kept: list[str] = []
        self.asked = None if words is None else tuple(words)
        if words is None:
            payload = "[]"
            self.grammar = None
        else:
            kept = [w for w in dict.fromkeys(words) if self._in_vocabulary(w)]
            dropped = sorted(set(words) - set(kept))
            if dropped:
                log.info("grammar: words not in the model vocabulary, ignored: %s", dropped)
            if self.model.has_word(UNKNOWN_WORD):
                kept.append(UNKNOWN_WORD)
            payload = json.dumps(kept, ensure_ascii=False)
            self.grammar = tuple(kept)
        async with self._lock:
            await self.pool.run_as(self._priority, self._call, "SetGrammar", payload)
        return kept

    async def reset_stream(self) -> Transcript:
        """End the utterance without its final decode (what was said is not wanted): an
        empty transcript."""
        await self.reset()
        return Transcript("", is_final=True)

    async def reset(self) -> None:
        async with self._lock:
            await self.pool.run_as(self._priority, self._call, "Reset")

    def _priority(self) -> Priority:
        return self.priority

    def _in_vocabulary(self, phrase: str) -> bool:
        return all(self.model.has_word(w) for w in phrase.split())

    def _accept_blocking(self, pcm: bytes) -> Transcript:
        with self._kaldi_lock:
            if self._call_locked("AcceptWaveform", pcm):
                return parse_final(self._call_locked("Result"))
            return parse_partial(self._call_locked("PartialResult"))

    def _call(self, method: str, *args: Any) -> Any:
        with self._kaldi_lock:
            return self._call_locked(method, *args)

    def _call_locked(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._kaldi, method)(*args)
        except Exception as exc:  # the binding raises bare exceptions
            raise EngineError(f"échec de Vosk ({method}) : {exc}") from exc


class RecognizerPool:
    """Warm recognisers ready for new calls, retired after ``max_audio_s`` of audio."""

    def __init__(
        self,
        model: VoskModel,
        pool: EnginePool,
        sample_rate_hz: int = 16000,
        alternatives: int = 3,
        max_idle: int = 4,
        max_audio_s: float = 300.0,
        warmup: AudioFrame | None = None,
        max_limited: int = 8,
    ) -> None:
        self.model = model
        self.pool = pool
        self.warmup = warmup
        """Speech decoded once by each new recogniser (see :meth:`_create`)."""
        self.sample_rate_hz = sample_rate_hz
        self.alternatives = alternatives
        self.max_idle = max_idle
        self.max_audio_s = max_audio_s
        self._idle: list[VoskRecognizer] = []
        """Open-vocabulary recognisers, the least recently used first."""
        self._limited: list[VoskRecognizer] = []
        """Recognisers limited to a vocabulary (a grammar), the least recently used first."""
        self.max_limited = max_limited
        self._calls_waiting = 0
        self._no_call_waiting = asyncio.Event()
        self._no_call_waiting.set()
        self.created = 0
        self.retired = 0

    @property
    def idle(self) -> int:
        return len(self._idle)

    def describe(self) -> dict[str, int]:
        """Its recognisers, for ``/readyz``: idle open ones, idle limited ones (a grammar
        each), made and retired since the start."""
        return {
            "idle": len(self._idle),
            "idle_limited": len(self._limited),
            "created": self.created,
            "retired": self.retired,
        }

    async def _create(self, for_a_waiting_call: bool = False) -> VoskRecognizer:
        # Warming for no call yet waits for every call's decoding; for a waiting call, it
        # is that call's streaming work.
        priority = Priority.NORMAL if for_a_waiting_call else Priority.BACKGROUND
        recognizer = await self.pool.run_as(
            lambda: priority,
            VoskRecognizer,
            self.model,
            self.pool,
            self.sample_rate_hz,
            self.alternatives,
        )
        recognizer.priority = priority
        # A new recogniser expands its decoding graph lazily: its first utterance decodes
        # about ten times slower than the next ones (measured: 2 s instead of 0.15 s).
        # Decoding speech once, at creation, pays most of that before any caller. A call
        # waiting for this one gets a fifth of a second of silence instead: that pays for
        # streaming (final result 0.04 s after the caller stops, as after the speech,
        # against 1.3 s with nothing), and it is ready in 1.2 s instead of 4.5 s (Korean
        # test model, a loaded 2-core machine).
        silence = AudioFrame(b"\x00" * (self.sample_rate_hz // 5 * 2), self.sample_rate_hz)
        sample = silence if for_a_waiting_call else self.warmup or silence
        if sample.sample_rate_hz != self.sample_rate_hz:
            pcm = resample(sample.pcm, sample.sample_rate_hz, self.sample_rate_hz)
            sample = AudioFrame(pcm, self.sample_rate_hz)
        # In steps of 0.2 s, as a call's audio: a call's job waits for one step at most.
        step = self.sample_rate_hz // 5 * 2
        for start in range(0, len(sample.pcm), step):
            await recognizer.accept(
                AudioFrame(sample.pcm[start : start + step], self.sample_rate_hz)
            )
        await recognizer.finish()
        await recognizer.reset()
        recognizer.audio_decoded_s = 0.0
        recognizer.priority = Priority.NORMAL
        self.created += 1
        return recognizer

    async def warm(self, count: int) -> None:
        """Add up to ``count`` warm recognisers, one after the other, in the background.

        Each one is there for the next call as soon as it is made. One at a time keeps
        at most one warming job in the engine pool: a call's decoding, or the warming
        of its own recogniser, never queues behind a whole batch. While a call waits
        for a recogniser made for it, the next one waits: the call's comes first.
        """
        for _ in range(count):
            await self._no_call_waiting.wait()
            if len(self._idle) >= self.max_idle:
                return
            recognizer = await self._create()
            if len(self._idle) >= self.max_idle:  # calls gave theirs back meanwhile
                return
            self._idle.append(recognizer)

    async def acquire(self, grammar: tuple[str, ...] | None = None) -> VoskRecognizer:
        """A recogniser with this vocabulary (None: open): a warm one if one is idle.

        A recogniser never changes vocabulary. Each one expands the open decoding graph
        lazily, for itself, as it meets new words (its first pass over words costs it 3
        to 4 times the next ones), and a change of vocabulary throws that graph away:
        back to the open vocabulary after a grammar, its next utterance decoded 8 times
        slower (0.57 core-s per second of speech against 0.07, Korean test model). So an
        open one is lent the most recently used first (its graph holds the most of what
        callers say), and a grammar gets one of its own: made in 0.06 s, its small graph
        as fast from its first word (0.02 core-s per second of speech)."""
        if grammar is not None:
            return await self._acquire_limited(grammar)
        if self._idle:
            return self._idle.pop()
        self._calls_waiting += 1
        self._no_call_waiting.clear()
        try:
            return await self._create(for_a_waiting_call=True)
        finally:
            self._calls_waiting -= 1
            if self._calls_waiting == 0:
                self._no_call_waiting.set()

    async def _acquire_limited(self, grammar: tuple[str, ...]) -> VoskRecognizer:
        for index in range(len(self._limited) - 1, -1, -1):
            if self._limited[index].asked == grammar:
                return self._limited.pop(index)
        recognizer = await self.pool.run(
            VoskRecognizer, self.model, self.pool, self.sample_rate_hz, self.alternatives
        )
        await recognizer.set_grammar(grammar)  # a new recogniser: nothing decoded yet
        self.created += 1
        return recognizer

    async def give_back(self, recognizer: VoskRecognizer) -> None:
        """A recogniser lent for one turn, its stream ended (final result or reset):
        ready for the next turn of any call, with its vocabulary."""
        if recognizer.audio_decoded_s > self.max_audio_s:
            self.retired += 1
            return
        if recognizer.asked is None:
            self._idle.append(recognizer)
            return
        self._limited.append(recognizer)
        if len(self._limited) > self.max_limited:
            self._limited.pop(0)
            self.retired += 1

    def trim(self) -> None:
        """Idle recognisers beyond ``max_idle`` are let go, the least used first."""
        while len(self._idle) > self.max_idle:
            self._idle.pop(0)
            self.retired += 1

    async def release(self, recognizer: VoskRecognizer) -> None:
        """A recogniser whose stream may be mid-utterance (its call ended): reset, then
        kept like one given back, if there is room."""
        worn = recognizer.audio_decoded_s > self.max_audio_s
        if worn or (recognizer.asked is None and len(self._idle) >= self.max_idle):
            self.retired += 1
            return
        await recognizer.reset()
        await self.give_back(recognizer)
