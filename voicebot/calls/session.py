"""CallSession: one phone call, from the first frame to the record it leaves.

Inbound audio goes through voice activity detection; while the caller may be
speaking, frames (with a short pre-roll) feed a recogniser from the warm pool;
the end of their speech closes the turn, and the transcript goes to
understanding and the dialog step. The dialog's actions are carried out here:
speech is synthesized sentence by sentence and sent as it comes, with a mark
after each sentence so we know what the caller really heard; caller speech
during a prompt flushes it (barge-in). DTMF, hang-up and failures overtake
audio. Every failure of a stage ends in an apology and a hand-over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from voicebot.asr.vosk import RecognizerPool, VoskRecognizer
from voicebot.audio.frame import AudioFrame, frame_bytes
from voicebot.audio.framing import Framer
from voicebot.audio.vad import VadEvent, VoiceActivityDetector
from voicebot.calls.limits import DTMF_DIGITS, KEYPAD_PER_S, keypad_bucket
from voicebot.calls.record import CallRecord, CallRegistry, Turn, now_utc
from voicebot.calls.scripted import note_understanding
from voicebot.content.model import Content
from voicebot.dialog.events import (
    Action,
    CallStarted,
    Event,
    FetchLive,
    HandOver,
    HangUp,
    Heard,
    Keypad,
    Listen,
    LiveData,
    SendSms,
    Silence,
    Speak,
    StageFailed,
)
from voicebot.dialog.policy import LISTEN_TIMEOUT_MS, DialogContext, DialogState, step
from voicebot.errors import VoicebotError
from voicebot.nlu.understand import Understander
from voicebot.phone import caller_number
from voicebot.tts.base import Synthesizer

log = logging.getLogger(__name__)

LiveLookup = Callable[[str], Awaitable[LiveData]]


class MediaSink(Protocol):
    """The telephony side of one call (chan_websocket, AudioSocket)."""

    sample_rate_hz: int
    supports_marks: bool

    async def send_audio(self, pcm: bytes) -> None:
        """Whole 20 ms frames of 16-bit PCM at ``sample_rate_hz``."""

    async def flush(self) -> None:
        """Drop the audio queued toward the caller (barge-in)."""

    async def mark(self, name: str) -> None:
        """Ask to be told (``CallSession.mark_played``) when playout reaches this point."""

    async def hangup(self, route: str) -> None:
        """End the bot's leg; ``route`` is ``queue`` (hand-over) or ``hangup``."""


@dataclass
class CallServices:
    """What a process shares between its calls."""

    understander: Understander
    synthesizer: Synthesizer
    registry: CallRegistry
    recognizers: RecognizerPool | None = None
    live: LiveLookup | None = None
    stations: tuple[str, ...] = ()
    on_turn_latency: Callable[[float], None] | None = None
    on_end: Callable[[CallRecord], None] | None = None
    line_lost: Callable[[str, str | None], Awaitable[str]] | None = None
    """The line closed under a running dialog: the transport routes the caller if still
    there and says ``handed_over`` or ``abandoned``."""


@dataclass
class CallTimings:
    preroll_ms: int = 300
    decode_tail_ms: int = 200
    """Quiet after speech still decoded (the rest of the endpointing wait is not)."""
    max_utterance_s: float = 15.0
    max_call_s: float = 900.0
    playout_grace_s: float = 2.0
    listen_timeout_ms: int = LISTEN_TIMEOUT_MS
    """How long the bot waits for the caller to speak before a silence."""


@dataclass
class _Speech:
    """What is being said: its text, the marks sent, and when playout is done."""

    text: str
    marks: set[str] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    turn: Turn | None = None


class CallSession:
    def __init__(
        self,
        call_id: str,
        line: str,
        sink: MediaSink,
        services: CallServices,
        caller: str | None = None,
        transport: str = "websocket",
        timings: CallTimings | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.call_id = call_id
        self.sink = sink
        self.services = services
        self.timings = timings or CallTimings()
        self._now = now or (lambda: datetime.now().astimezone())
        content: Content = services.understander.content
        self.context = DialogContext(
            content.line(line),
            content.service,
            services.understander,
            services.stations,
            listen_timeout_ms=self.timings.listen_timeout_ms,
            sms_sender=False,  # no SMS sender exists yet: the dialog never offers one
        )
        self.state = DialogState(line=line)
        # The one place a caller id enters: every transport's number is stored in E.164.
        self.record = CallRecord(
            call_id=call_id, line=line, caller=caller_number(caller), transport=transport
        )
        self.rate_hz = sink.sample_rate_hz
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._audio: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=500)
        self._framer = Framer(self.rate_hz)
        self._vad = VoiceActivityDetector()
        self._preroll: deque[AudioFrame] = deque(maxlen=max(1, self.timings.preroll_ms // 20))
        self._recognizer: VoskRecognizer | None = None
        self._recognizer_ready = asyncio.Event()
        self._waiting_frames: list[AudioFrame] = []
        self._to_decode: list[AudioFrame] = []
        self._grammar: tuple[str, ...] | None = None
        self._feeding = False
        self._utterance_ms = 0
        self._speech_ended_at: float | None = None
        self._speaking: _Speech | None = None
        self._speak_task: asyncio.Task[None] | None = None
        self._silence_task: asyncio.Task[None] | None = None
        self._listen_timeout_ms = self.timings.listen_timeout_ms
        self._tasks: list[asyncio.Task[None]] = []
        self._mark_seq = 0
        self._playout_until = 0.0
        self.ended = asyncio.Event()
        self._hung_up_by_caller = False
        self._keys = keypad_bucket()

    # ------------------------------------------------------------ inbound (from the transport)
    def feed_audio(self, pcm: bytes) -> None:
        """Caller audio (16-bit PCM at the call's rate); never blocks the reader."""
        if self.ended.is_set():
            return
        try:
            self._audio.put_nowait(pcm)
        except asyncio.QueueFull:
            log.warning("call %s: inbound audio queue full, frame dropped", self.call_id)

    def feed_dtmf(self, digit: str) -> None:
        """A key from any transport; keys faster than a person presses them are ignored."""
        if digit not in DTMF_DIGITS:
            return
        if self._keys.allow():
            self._post(Keypad(digit))
        elif self._keys.first_refusal:
            log.warning(
                "call %s: keys arrive faster than %g a second: ignored (logged once)",
                self.call_id,
                KEYPAD_PER_S,
            )

    def mark_played(self, name: str) -> None:
        speech = self._speaking
        if speech is not None and name in speech.marks:
            speech.marks.discard(name)
            if not speech.marks and self._speak_task is not None and self._speak_task.done():
                if speech.turn is not None and speech.turn.heard_fully is None:
                    speech.turn.heard_fully = True  # Asterisk played the last mark
                speech.done.set()

    def caller_hung_up(self) -> None:
        self._hung_up_by_caller = True
        self._events.put_nowait(None)
        with contextlib.suppress(asyncio.QueueFull):
            self._audio.put_nowait(None)

    def service_stopped(self) -> None:
        """The service stops under the call: the caller goes to the agents' queue (ARI
        continues them there; the dialplan's fallback does in the other modes)."""
        self._end_to_queue("bot_stopped")

    def media_lost(self) -> None:
        """The transport refused the media leg (a bad message, or silent past its limit):
        not the caller's doing, so the caller goes to the queue."""
        self._end_to_queue("media_lost")

    def _end_to_queue(self, reason: str) -> None:
        self._route_to_queue(reason)
        self._events.put_nowait(None)
        with contextlib.suppress(asyncio.QueueFull):
            self._audio.put_nowait(None)

    def _route_to_queue(self, reason: str) -> None:
        """The call ends here and its caller goes to the queue (unless already decided)."""
        if self.record.outcome is None:
            self.record.outcome = "handed_over"
            self.record.route = "queue"
            self.record.handover_reason = reason

    async def _line_closed(self) -> None:
        """The line closed under a running dialog: the caller hung up, or the bot's leg
        was lost; the transport says which (ARI knows whether the caller is still there)."""
        ask = self.services.line_lost
        outcome = "abandoned"
        if ask is not None:
            intent = self.record.intents[-1] if self.record.intents else None
            try:
                outcome = await asyncio.wait_for(ask(self.call_id, intent), timeout=5.0)
            except (TimeoutError, VoicebotError) as exc:
                log.error("call %s: could not tell where the caller went: %s", self.call_id, exc)
        if outcome == "handed_over":
            self._route_to_queue("media_lost")
        else:
            self.record.outcome = "abandoned"

    def _post(self, event: Event) -> None:
        if not self.ended.is_set():
            self._events.put_nowait(event)

    # ------------------------------------------------------------ lifecycle
    async def run(self) -> CallRecord:
        """Carry the call to its end; returns the record (also given to the registry)."""
        self.services.registry.start(self.record)
        self._tasks = [
            asyncio.create_task(self._audio_loop(), name=f"audio-{self.call_id}"),
            asyncio.create_task(self._deadline(), name=f"deadline-{self.call_id}"),
        ]
        try:
            pool = self.services.recognizers
            if pool is not None:
                # A warm recogniser is ready at once; a new one warms while the greeting plays.
                self._tasks.append(asyncio.create_task(self._acquire(pool)))
            await self._apply(
                CallStarted(self._now(), self.record.caller, keypad_only=pool is None)
            )
            while not self.ended.is_set():
                event = await self._events.get()
                if event is None:
                    break
                await self._apply(event)
        except VoicebotError as exc:
            log.error("call %s: %s", self.call_id, exc)
            self._route_to_queue("error")
        finally:
            await self._close()
        return self.record

    async def _acquire(self, pool: RecognizerPool) -> None:
        try:
            recognizer = await pool.acquire()
            if self._grammar is not None:
                await recognizer.set_grammar(self._grammar)
        except VoicebotError as exc:
            self._post(StageFailed("asr", str(exc)))
            return
        if self.ended.is_set():
            await pool.release(recognizer)
            return
        # The caller may have started speaking before it was ready: decode that first.
        while self._waiting_frames:
            frames, self._waiting_frames = self._waiting_frames, []
            for frame in frames:
                await recognizer.accept(frame)
        self._recognizer = recognizer
        self._recognizer_ready.set()

    async def _close(self) -> None:
        self.ended.set()
        for task in [*self._tasks, self._speak_task, self._silence_task]:
            if task is not None and not task.done():
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, VoicebotError):
                await task
        if self._hung_up_by_caller and self.record.outcome is None:
            await self._line_closed()
        speech = self._speaking
        if speech is not None and not speech.done.is_set() and speech.turn is not None:
            speech.turn.heard_fully = False  # the line closed while it was being said
        if self._recognizer is not None and self.services.recognizers is not None:
            with contextlib.suppress(VoicebotError):
                await self.services.recognizers.release(self._recognizer)
            self._recognizer = None
        self.record.ended_at = now_utc()
        self.services.registry.finish(self.record)
        if self.services.on_end is not None:
            self.services.on_end(self.record)

    async def _deadline(self) -> None:
        await asyncio.sleep(self.timings.max_call_s)
        log.info("call %s: maximum call length reached", self.call_id)
        self._post(StageFailed("max_duration"))

    # ------------------------------------------------------------ dialog
    async def _apply(self, event: Event) -> None:
        if isinstance(event, Heard):
            self.record.turns.append(Turn("caller", event.text))
        elif isinstance(event, Keypad):
            self.record.turns.append(Turn("caller", f"[touche {event.digit}]"))
            await self._barge_in()
        self.state, actions = step(self.state, event, self.context)
        if isinstance(event, Heard | Keypad) and self.record.turns:
            self._annotate_caller_turn()
        for action in actions:
            await self._act(action)

    def _annotate_caller_turn(self) -> None:
        """The caller turn carries what the dialog understood in THAT turn (None: nothing)."""
        turn = self.record.turns[-1]
        meaning = self.state.last_turn
        if meaning is not None:
            turn.intent = meaning.intent
            turn.confidence = meaning.confidence
            turn.slots = dict(meaning.slots)
        note_understanding(self.record.intents, self.record.slots, self.state)

    async def _act(self, action: Action) -> None:
        if isinstance(action, Speak):
            await self._say(action.text, action.speed)
        elif isinstance(action, Listen):
            await self._listen(action)
        elif isinstance(action, FetchLive):
            self._tasks.append(asyncio.create_task(self._fetch_live(action.station)))
        elif isinstance(action, SendSms):
            # The record lists only messages really sent; no sender exists yet (and the
            # dialog asks for none without one), so nothing is recorded as sent.
            log.error("call %s: no SMS sender configured, message not sent", self.call_id)
        elif isinstance(action, HandOver):
            self.record.handover_reason = action.reason
            self.record.slots.update(action.slots)
            await self._finish("handed_over", "queue")
        elif isinstance(action, HangUp):
            await self._finish(action.outcome, "hangup")

    async def _finish(self, outcome: str, route: str) -> None:
        self.record.outcome = outcome
        self.record.route = route
        speech = self._speaking
        if speech is not None:
            # Let the last words play out before the line moves on.
            if self._speak_task is not None:
                with contextlib.suppress(asyncio.CancelledError, VoicebotError):
                    await self._speak_task
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(speech.done.wait(), timeout=self._remaining_playout())
        await self.sink.hangup(route)
        self.ended.set()
        self._events.put_nowait(None)

    async def _fetch_live(self, station: str) -> None:
        lookup = self.services.live
        if lookup is None:
            self._post(LiveData(station or None, available=False))
            return
        try:
            result = await asyncio.wait_for(lookup(station), timeout=4.0)
        except (TimeoutError, VoicebotError) as exc:
            log.warning("call %s: live data failed: %s", self.call_id, exc)
            result = LiveData(station or None, available=False)
        self._post(result)

    # ------------------------------------------------------------ speaking
    async def _say(self, text: str, speed: float) -> None:
        await self._barge_in(flush=False)
        turn = Turn("bot", text)
        self.record.turns.append(turn)
        speech = _Speech(text, turn=turn)
        self._speaking = speech
        self._speak_task = asyncio.create_task(self._speak(speech, speed))

    async def _speak(self, speech: _Speech, speed: float) -> None:
        started = time.monotonic()
        first = True
        sent_ms = 0.0
        try:
            async for chunk in self.services.synthesizer.stream(speech.text, self.rate_hz, speed):
                frames = [*Framer(self.rate_hz).push(chunk.pcm)]
                tail = self._pad(chunk.pcm, len(frames))
                if first:
                    self._note_latency(speech)
                    first = False
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
            self._post(StageFailed("tts", str(exc)))
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

    def _note_latency(self, speech: _Speech) -> None:
        if self._speech_ended_at is None or speech.turn is None:
            return
        latency = (time.monotonic() - self._speech_ended_at) * 1000.0
        speech.turn.latency_ms = latency
        self._speech_ended_at = None
        if self.services.on_turn_latency is not None:
            self.services.on_turn_latency(latency)

    def _remaining_playout(self) -> float:
        return max(0.0, self._playout_until - time.monotonic()) + self.timings.playout_grace_s

    async def _barge_in(self, flush: bool = True) -> None:
        """Stop what is being said; with ``flush``, also what Asterisk has queued."""
        speech = self._speaking
        if speech is None or speech.done.is_set():
            return
        if self._speak_task is not None and not self._speak_task.done():
            self._speak_task.cancel()
        if flush:
            await self.sink.flush()
            if speech.turn is not None:
                speech.turn.heard_fully = False
        speech.done.set()

    # ------------------------------------------------------------ listening
    async def _listen(self, action: Listen) -> None:
        self._listen_timeout_ms = action.timeout_ms
        changed = action.grammar != self._grammar
        self._grammar = action.grammar
        if self._recognizer is not None and changed:
            try:
                await self._recognizer.set_grammar(action.grammar)
            except VoicebotError as exc:
                self._post(StageFailed("asr", str(exc)))
                return
        if self._silence_task is not None:
            self._silence_task.cancel()
        self._silence_task = asyncio.create_task(self._silence_timer())

    async def _silence_timer(self) -> None:
        speech = self._speaking
        if speech is not None:
            await speech.done.wait()
        await asyncio.sleep(self._listen_timeout_ms / 1000.0)
        if not self._vad.in_speech and not self._feeding:
            self._post(Silence())

    async def _audio_loop(self) -> None:
        """Frames through the VAD one by one; decoding in batches of what has arrived."""
        while True:
            items = [await self._audio.get()]
            while not self._audio.empty() and len(items) < 25:  # behind: catch up in one go
                items.append(self._audio.get_nowait())
            for pcm in items:
                if pcm is None:
                    return
                for frame in self._framer.push(pcm):
                    await self._on_frame(frame)
            await self._decode_pending()

    async def _on_frame(self, frame: AudioFrame) -> None:
        event = self._vad.push(frame)
        if self.services.recognizers is None:  # keypad only: speech still interrupts prompts
            if event is VadEvent.SPEECH_START:
                await self._barge_in()
            return
        if event is VadEvent.SPEECH_START:
            await self._barge_in()
            if self._silence_task is not None:
                self._silence_task.cancel()
            self._feeding = True
            self._utterance_ms = 0
            for earlier in self._preroll:
                await self._feed(earlier)
            self._preroll.clear()
        if self._feeding:
            # Trailing quiet adds nothing to decode past a short tail: spare the CPU.
            if self._vad.quiet_ms <= self.timings.decode_tail_ms:
                await self._feed(frame)
            self._utterance_ms += 20
            too_long = self._utterance_ms >= self.timings.max_utterance_s * 1000
            if event is VadEvent.SPEECH_END or too_long:
                await self._end_of_turn()
        else:
            self._preroll.append(frame)

    async def _feed(self, frame: AudioFrame) -> None:
        self._to_decode.append(frame)

    async def _decode_pending(self) -> None:
        if not self._to_decode:
            return
        frames, self._to_decode = self._to_decode, []
        recognizer = self._recognizer
        if recognizer is None:  # still warming: keep the audio for when it is ready
            room = 50 * int(self.timings.max_utterance_s) - len(self._waiting_frames)
            self._waiting_frames.extend(frames[: max(0, room)])
            return
        batch = AudioFrame(b"".join(f.pcm for f in frames), self.rate_hz)
        try:
            await recognizer.accept(batch)
        except VoicebotError as exc:
            self._feeding = False
            self._post(StageFailed("asr", str(exc)))

    async def _end_of_turn(self) -> None:
        await self._decode_pending()
        self._feeding = False
        self._vad.reset()
        self._speech_ended_at = time.monotonic()
        if self._recognizer is None and self.services.recognizers is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._recognizer_ready.wait(), timeout=5.0)
        recognizer = self._recognizer
        if recognizer is None:
            self._post(StageFailed("asr", "no recogniser available"))
            return
        try:
            result = await recognizer.finish()
        except VoicebotError as exc:
            self._post(StageFailed("asr", str(exc)))
            return
        if not result.text:
            self._post(Silence())
            return
        alternatives = tuple((a.text, a.confidence) for a in result.alternatives) or (
            (result.text, result.confidence),
        )
        self._post(Heard(result.text, alternatives))
