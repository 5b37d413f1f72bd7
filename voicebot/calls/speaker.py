"""The speaker stage of a call: what the bot says, sent, marked and stopped.

Speech is synthesized sentence by sentence and sent as it comes, with a mark
after each sentence so we know what the caller really heard (``heard_fully``
once Asterisk reports the last mark). Everything sent is also given to the
echo guard as the reference of what may come back on the line. A barge-in
cancels synthesis and flushes what Asterisk has queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from voicebot.audio.echo import EchoGuard
from voicebot.audio.frame import frame_bytes
from voicebot.audio.framing import Framer
from voicebot.calls.record import Turn
from voicebot.errors import VoicebotError
from voicebot.tts.base import Synthesizer

if TYPE_CHECKING:
    from voicebot.calls.session import MediaSink

log = logging.getLogger(__name__)


@dataclass
class Speech:
    """What is being said: its text, the marks sent, and when playout is done."""

    text: str
    protect_ms: int = 0
    marks: set[str] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    turn: Turn | None = None
    started_at: float | None = None
    """When its first audio was sent (Asterisk starts playing it then)."""


class Speaker:
    def __init__(
        self,
        call_id: str,
        sink: MediaSink,
        synthesizer: Synthesizer,
        echo: EchoGuard,
        on_failure: Callable[[str], None],
        on_first_audio: Callable[[Speech], None],
        playout_grace_s: float = 2.0,
    ) -> None:
        self.call_id = call_id
        self.sink = sink
        self.synthesizer = synthesizer
        self.echo = echo
        self.rate_hz = sink.sample_rate_hz
        self._on_failure = on_failure
        self._on_first_audio = on_first_audio
        self.current: Speech | None = None
        self._task: asyncio.Task[None] | None = None
        self._mark_seq = 0
        self._playout_until = 0.0
        self.playout_grace_s = playout_grace_s

    @property
    def playing(self) -> bool:
        return self.current is not None and not self.current.done.is_set()

    def interruptible(self) -> bool:
        """Whether the caller's voice may stop what plays now."""
        speech = self.current
        if speech is None or speech.done.is_set():
            return False
        if not speech.protect_ms or speech.started_at is None:
            return speech.protect_ms == 0
        return (time.monotonic() - speech.started_at) * 1000.0 >= speech.protect_ms

    async def say(self, text: str, speed: float, turn: Turn, protect_ms: int = 0) -> Speech:
        await self.stop(flush=False)
        speech = Speech(text, protect_ms=protect_ms, turn=turn)
        self.current = speech
        self._task = asyncio.create_task(self._speak(speech, speed), name=f"speak-{self.call_id}")
        return speech

    def prefetch(self, text: str, speed: float) -> None:
        """Render ahead what will likely be said next (when the synthesizer caches)."""
        prefetch = getattr(self.synthesizer, "prefetch", None)
        if prefetch is not None:
            prefetch(text, self.rate_hz, speed)

    def mark_played(self, name: str) -> None:
        speech = self.current
        if speech is not None and name in speech.marks:
            speech.marks.discard(name)
            if not speech.marks and self._task is not None and self._task.done():
                if speech.turn is not None and speech.turn.heard_fully is None:
                    speech.turn.heard_fully = True  # Asterisk played the last mark
                speech.done.set()

    async def stop(self, flush: bool = True) -> bool:
        """Stop what is being said; with ``flush``, also what Asterisk has queued.
        Returns whether something was stopped."""
        speech = self.current
        if speech is None or speech.done.is_set():
            return False
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if flush:
            await self.sink.flush()
            self.echo.flushed()
            if speech.turn is not None:
                speech.turn.heard_fully = False
        speech.done.set()
        return True

    async def finish(self) -> None:
        """Let the last words play out (the call is about to move on)."""
        speech = self.current
        if speech is None:
            return
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, VoicebotError):
                await self._task
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(speech.done.wait(), timeout=self._remaining_playout())

    def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        speech = self.current
        if speech is not None and not speech.done.is_set() and speech.turn is not None:
            speech.turn.heard_fully = False  # the line closed while it was being said

    async def _speak(self, speech: Speech, speed: float) -> None:
        started = time.monotonic()
        sent_ms = 0.0
        try:
            async for chunk in self.synthesizer.stream(speech.text, self.rate_hz, speed):
                frames = [*Framer(self.rate_hz).push(chunk.pcm)]
                tail = self._pad(chunk.pcm, len(frames))
                if speech.started_at is None:
                    speech.started_at = time.monotonic()
                    log.debug(
                        "call %s: first audio %.0f ms after the reply was asked for",
                        self.call_id,
                        (speech.started_at - started) * 1000.0,
                    )
                    self._on_first_audio(speech)
                # The echo guard's reference is placed once per chunk, as it will play.
                self.echo.sent(b"".join(frame.pcm for frame in frames) + tail)
                for frame in frames:
                    await self.sink.send_audio(frame.pcm)
                if tail:
                    await self.sink.send_audio(tail)
                sent_ms += chunk.duration_ms
                if self.sink.supports_marks:
                    self._mark_seq += 1
                    name = f"m{self._mark_seq}"
                    speech.marks.add(name)
                    await self.sink.mark(name)
        except VoicebotError as exc:
            log.error("call %s: synthesis failed: %s", self.call_id, exc)
            self._on_failure(str(exc))
            speech.done.set()
            return
        self._playout_until = started + sent_ms / 1000.0
        if not self.sink.supports_marks or not speech.marks:
            # No marks (AudioSocket): the transport paces, so sending done is playing done.
            speech.done.set()

    def _pad(self, pcm: bytes, whole: int) -> bytes:
        size = frame_bytes(self.rate_hz)
        rest = pcm[whole * size :]
        return rest + b"\x00" * (size - len(rest)) if rest else b""

    def _remaining_playout(self) -> float:
        return max(0.0, self._playout_until - time.monotonic()) + self.playout_grace_s
