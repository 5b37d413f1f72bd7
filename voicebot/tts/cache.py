"""Fixed prompts (greeting, reprompts, menus) rendered once and kept in memory."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator

from voicebot.audio.frame import AudioFrame
from voicebot.tts.base import Synthesizer, check_request, render
from voicebot.tts.sentences import split_sentences


class CachingSynthesizer:
    """A synthesizer that remembers the sentences it said: fixed prompts are rendered once.

    Text is cut into sentences (as the engines do); each sentence is looked up per
    rate and speed, and rendered at most once even when many calls ask for it at the
    same moment (the others wait for that rendering). The ``capacity`` most recent
    sentences are kept.
    """

    def __init__(self, synthesizer: Synthesizer, capacity: int = 1024) -> None:
        self.inner = synthesizer
        self.engine = synthesizer.engine
        self.voice = synthesizer.voice
        self.native_rate_hz = synthesizer.native_rate_hz
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, int, float], AudioFrame] = OrderedDict()
        self._pending: dict[tuple[str, int, float], asyncio.Future[AudioFrame]] = {}
        self.hits = 0
        self.misses = 0
        self._prefetching: set[asyncio.Task[AudioFrame]] = set()

    async def _sentence(self, sentence: str, sample_rate_hz: int, speed: float) -> AudioFrame:
        key = (sentence, sample_rate_hz, round(speed, 3))
        cached = self._entries.get(key)
        if cached is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            return cached
        pending = self._pending.get(key)
        if pending is not None:
            self.hits += 1
            return await asyncio.shield(pending)
        self.misses += 1
        future: asyncio.Future[AudioFrame] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            frame = await render(self.inner, sentence, sample_rate_hz, speed)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody else must
            raise
        finally:
            self._pending.pop(key, None)
        future.set_result(frame)
        self._entries[key] = frame
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return frame

    async def stream(
        self, text: str, sample_rate_hz: int, speed: float = 1.0
    ) -> AsyncIterator[AudioFrame]:
        elapsed_ms = 0
        for sentence in split_sentences(check_request(text, speed)):
            frame = await self._sentence(sentence, sample_rate_hz, speed)
            yield AudioFrame(frame.pcm, sample_rate_hz, timestamp_ms=elapsed_ms)
            elapsed_ms += int(frame.duration_ms)

    def prefetch(self, text: str, sample_rate_hz: int, speed: float = 1.0) -> None:
        """Start rendering the first sentence of a reply that may be said soon (the words
        heard so far already make a complete request): if it is, it plays at once."""
        sentences = split_sentences(text.strip()) if text.strip() else []
        if not sentences:
            return
        key = (sentences[0], sample_rate_hz, round(speed, 3))
        if key in self._entries or key in self._pending:
            return
        task = asyncio.create_task(self._sentence(sentences[0], sample_rate_hz, speed))
        self._prefetching.add(task)
        task.add_done_callback(self._prefetched)

    def _prefetched(self, task: asyncio.Task[AudioFrame]) -> None:
        self._prefetching.discard(task)
        if not task.cancelled():
            task.exception()  # a failed rendering is retried (and reported) when said

    async def preload(self, texts: list[str], sample_rate_hz: int) -> None:
        for text in texts:
            async for _ in self.stream(text, sample_rate_hz):
                pass
