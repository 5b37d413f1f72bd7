"""The recognition stage of a call: a recogniser fed from a bounded queue.

The input stage never waits on decoding: it queues what to decode and goes
on with the next frame. This stage decodes in batches of what has arrived,
reads the partial transcript (words confirm that the caller is speaking, and
how they end decides how long the end of the turn may wait), and at the end
of a turn hands the final transcript to the conductor. Audio of a voice that
turned out not to be speech is decoded away and forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from voicebot.asr.transcript import Transcript
from voicebot.asr.vosk import RecognizerPool, VoskRecognizer
from voicebot.audio.frame import AudioFrame
from voicebot.dialog.events import Event, Heard, Silence, StageFailed
from voicebot.errors import VoicebotError

log = logging.getLogger(__name__)

QUEUE_FRAMES = 750
"""Room for 15 s of audio waiting to be decoded; beyond, frames are dropped (logged)."""


@dataclass(frozen=True, slots=True)
class _Audio:
    frame: AudioFrame


@dataclass(frozen=True, slots=True)
class _Close:
    """The turn ended (``keep``) or was not speech after all (not ``keep``)."""

    keep: bool


class Recognition:
    def __init__(
        self,
        call_id: str,
        pool: RecognizerPool,
        on_result: Callable[[Event], None],
        on_words: Callable[[str], Awaitable[bool]],
    ) -> None:
        self.call_id = call_id
        self.pool = pool
        self._on_result = on_result
        self._on_words = on_words
        self._queue: asyncio.Queue[_Audio | _Close] = asyncio.Queue(maxsize=QUEUE_FRAMES)
        self._recognizer: VoskRecognizer | None = None
        self._grammar: tuple[str, ...] | None = None
        self._applied: tuple[str, ...] | None = None
        """The grammar the recogniser has (None: open vocabulary, as a new one has)."""
        self._mid_utterance = False
        """Audio was decoded since the last final result."""
        self._finals: list[Transcript] = []
        self._partial = ""
        self._partial_complete = False
        """The conductor found the latest partial a complete request."""
        self._dropped_logged = False
        self._closed_at = 0.0
        self.busy = False
        """A turn's audio is queued or being decoded (no silence timeout then)."""

    # ------------------------------------------------------------ from the input stage
    def audio(self, frame: AudioFrame) -> None:
        self.busy = True
        self._put(_Audio(frame))

    def close(self, keep: bool) -> None:
        self._closed_at = time.monotonic()
        self._put(_Close(keep))

    def _put(self, item: _Audio | _Close) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            if not self._dropped_logged:
                log.warning("call %s: decoding is behind, audio dropped", self.call_id)
                self._dropped_logged = True

    # ------------------------------------------------------------ from the conductor
    @property
    def grammar(self) -> tuple[str, ...] | None:
        """The vocabulary the dialog limits the recogniser to now (None: open)."""
        return self._grammar

    async def set_grammar(self, grammar: tuple[str, ...] | None) -> None:
        """The vocabulary for what the caller says next. Kaldi aborts the whole process on
        a grammar change while an utterance is being decoded, so mid-utterance (the caller
        talking over the prompt that asks the question) it applies once that one ends."""
        self._grammar = grammar
        if self._recognizer is not None and not self._mid_utterance:
            await self._apply_grammar(self._recognizer)

    async def _apply_grammar(self, recognizer: VoskRecognizer) -> None:
        if self._applied != self._grammar:
            await recognizer.set_grammar(self._grammar)
            self._applied = self._grammar

    async def run(self) -> None:
        """Acquire a recogniser (a warm one at once, else while the greeting plays), then
        decode what the input stage queues until the call ends."""
        try:
            recognizer = await self.pool.acquire()
            self._applied = recognizer.grammar  # a recycled one keeps its last vocabulary
            await self._apply_grammar(recognizer)
        except VoicebotError as exc:
            self._on_result(StageFailed("asr", str(exc)))
            return
        self._recognizer = recognizer
        try:
            while True:
                items = [await self._queue.get()]
                while not self._queue.empty() and len(items) < 50:
                    items.append(self._queue.get_nowait())
                await self._handle(recognizer, items)
        except VoicebotError as exc:
            self.busy = False
            self._on_result(StageFailed("asr", str(exc)))

    async def release(self) -> None:
        recognizer, self._recognizer = self._recognizer, None
        if recognizer is not None:
            with contextlib.suppress(VoicebotError):
                await self.pool.release(recognizer)

    async def _handle(self, recognizer: VoskRecognizer, items: list[_Audio | _Close]) -> None:
        frames: list[AudioFrame] = []
        for item in items:
            if isinstance(item, _Audio):
                frames.append(item.frame)
                continue
            await self._decode(recognizer, frames)
            frames = []
            await self._end(recognizer, item.keep)
        await self._decode(recognizer, frames)

    async def _decode(self, recognizer: VoskRecognizer, frames: list[AudioFrame]) -> None:
        if not frames:
            return
        if not self._mid_utterance:
            await self._apply_grammar(recognizer)  # a change deferred during the last one
        batch = AudioFrame(b"".join(f.pcm for f in frames), frames[0].sample_rate_hz)
        self._mid_utterance = True
        result = await recognizer.accept(batch)
        if result.is_final:
            # Vosk found an endpoint of its own inside the turn: keep that part.
            if result.text:
                self._finals.append(result)
            text = " ".join(f.text for f in self._finals)
        else:
            text = " ".join([*(f.text for f in self._finals), result.text]).strip()
        if text and text != self._partial:
            self._partial = text
            self._partial_complete = await self._on_words(text)

    async def _end(self, recognizer: VoskRecognizer, keep: bool) -> None:
        if keep and self._partial and self._partial_complete:
            # The turn ended because these words already make a complete request: they
            # are the turn. The final decode (a lattice pass, 0.1 to 0.4 s here) only
            # resets the stream, while the reply is under way.
            self._on_result(Heard(self._partial, ((self._partial, 1.0),)))
            keep = False
        final = await recognizer.finish()
        log.debug(
            "call %s: final transcript %.0f ms after the turn ended",
            self.call_id,
            (time.monotonic() - self._closed_at) * 1000.0,
        )
        self._mid_utterance = False
        await self._apply_grammar(recognizer)
        parts, self._finals, self._partial = [*self._finals, final], [], ""
        self._partial_complete = False
        self.busy = not self._queue.empty()
        if not keep:
            return
        text = " ".join(p.text for p in parts if p.text).strip()
        if not text:
            self._on_result(Silence())
            return
        if len([p for p in parts if p.text]) == 1:
            only = next(p for p in parts if p.text)
            alternatives = tuple((a.text, a.confidence) for a in only.alternatives)
        else:
            alternatives = ()
        confidence = min((p.confidence for p in parts if p.text), default=0.0)
        self._on_result(Heard(text, alternatives or ((text, confidence),)))
