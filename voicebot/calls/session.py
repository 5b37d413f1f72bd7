"""CallSession: one phone call, from the first frame to the record it leaves.

Stages with one owner each, joined by bounded queues:

- the listener (:mod:`voicebot.calls.listener`): framing, echo guard, voice
  gate, turn detection, pre-roll; never blocked by decoding;
- the recognition (:mod:`voicebot.calls.recognition`): a warm recogniser fed
  from its own queue, partials and finals;
- the speaker (:mod:`voicebot.calls.speaker`): synthesis, marks, flush,
  ``heard_fully``, and the echo guard's reference;
- the conductor (this module): events in, the pure dialog step, its actions
  carried out, and the call's outcome, decided here only.

DTMF, hang-up and failures overtake audio. Every failure of a stage ends in
an apology and a hand-over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from voicebot.asr.vosk import RecognizerPool
from voicebot.audio.echo import EchoGuard
from voicebot.audio.vad import SileroModel, new_gate
from voicebot.calls.limits import DTMF_DIGITS, KEYPAD_PER_S, keypad_bucket
from voicebot.calls.listener import Listener
from voicebot.calls.recognition import Recognition
from voicebot.calls.record import CallRecord, CallRegistry, Turn, now_utc, stages
from voicebot.calls.scripted import note_understanding
from voicebot.calls.speaker import Speaker, Speech
from voicebot.calls.turns import Ending, TurnDetector, TurnSettings, ending
from voicebot.content.model import Content, Slot
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


class CallObserver(Protocol):
    """Told by the conductor, the one owner of a call's turns and outcome."""

    def turn(self, record: CallRecord, turn: Turn) -> None:
        """A turn was taken: the caller's once understood, the bot's once it sounds."""

    def ended(self, record: CallRecord) -> None:
        """The call ended; ``record.outcome`` and ``record.route`` are final."""


@dataclass
class CallServices:
    """What a process shares between its calls."""

    understander: Understander
    synthesizer: Synthesizer
    registry: CallRegistry
    recognizers: RecognizerPool | None = None
    live: LiveLookup | None = None
    stations: tuple[str, ...] = ()
    observers: tuple[CallObserver, ...] = ()
    """Who follows the calls (metrics, recorder): told of each turn and of each end."""
    line_lost: Callable[[str, str | None], Awaitable[str]] | None = None
    """The line closed under a running dialog: the transport routes the caller if still
    there and says ``handed_over`` or ``abandoned``."""
    vad: SileroModel | None = None
    """The trained voice detector (None: the energy one)."""


@dataclass
class CallTimings:
    preroll_ms: int = 300
    decode_tail_ms: int = 200
    """Quiet after speech still decoded (the rest of the endpointing wait is not)."""
    max_call_s: float = 900.0
    playout_grace_s: float = 2.0
    listen_timeout_ms: int = LISTEN_TIMEOUT_MS
    """How long the bot waits for the caller to speak before a silence."""
    turns: TurnSettings = field(default_factory=TurnSettings)
    notice_protect_ms: int = 0
    """The greeting's first milliseconds the caller's voice does not interrupt."""


class CallSession:
    """The conductor: events in, one dialog step at a time, actions carried out by the
    stages (listener, recognition, speaker). It alone decides the call's outcome."""

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
            notice_protect_ms=self.timings.notice_protect_ms,
        )
        self.state = DialogState(line=line)
        # The one place a caller id enters: every transport's number is stored in E.164.
        self.record = CallRecord(
            call_id=call_id, line=line, caller=caller_number(caller), transport=transport
        )
        self.rate_hz = sink.sample_rate_hz
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self.echo = EchoGuard(self.rate_hz)
        self.speaker = Speaker(
            call_id,
            sink,
            services.synthesizer,
            self.echo,
            on_failure=lambda detail: self._post(StageFailed("tts", detail)),
            on_first_audio=self._note_latency,
            playout_grace_s=self.timings.playout_grace_s,
        )
        pool = services.recognizers
        self.recognition = (
            Recognition(call_id, pool, self._post, self._words) if pool is not None else None
        )
        self.turns = TurnDetector(self.timings.turns)
        self.listener = Listener(
            call_id,
            self.rate_hz,
            self.echo,
            new_gate(self.rate_hz, services.vad),
            self.turns,
            self.speaker,
            self.recognition,
            on_speech=self._caller_speaks,
            on_turn_end=self._turn_ended,
            preroll_ms=self.timings.preroll_ms,
            decode_tail_ms=self.timings.decode_tail_ms,
        )
        self._speech_ended_at: float | None = None
        self._marks: dict[str, float] = {}
        """When the caller's turn passed each stage (monotonic), until its reply sounds."""
        self._speculated = ""
        self._silence_task: asyncio.Task[None] | None = None
        self._listen_timeout_ms = self.timings.listen_timeout_ms
        self._tasks: list[asyncio.Task[None]] = []
        self.ended = asyncio.Event()
        self._hung_up_by_caller = False
        self._keys = keypad_bucket()

    # ------------------------------------------------------------ inbound (from the transport)
    def feed_audio(self, pcm: bytes) -> None:
        """Caller audio (16-bit PCM at the call's rate); never blocks the reader."""
        if self.ended.is_set():
            return
        if not self.listener.feed(pcm):
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
        self.speaker.mark_played(name)

    def caller_hung_up(self) -> None:
        self._hung_up_by_caller = True
        self._events.put_nowait(None)
        self.listener.stop()

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
        self.listener.stop()

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
            asyncio.create_task(self.listener.run(), name=f"listener-{self.call_id}"),
            asyncio.create_task(self._deadline(), name=f"deadline-{self.call_id}"),
        ]
        if self.recognition is not None:
            # A warm recogniser is ready at once; a new one warms while the greeting plays.
            self._tasks.append(
                asyncio.create_task(self.recognition.run(), name=f"recognition-{self.call_id}")
            )
        try:
            await self._apply(
                CallStarted(self._now(), self.record.caller, keypad_only=self.recognition is None)
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

    async def _close(self) -> None:
        self.ended.set()
        self.listener.stop()
        self.speaker.close()
        for task in [*self._tasks, self._silence_task]:
            if task is not None and not task.done():
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, VoicebotError):
                await task
        if self._hung_up_by_caller and self.record.outcome is None:
            await self._line_closed()
        if self.recognition is not None:
            await self.recognition.release()
        self.record.ended_at = now_utc()
        self.services.registry.finish(self.record)
        for observer in self.services.observers:
            observer.ended(self.record)

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
            await self.speaker.stop()  # a key always interrupts, at once
        if isinstance(event, Heard):
            self._marks.setdefault("transcript", time.monotonic())
            # Understanding the n-best list is CPU work: off the event loop, so other
            # calls' audio keeps flowing meanwhile.
            self.state, actions = await asyncio.to_thread(step, self.state, event, self.context)
            self._marks.setdefault("understanding", time.monotonic())
        else:
            self.state, actions = step(self.state, event, self.context)
        if isinstance(event, Heard | Keypad) and self.record.turns:
            self._annotate_caller_turn()
            self._publish(self.record.turns[-1])
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
            turn = Turn("bot", action.text)
            self.record.turns.append(turn)
            await self.speaker.say(action.text, action.speed, turn, action.protect_ms)
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
        await self.speaker.finish()  # the last words play out before the line moves on
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

    def _note_latency(self, speech: Speech) -> None:
        """The bot's turn sounds: how long after the caller's speech ended."""
        if speech.turn is None:
            return
        if self._speech_ended_at is not None:
            now = time.monotonic()
            speech.turn.latency_ms = (now - self._speech_ended_at) * 1000.0
            speech.turn.stages_ms = stages(self._speech_ended_at, self._marks, now)
            self._speech_ended_at = None
            self._marks = {}
        self._publish(speech.turn)

    def _publish(self, turn: Turn) -> None:
        for observer in self.services.observers:
            observer.turn(self.record, turn)

    # ------------------------------------------------------------ listening
    async def _listen(self, action: Listen) -> None:
        self._listen_timeout_ms = action.timeout_ms
        if self.recognition is not None:
            try:
                await self.recognition.set_grammar(action.grammar)
            except VoicebotError as exc:
                self._post(StageFailed("asr", str(exc)))
                return
        if self._silence_task is not None:
            self._silence_task.cancel()
        self._silence_task = asyncio.create_task(
            self._silence_timer(), name=f"silence-{self.call_id}"
        )

    async def _silence_timer(self) -> None:
        speech = self.speaker.current
        if speech is not None:
            await speech.done.wait()
        await asyncio.sleep(self._listen_timeout_ms / 1000.0)
        busy = self.recognition is not None and self.recognition.busy
        if not self.listener.speaking and not busy:
            self._post(Silence())

    def _caller_speaks(self) -> None:
        """Confirmed caller speech: no silence prompt while they talk."""
        if self._silence_task is not None:
            self._silence_task.cancel()

    async def _turn_ended(self, speech_ended_at: float) -> None:
        self._speech_ended_at = speech_ended_at
        self._marks = {"endpoint": time.monotonic()}

    async def _words(self, text: str) -> bool:
        """A partial transcript: how it ends tells the turn detector how long to wait.
        True when it is a complete request (the turn may end on it)."""
        spelling = False
        slot = self._asked_slot()
        if slot is not None:
            spelling = slot.kind == "dossier"
        # A request needs two words to be complete; a value asked for may be one (« oui »).
        words = 1 if slot is not None else 2
        kind = ending(text, await asyncio.to_thread(self._complete, text), spelling, words)
        # The words themselves stay out of the log: transcripts are kept only as long as
        # the retention settings say, in the store.
        log.debug(
            "call %s: partial of %d words ends %s", self.call_id, len(text.split()), kind.value
        )
        if kind is not Ending.HANGING and text != self._speculated:
            # The turn may end on these words: render the reply's start meanwhile (for
            # words not understood, the reply is a fixed prompt, rendered already).
            self._speculated = text
            _, actions = await asyncio.to_thread(step, self.state, Heard(text), self.context)
            speak = next((a for a in actions if isinstance(a, Speak)), None)
            if speak is not None:
                self.speaker.prefetch(speak.text, speak.speed)
        await self.listener.words(kind)
        return kind is Ending.COMPLETE

    def _asked_slot(self) -> Slot | None:
        name = self.state.asking_slot
        if self.state.phase != "slot" or not name:
            return None
        return self.context.line.slots.get(name)

    def _complete(self, text: str) -> bool:
        """Whether these words already make a request the understanding is sure of (or,
        when a value was asked for, contain it)."""
        understander = self.services.understander
        line, today = self.state.line, self.state.today
        slot = self._asked_slot()
        if slot is not None:
            if slot.kind in ("dossier", "address", "text"):
                return False
            found = understander.slots_for(text, line, [slot.name], today, self.context.stations)
            return bool(found)
        meaning = understander.understand(text, line, today, self.context.stations)
        return meaning.intent is not None and meaning.confidence >= self.context.act_above
