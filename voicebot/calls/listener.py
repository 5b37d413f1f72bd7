"""The input stage of a call: caller audio to turn events, frame by frame.

Framing, the echo guard (what the bot's own voice explains is not the
caller), the voice gate (Silero or energy, over the learnt background), the
turn detector and the pre-roll. It never waits on decoding: audio for the
recogniser goes to the recognition stage's bounded queue. A confirmed voice
stops an interruptible prompt at once (barge-in); a voice that turns out not
to be speech (a cough, a door) never does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from voicebot.audio.echo import EchoGuard
from voicebot.audio.frame import AudioFrame
from voicebot.audio.framing import Framer
from voicebot.audio.vad import FrameVoice, VoiceGate
from voicebot.calls.recognition import Recognition
from voicebot.calls.speaker import Speaker
from voicebot.calls.turns import Ending, TurnDetector, TurnEvent

log = logging.getLogger(__name__)

INBOUND_QUEUE = 500
"""Frames from the transport not yet examined (10 s); beyond, frames are dropped."""


class Listener:
    def __init__(
        self,
        call_id: str,
        rate_hz: int,
        echo: EchoGuard,
        gate: VoiceGate,
        turns: TurnDetector,
        speaker: Speaker,
        recognition: Recognition | None,
        on_speech: Callable[[], None],
        on_turn_end: Callable[[float], Awaitable[None]],
        preroll_ms: int = 300,
        decode_tail_ms: int = 200,
    ) -> None:
        self.call_id = call_id
        self.echo = echo
        self.gate = gate
        self.turns = turns
        self.speaker = speaker
        self.recognition = recognition
        self._on_speech = on_speech
        self._on_turn_end = on_turn_end
        self.decode_tail_ms = decode_tail_ms
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=INBOUND_QUEUE)
        self._framer = Framer(rate_hz)
        self._preroll: deque[AudioFrame] = deque(maxlen=max(1, preroll_ms // 20))
        self._feeding = False
        self._barged = False
        self._last_voiced_at: float | None = None
        self._last: tuple[FrameVoice, float] | None = None
        """The last frame's voice and echo floor (what confirmed a barge-in, for the log)."""
        self.barge_ins: list[float] = []
        """When this call's prompts were stopped by the caller's voice (monotonic)."""

    @property
    def speaking(self) -> bool:
        """The caller may be speaking now (no silence timeout while so)."""
        return self.turns.speaking

    # ------------------------------------------------------------ from the transport
    def feed(self, pcm: bytes) -> bool:
        """Queue caller audio; False when the queue is full (the frame is dropped)."""
        try:
            self._queue.put_nowait(pcm)
        except asyncio.QueueFull:
            return False
        return True

    def stop(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def run(self) -> None:
        while True:
            pcm = await self._queue.get()
            if pcm is None:
                return
            for frame in self._framer.push(pcm):
                await self._on_frame(frame)

    # ------------------------------------------------------------ from the recogniser
    async def words(self, kind: Ending) -> None:
        """The partial transcript has words, ending as ``kind``."""
        self._last = None
        if self.turns.heard_words(kind) is TurnEvent.CONFIRMED:
            await self._confirmed()

    # ------------------------------------------------------------ per frame
    async def _on_frame(self, frame: AudioFrame) -> None:
        check = self.echo.process(frame.to_array())
        voice = self.gate.push(check.residual, check.echo_floor_dbfs, self.turns.candidate)
        self._last = (voice, check.echo_floor_dbfs)
        if voice.voiced:
            self._last_voiced_at = time.monotonic()
        cleaned = AudioFrame(check.residual.tobytes(), frame.sample_rate_hz)
        event = self.turns.push(voice.voiced)
        if event in (TurnEvent.CANDIDATE, TurnEvent.CONFIRMED) and not self._feeding:
            self._start_feeding()
        if self._feeding:
            if self.turns.quiet_ms <= self.decode_tail_ms or event is TurnEvent.ENDED:
                # Speech is decoded a few frames at a time, a quiet frame at once.
                self._to_recogniser(cleaned, flush=self.turns.quiet_ms > 0)
        else:
            self._preroll.append(cleaned)
        if event is TurnEvent.CONFIRMED:
            await self._confirmed()
        elif self.turns.confirmed and not self._barged and self.speaker.interruptible():
            await self._barge_in()  # confirmed during a protected start: stop it now
        elif event is TurnEvent.DROPPED:
            self._stop_feeding(keep=False)
        elif event is TurnEvent.ENDED:
            self._stop_feeding(keep=True)
            log.debug(
                "call %s: turn ended after %d ms of silence (wait %d ms)",
                self.call_id,
                self.turns.wait_ms_at_end,
                self.turns.wait_that_ended,
            )
            quiet_s = self.turns.wait_ms_at_end / 1000.0
            await self._on_turn_end(time.monotonic() - quiet_s)

    def _start_feeding(self) -> None:
        self._feeding = True
        self._barged = False
        for earlier in self._preroll:
            self._to_recogniser(earlier)
        self._preroll.clear()

    def _stop_feeding(self, keep: bool) -> None:
        self._feeding = False
        if self.recognition is not None:
            self.recognition.close(keep)

    def _to_recogniser(self, frame: AudioFrame, flush: bool = False) -> None:
        if self.recognition is not None:
            self.recognition.audio(frame, flush)

    async def _confirmed(self) -> None:
        self._on_speech()
        if self.speaker.interruptible():
            await self._barge_in()

    async def _barge_in(self) -> None:
        self._barged = True
        if await self.speaker.stop(flush=True):
            self.barge_ins.append(time.monotonic())
            log.debug("call %s: barge-in, confirmed by %s", self.call_id, self._evidence())

    def _evidence(self) -> str:
        if self._last is None:
            return "the words of the partial transcript"
        voice, echo_floor = self._last
        return (
            f"voice (level {voice.level_dbfs:.0f} dBFS, floor {voice.floor_dbfs:.0f}, "
            f"background {voice.background_dbfs:.0f}, echo {echo_floor:.0f}, "
            f"p={voice.probability:.2f})"
        )
