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
from voicebot.executor import Priority

log = logging.getLogger(__name__)

QUEUE_FRAMES = 750
"""Room for 15 s of audio waiting to be decoded; beyond, frames are dropped (logged)."""
BATCH_FRAMES = 8
"""Frames of speech decoded in one step (160 ms). Many calls' decoders taking turns on
the cores every 20 ms each evict the other's state from the caches: decoding 16 calls in
steps of 20 ms costs 0.1 core-s per second of audio, in steps of 200 ms 0.06 (2 cores,
Korean test model)."""


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
        """The vocabulary of the next turn's recogniser (None: open)."""
        self._mid_utterance = False
        """Audio was decoded since the last final result."""
        self._finals: list[Transcript] = []
        self._partial = ""
        self._partial_complete = False
        """The conductor found the latest partial a complete request."""
        self._judging: asyncio.Task[None] | None = None
        """The conductor judging the latest partial, beside the decoding: a call's audio
        is not held back while its words are understood (under load, that wait let
        decoding fall behind the caller and delayed the end of every turn)."""
        self._dropped_logged = False
        self._held: list[AudioFrame] = []
        self._closing = False
        """A kept turn's close is queued: its decoding stays urgent until the result."""
        self._closed_at = 0.0
        self._priority = Priority.NORMAL
        """What the call's decoding is now (given to the recogniser lent for a turn)."""
        self.busy = False
        """A turn's audio is queued or being decoded (no silence timeout then)."""

    # ------------------------------------------------------------ from the input stage
    def audio(self, frame: AudioFrame, flush: bool = True) -> None:
        """Audio to decode. While the caller speaks (``flush`` False) it is sent to the
        recogniser :data:`BATCH_FRAMES` at a time; a quiet frame sends what is held at
        once, so the words before a pause are decoded as soon as it starts."""
        self.busy = True
        self._held.append(frame)
        if not self._closing:
            # A pause may be the end of the turn: the words before it are decoded ahead of
            # other calls' speech, so that how they end is known within the short wait.
            self._set_priority(Priority.URGENT if flush else Priority.NORMAL)
        if flush or len(self._held) >= BATCH_FRAMES:
            self._send_held()

    def _send_held(self) -> None:
        if not self._held:
            return
        frames, self._held = self._held, []
        pcm = b"".join(f.pcm for f in frames) if len(frames) > 1 else frames[0].pcm
        self._put(_Audio(AudioFrame(pcm, frames[0].sample_rate_hz)))

    def close(self, keep: bool) -> None:
        self._send_held()
        self._closed_at = time.monotonic()
        if keep:
            # The caller waits for this turn's transcript: its decoding passes ahead of
            # other calls' streaming (its jobs already queued too), until the final result.
            self._set_priority(Priority.URGENT)
            self._closing = True
        self._put(_Close(keep))

    def _set_priority(self, priority: Priority) -> None:
        self._priority = priority
        if self._recognizer is not None:
            self._recognizer.priority = priority

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
        """The vocabulary for what the caller says next: the next turn's recogniser is
        lent with it (a recogniser never changes vocabulary, see
        :meth:`RecognizerPool.acquire`). A turn under way (the caller talking over the
        prompt that asks the question) ends on the recogniser it began with."""
        self._grammar = grammar

    async def run(self) -> None:
        """Decode what the input stage queues until the call ends, on a recogniser lent
        for each turn: one that has heard the most callers (see
        :meth:`RecognizerPool.acquire`), and only as many as callers speak at once."""
        try:
            while True:
                items = [await self._queue.get()]
                while not self._queue.empty() and len(items) < 50:
                    items.append(self._queue.get_nowait())
                await self._handle(items)
        except VoicebotError as exc:
            self.busy = False
            self._on_result(StageFailed("asr", str(exc)))

    async def release(self) -> None:
        if self._judging is not None:
            self._judging.cancel()
        recognizer, self._recognizer = self._recognizer, None
        if recognizer is not None:
            recognizer.priority = Priority.NORMAL
            with contextlib.suppress(VoicebotError):
                await self.pool.release(recognizer)
        self.pool.trim()

    async def _borrow(self) -> VoskRecognizer:
        if self._recognizer is None:
            recognizer = await self.pool.acquire(self._grammar)
            recognizer.priority = self._priority
            self._recognizer = recognizer
        return self._recognizer

    async def _give_back(self) -> None:
        recognizer, self._recognizer = self._recognizer, None
        if recognizer is not None:
            recognizer.priority = Priority.NORMAL
            await self.pool.give_back(recognizer)

    async def _handle(self, items: list[_Audio | _Close]) -> None:
        frames: list[AudioFrame] = []
        for item in items:
            if isinstance(item, _Audio):
                frames.append(item.frame)
                continue
            await self._decode(frames)
            frames = []
            await self._end(item.keep)
        await self._decode(frames)

    async def _decode(self, frames: list[AudioFrame]) -> None:
        if not frames:
            return
        if (
            not self._mid_utterance
            and self._recognizer is not None
            and self._recognizer.asked != self._grammar
        ):
            await self._give_back()  # no utterance under way: one with the new vocabulary
        recognizer = await self._borrow()
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
            self._partial_complete = False
            if self._judging is None or self._judging.done():
                if self._judging is not None:
                    self._judging.result()  # a failure surfaces as a decode's would
                self._judging = asyncio.create_task(self._judge(), name=f"words-{self.call_id}")

    async def _judge(self) -> None:
        """Judge the latest partial; words that came meanwhile are judged next, once."""
        while text := self._partial:
            complete = await self._on_words(text)
            if text == self._partial:
                self._partial_complete = complete
                return

    async def _judged(self) -> None:
        """The latest partial's judgement, awaited when the turn ends (it began earlier)."""
        if self._judging is not None:
            await self._judging  # re-raises its failure, as a decode's would

    async def _end(self, keep: bool) -> None:
        await self._judged()
        if keep and self._partial and self._partial_complete:
            # The turn ended because these words already make a complete request: they
            # are the turn.
            self._on_result(Heard(self._partial, ((self._partial, 1.0),)))
            keep = False
        # Nothing to keep (those words, or a noise that was not speech): the stream is
        # reset, without the final decode's lattice pass (0.1 to 0.4 s of a core here).
        recognizer = self._recognizer
        if recognizer is None:  # no audio in this turn
            final = Transcript("", is_final=True)
        else:
            final = await recognizer.finish() if keep else await recognizer.reset_stream()
            await self._give_back()
        self._priority = Priority.NORMAL
        self._closing = False
        log.debug(
            "call %s: final transcript %.0f ms after the turn ended",
            self.call_id,
            (time.monotonic() - self._closed_at) * 1000.0,
        )
        self._mid_utterance = False
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
