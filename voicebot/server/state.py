"""What the service shares between calls, created once in the lifespan."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from voicebot.asr.vosk import RecognizerPool
from voicebot.calls.admission import ASSUMED, CAPACITY, Admission, cores
from voicebot.calls.record import CallRecord, CallRegistry, Turn
from voicebot.calls.scripted import live_figures
from voicebot.calls.session import CallServices, CallSession, CallTimings, MediaSink
from voicebot.calls.turns import TurnSettings
from voicebot.config import Settings
from voicebot.dialog.events import LiveData
from voicebot.live.gbfs import GbfsClient, LiveDataError
from voicebot.nlu.understand import Understander
from voicebot.phone import caller_number
from voicebot.server.engines import LoadedEngines
from voicebot.server.heap import CollectorPauses
from voicebot.server.recorder import CallRecorder
from voicebot.store import Store
from voicebot.telephony.ari import AriController
from voicebot.tts.cache import CachingSynthesizer

log = logging.getLogger(__name__)

STATIONS_RETRY_S = 60.0
"""After a failed fetch of the station names, the next call tries again no sooner."""


def admission_for(settings: Settings) -> Admission:
    """The admission limit until the costs are measured: the setting, or the one the
    assumed costs give on this machine's cores."""
    return Admission.for_machine(settings.max_calls, ASSUMED, cores(), settings.new_calls_per_s)


def turn_settings(settings: Settings) -> TurnSettings:
    return TurnSettings(
        confirm_ms=settings.turn_confirm_ms,
        end_short_ms=settings.turn_end_short_ms,
        end_ms=settings.turn_end_ms,
        end_long_ms=settings.turn_end_long_ms,
    )


STAGE_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0,
    1.25, 1.5, 2.0, 3.0, 5.0,
)  # fmt: skip
LAG_EVERY_S = 0.05


async def watch_loop(metrics: Metrics) -> None:
    """Measure, for ever, how late the event loop wakes a timer: every call's frames and
    timers wait that long too."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(LAG_EVERY_S)
        metrics.loop_lag.observe(max(0.0, loop.time() - asked - LAG_EVERY_S))


class EngineWork(Collector):
    """The engines' CPU time and the audio given to the recognisers, read when scraped:
    their ratio is what decoding really costs under the calls of the moment."""

    def __init__(self, engines: LoadedEngines) -> None:
        self.engines = engines

    def collect(self) -> Iterator[Metric]:
        cpu = CounterMetricFamily(
            "voicebot_engine_cpu_seconds",
            "CPU time of the engines' jobs (decoding, synthesis)",
            labels=["pool"],
        )
        for name, pool in (("asr", self.engines.asr_pool), ("tts", self.engines.tts_pool)):
            cpu.add_metric([name], pool.cpu_s)
        yield cpu
        audio = CounterMetricFamily(
            "voicebot_asr_audio_seconds", "Seconds of caller audio given to the recognisers"
        )
        audio.add_metric([], self.engines.asr_pool.audio_s)
        yield audio


class Metrics:
    """Prometheus metrics of one app (own registry: no global state)."""

    def __init__(self, engines: LoadedEngines, registry: CallRegistry) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter(
            "voicebot_calls",
            "Calls ended, by line and outcome",
            ["line", "outcome"],
            registry=self.registry,
        )
        self.handovers = Counter(
            "voicebot_handovers",
            "Hand-overs to a human, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.refused = Counter(
            "voicebot_media_refused",
            "Media connections refused, by code",
            ["reason"],
            registry=self.registry,
        )
        self.turn_latency = Histogram(
            "voicebot_turn_latency_seconds",
            "End of caller speech to first reply audio",
            buckets=(0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0),
            registry=self.registry,
        )
        self.turn_stage = Histogram(
            "voicebot_turn_stage_seconds",
            "Where a reply's latency goes: endpoint (waiting for more words), transcript "
            "(final decode), understanding, first_audio (synthesis and sending)",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "voicebot_event_loop_lag_seconds",
            "How late the event loop (every call's audio and timers) runs a 50 ms timer",
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        active = Gauge("voicebot_active_calls", "Calls in progress", registry=self.registry)
        active.set_function(lambda: len(registry.active))
        pending = Gauge(
            "voicebot_executor_pending",
            "Engine jobs running or queued",
            ["pool"],
            registry=self.registry,
        )
        pending.labels(pool="asr").set_function(lambda: engines.asr_pool.pending)
        self.registry.register(EngineWork(engines))
        pending.labels(pool="tts").set_function(lambda: engines.tts_pool.pending)
        self.gc_pauses = CollectorPauses()  # closed with the app: it hooks the collector
        self.registry.register(self.gc_pauses)

    def watch_admission(self, admission: Callable[[], Admission]) -> None:
        limit = Gauge(
            "voicebot_call_limit", "Calls this instance takes at once", registry=self.registry
        )
        limit.set_function(lambda: admission().limit)
        headroom = Gauge(
            "voicebot_call_headroom",
            "Calls this instance can still take now",
            registry=self.registry,
        )
        headroom.set_function(lambda: admission().headroom)

    def call_ended(self, record: CallRecord) -> None:
        self.calls.labels(line=record.line, outcome=record.outcome or "unknown").inc()
        if record.handover_reason:
            self.handovers.labels(reason=record.handover_reason).inc()


@dataclass
class AppState:
    settings: Settings
    engines: LoadedEngines
    understander: Understander
    registry: CallRegistry
    metrics: Metrics
    synthesizer: CachingSynthesizer
    gbfs: GbfsClient | None = None
    pools: dict[int, RecognizerPool] = field(default_factory=dict)
    sessions: dict[str, CallSession] = field(default_factory=dict)
    prompts_ready: bool = False
    warmed: bool = False
    """Every warm-up step done: recognisers for the calls it admits, the fixed prompts."""
    admission: Admission = field(default_factory=lambda: Admission.for_machine(None, ASSUMED, 1))
    """How many calls this process takes (see :func:`admission_for`)."""
    ari: AriController | None = None
    store: Store | None = None
    """Durable storage (calls, hand-over queue, accounts), opened in the lifespan."""
    recorder: CallRecorder | None = None
    """Copies the calls to the store, off the event loop."""
    awaiting_route: set[str] = field(default_factory=set)
    """Calls a stop ended whose route the dialplan has not asked for yet (plain dialplan
    mode): the stop waits for those questions before the server stops listening."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    """When calls happen (agents' hours); tests set it."""
    station_refresh: asyncio.Task[None] | None = field(default=None, init=False)
    """The background fetch of the bike station names, when one is running."""
    _stations_tried_at: float | None = field(default=None, init=False)

    @property
    def ari_status(self) -> str:
        """``off`` (plain dialplan mode), ``connected`` or ``disconnected``."""
        if self.ari is None:
            return "off"
        return "connected" if self.ari.connected.is_set() else "disconnected"

    def recognizers(self, rate_hz: int) -> RecognizerPool | None:
        model = self.engines.asr_model
        if model is None:
            return None
        if rate_hz not in self.pools:
            self.pools[rate_hz] = RecognizerPool(
                model,
                self.engines.asr_pool,
                rate_hz,
                self.settings.asr_alternatives,
                max_idle=16,
                warmup=self.engines.warmup,
            )
        return self.pools[rate_hz]

    async def live(self, spoken: str) -> LiveData:
        return await live_figures(self.gbfs, spoken)

    def stations(self) -> tuple[str, ...]:
        """The live station names known now, for the station grammar; never waits.

        When they are missing or older than an hour, a fetch starts in the background:
        the calls that start after it has finished get the names.
        """
        if self.gbfs is None:
            return ()
        now = time.monotonic()
        retry = self._stations_tried_at is None or now - self._stations_tried_at > STATIONS_RETRY_S
        idle = self.station_refresh is None or self.station_refresh.done()
        if self.gbfs.names_stale() and idle and retry:
            self._stations_tried_at = now
            self.station_refresh = asyncio.create_task(
                self._refresh_stations(self.gbfs), name="gbfs-station-names"
            )
        return self.gbfs.known_names()

    @staticmethod
    async def _refresh_stations(gbfs: GbfsClient) -> None:
        try:
            names = await gbfs.refresh_names()
        except LiveDataError as exc:
            log.warning("bike station names unavailable (no station grammar): %s", exc)
            return
        log.info("%d bike station names loaded", len(names))

    def new_session(
        self, call_id: str, line: str, sink: MediaSink, caller: str | None, transport: str
    ) -> CallSession:
        services = CallServices(
            understander=self.understander,
            synthesizer=self.synthesizer,
            registry=self.registry,
            recognizers=self.recognizers(sink.sample_rate_hz),
            live=self.live,
            stations=self.stations(),
            observers=(self,),
            line_lost=self._line_lost,
            vad=self.engines.vad,
        )
        timings = CallTimings(
            max_call_s=float(self.settings.max_call_s),
            listen_timeout_ms=self.settings.listen_timeout_ms,
            turns=turn_settings(self.settings),
            notice_protect_ms=self.settings.notice_protect_ms,
        )
        session = CallSession(
            call_id, line, sink, services, caller, transport, timings, now=self.clock
        )
        self.sessions[call_id] = session
        return session

    async def _line_lost(self, call_id: str, intent: str | None) -> str:
        """A call's line closed under its dialog: ARI knows whether its caller is still
        there (and routes them); without ARI a closed line is a caller who hung up."""
        if self.ari is None:
            return "abandoned"
        return await self.ari.line_lost(call_id, intent)

    def overflowed(self, call_id: str, line: str, caller: str | None, transport: str) -> None:
        """A call refused for capacity: recorded as handed over (reason ``capacity``), so
        that the queue shows it and the dialplan's route question gets its answer."""
        record = CallRecord(call_id, line, caller=caller_number(caller), transport=transport)
        record.outcome, record.route, record.handover_reason = "handed_over", "queue", CAPACITY
        self.routed_without_session(record)

    def routed_without_session(self, record: CallRecord) -> None:
        """A caller ARI sent to the queue before any session took the call (the bot's
        leg could not be created): recorded like any call, so the queue shows it."""
        self.registry.start(record)
        self.registry.finish(record)
        self._ended(record)

    def turn(self, record: CallRecord, turn: Turn) -> None:
        if turn.latency_ms is not None:
            self.metrics.turn_latency.observe(turn.latency_ms / 1000.0)
        if turn.stages_ms:
            self.admission.replied(
                sum(ms for stage, ms in turn.stages_ms.items() if stage != "endpoint")
            )
        for stage, ms in turn.stages_ms.items():
            self.metrics.turn_stage.labels(stage=stage).observe(ms / 1000.0)

    def ended(self, record: CallRecord) -> None:
        self._ended(record)

    def _ended(self, record: CallRecord) -> None:
        self.sessions.pop(record.call_id, None)
        self.metrics.call_ended(record)
        if self.recorder is not None:
            self.recorder.ended(record)
