"""The FastAPI application: settings validated, content and engines loaded once, at start."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from voicebot import __version__
from voicebot.asr.vosk import RecognizerPool
from voicebot.calls.admission import LiveCost, cores
from voicebot.calls.record import CallRegistry
from voicebot.config import Settings
from voicebot.console.auth import Guard, Viewer
from voicebot.console.router import create_console_router
from voicebot.content import load_content
from voicebot.dialog.render import fixed_prompts
from voicebot.errors import VoicebotError
from voicebot.live.gbfs import GbfsClient
from voicebot.nlu.understand import Understander
from voicebot.server import heap, systemd
from voicebot.server.capacity import measure_costs
from voicebot.server.engines import load_engines
from voicebot.server.media import authorized, media_endpoint
from voicebot.server.readiness import DatabaseProbe
from voicebot.server.recorder import CallRecorder
from voicebot.server.state import AppState, Metrics, admission_for, watch_loop
from voicebot.store import Store
from voicebot.telephony.ari import AriController
from voicebot.telephony.audiosocket import AudioSocketServer
from voicebot.tts.cache import CachingSynthesizer

log = logging.getLogger(__name__)


async def preload_prompts(state: AppState) -> None:
    """Render every fixed prompt once, before callers need them: at 16 kHz, then at 8 kHz
    when narrowband calls are expected (else an 8 kHz call has its prompts rendered then)."""
    texts = fixed_prompts(state.understander.content)
    started = time.monotonic()
    for rate in (16000, 8000) if narrowband_expected(state.settings) else (16000,):
        try:
            await state.synthesizer.preload(texts, rate)
        except VoicebotError as exc:
            log.warning("prompts could not be rendered in advance: %s", exc)
            return
    state.prompts_ready = True
    log.info("%d prompts rendered in %.1f s", len(texts), time.monotonic() - started)


def start_recorder(state: AppState, store: Store) -> CallRecorder:
    """Calls written to the store as they go, and purged past the retention limits."""
    settings = state.settings
    recorder = CallRecorder(
        store,
        state.registry,
        settings.instance_id,
        purge_interval_s=settings.purge_interval_s,
        content_days=settings.retention_content_days,
        stats_days=settings.retention_stats_days,
    )
    state.store = store
    state.recorder = recorder
    return recorder


async def end_calls(state: AppState, timeout_s: float = 3.0) -> None:
    """Stop: every call in progress is handed to the agents' queue (``bot_stopped``),
    recorded so, and routed by ARI while its sockets are still open."""
    state.awaiting_route.update(
        s.call_id
        for s in state.sessions.values()
        if state.ari is None or not state.ari.owns(s.call_id)
    )
    for session in list(state.sessions.values()):
        session.service_stopped()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while state.sessions and loop.time() < deadline:
        await asyncio.sleep(0.05)
    if state.ari is not None:
        await state.ari.wait_routed(timeout_s)
    # Without ARI, Asterisk asks /calls/<id>/route once the bot's leg has closed: answer
    # that before the server stops listening (else the caller's reason is lost).
    while state.awaiting_route and loop.time() < deadline:
        await asyncio.sleep(0.05)
    state.awaiting_route.clear()  # not asked in time: the dialplan's fallback queues them


def narrowband_expected(settings: Settings) -> bool:
    """Whether calls will arrive at 8 kHz (AudioSocket, or ulaw/alaw/slin over ARI)."""
    audiosocket = settings.audiosocket_port is not None and settings.audiosocket_rate_hz == 8000
    ari = settings.ari_url is not None and settings.ari_media_format != "slin16"
    return audiosocket or ari


async def warm_up(state: AppState) -> None:
    """After readiness, in the background, one step at a time so that a core stays free
    for the calls taken meanwhile: recognisers for the first calls (8 kHz ones first when
    calls will be narrowband), then the fixed prompts. A call that finds no warm
    recogniser gets a new one, warmed while it is greeted; a prompt not rendered yet is
    rendered when first said."""
    await warm_narrowband(state)
    pool = state.pools.get(16000)
    if pool is not None:
        await warm(pool, first_warm(state.settings))
    await measure_capacity(state)
    await preload_prompts(state)
    if state.settings.asr_warm_recognizers is None:
        await warm_to_capacity(state)
    heap.settle()  # the warm recognisers and rendered prompts stay too
    state.warmed = True


FIRST_WARM = 12
"""Recognisers warmed before the costs are measured (the first calls' ones)."""


def first_warm(settings: Settings) -> int:
    chosen = settings.asr_warm_recognizers
    return FIRST_WARM if chosen is None else chosen


async def warm(pool: RecognizerPool, count: int) -> None:
    started, before = time.monotonic(), pool.idle
    try:
        await pool.warm(count)
    except VoicebotError as exc:
        log.warning("recognisers could not be warmed: %s", exc)
    log.info(
        "%d recognisers (%d Hz) warmed in %.1f s",
        pool.idle - before,
        pool.sample_rate_hz,
        time.monotonic() - started,
    )


async def warm_to_capacity(state: AppState) -> None:
    """One warm recogniser for every call the instance admits: a new recogniser decodes
    its first words about ten times slower, and a burst of calls on new ones costs the
    calls in progress their turn. Warming waits behind every call's decoding."""
    pool = state.recognizers(8000) if narrowband_expected(state.settings) else None
    pool = pool or state.pools.get(16000)
    if pool is None:
        return
    limit = state.admission.limit
    pool.max_idle = max(pool.max_idle, limit)
    await warm(pool, max(0, limit - pool.idle - state.admission.active))


LIVE_EVERY_S = 5.0


async def steer_admission(state: AppState) -> None:
    """Once warm, the admission limit follows the replies' latency, within what calls
    really cost on this machine (the process's processor time per second of call),
    unless a setting fixed it (:meth:`Admission.steer`)."""
    live = LiveCost()
    while True:
        await asyncio.sleep(LIVE_EVERY_S)
        if not state.warmed:
            continue
        per_call = live.sample(time.monotonic(), time.process_time(), state.admission.active)
        state.admission.steer(cores(), per_call)


async def measure_capacity(state: AppState) -> None:
    """The cost model on this machine, and the admission limit it gives (unless set)."""
    pool = state.pools.get(8000) if narrowband_expected(state.settings) else None
    pool = pool or state.pools.get(16000)
    if pool is None:
        return
    costs = await measure_costs(
        pool, state.engines.synthesizer, state.engines.vad, state.understander
    )
    state.admission.measured(costs, cores())
    admission = state.admission
    log.info(
        "capacity: %d calls (%s); decoding %.2f core-s per second of speech, listening "
        "%.3f core-s per second of line, a reply %.2f core-s, understanding a turn "
        "%.4f core-s, %d cores",
        admission.limit,
        admission.source,
        costs.decode_per_s,
        costs.listen_per_s,
        costs.reply,
        costs.understand,
        cores(),
    )


ROUTE_WAIT_S = 1.0
"""How long a route question waits for another instance to write that a call it had is
finished (its recorder writes it within a fraction of a second)."""


async def stored_route(state: AppState | None, call_id: str) -> tuple[str, str, str] | None:
    """A call's route from the shared store (an unfinished call is waited for, a little);
    None when no instance had it or the store does not answer."""
    store = state.store if state is not None else None
    if store is None:
        return None
    deadline = time.monotonic() + ROUTE_WAIT_S
    while True:
        try:
            found = await asyncio.wait_for(
                asyncio.to_thread(store.call_route, call_id), ROUTE_WAIT_S
            )
        except (TimeoutError, VoicebotError) as exc:
            log.warning("route of call %s: the store did not answer (%s): queue", call_id, exc)
            return None
        if found is None:
            return None  # no instance ever had it
        if found[0] != "open":
            return found
        if time.monotonic() >= deadline:
            return "queue", "", found[2]  # still open: the caller is not left waiting
        await asyncio.sleep(0.1)


async def warm_narrowband(state: AppState) -> None:
    """Warm 8 kHz recognisers in the background: a fresh one decodes its first words slowly."""
    if not narrowband_expected(state.settings):
        return
    pool = state.recognizers(8000)
    if pool is None:
        return
    try:
        await pool.warm(max(1, first_warm(state.settings) // 2))
    except VoicebotError as exc:
        log.warning("8 kHz recognisers could not be warmed: %s", exc)


async def start_audiosocket(state: AppState) -> asyncio.Server | None:
    """AudioSocket over TCP, for PBXs older than 22.6, when a port is set."""
    settings = state.settings
    if settings.audiosocket_port is None:
        return None
    server = AudioSocketServer(
        lambda call_id, sink: state.new_session(
            call_id, settings.default_line, sink, None, "audiosocket"
        ),
        settings.audiosocket_rate_hz,
        start_timeout_s=settings.media_start_timeout_ms / 1000.0,
        idle_timeout_s=float(settings.media_idle_timeout_s),
        admission=state.admission,
        overflowed=lambda call_id: state.overflowed(
            call_id, settings.default_line, None, "audiosocket"
        ),
    )
    listener = await asyncio.start_server(server.handle, settings.host, settings.audiosocket_port)
    log.info("AudioSocket listening on %s:%s", settings.host, settings.audiosocket_port)
    return listener


def start_ari(state: AppState) -> tuple[AriController, asyncio.Task[None]] | None:
    """ARI control of calls when VOICEBOT_ARI_URL is set (else plain dialplan mode)."""
    if state.settings.ari_url is None:
        return None

    def dtmf(call_id: str, digit: str) -> None:
        session = state.sessions.get(call_id)
        if session is not None:
            session.feed_dtmf(digit)

    controller = AriController(
        state.settings,
        state.registry.get,
        dtmf,
        unattended=state.routed_without_session,
        admission=state.admission,
    )
    state.ari = controller
    return controller, asyncio.create_task(controller.run(), name="ari")


def create_app(settings: Settings) -> FastAPI:
    content = load_content(settings.prompts_dir)  # a content error stops the start, clearly

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Ready once a call gets speech: the store, the voice and the recognition model,
        # loaded side by side. Warming recognisers and prompts comes after, in the background.
        store, engines = await asyncio.gather(
            asyncio.to_thread(Store.open, settings.database_url), load_engines(settings)
        )
        registry = CallRegistry()
        state = AppState(
            settings=settings,
            engines=engines,
            understander=await asyncio.to_thread(Understander, content),
            registry=registry,
            metrics=Metrics(engines, registry),
            synthesizer=CachingSynthesizer(engines.synthesizer),
            gbfs=GbfsClient(content.service.gbfs_url) if content.service.gbfs_url else None,
        )
        state.admission = admission_for(settings)
        state.metrics.watch_admission(lambda: state.admission)
        if engines.asr_model is not None:
            state.pools[16000] = engines.recognizers  # type: ignore[assignment]
        if settings.media_password is None:
            log.warning("VOICEBOT_MEDIA_PASSWORD is not set: every call will be refused")
        recorder = start_recorder(state, store)
        await recorder.start()
        app.state.voicebot = state
        warming = asyncio.create_task(warm_up(state))
        lag = asyncio.create_task(watch_loop(state.metrics), name="loop-lag")
        steering = asyncio.create_task(steer_admission(state), name="admission")
        state.stations()  # bike station names fetched in the background for the first calls
        audiosocket = await start_audiosocket(state)
        ari = start_ari(state)
        heap.settle()  # what start-up loaded lives as long as the process
        log.info("voicebot ready: %s", engines.describe())
        supervised = systemd.supervise(settings.host, settings.port)
        try:
            yield
        finally:
            systemd.notify("STOPPING=1")
            warming.cancel()
            lag.cancel()
            steering.cancel()
            if state.station_refresh is not None:
                state.station_refresh.cancel()
            if audiosocket is not None:
                audiosocket.close()
            await end_calls(state)
            if ari is not None:
                controller, listening = ari
                listening.cancel()
                await controller.close()
            await recorder.stop()
            await asyncio.to_thread(store.close)
            engines.close()
            state.metrics.gc_pauses.close()
            for task in supervised:
                task.cancel()

    docs = settings.api_docs  # off by default: the API's map is not for every visitor
    app = FastAPI(
        title="voicebot",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.add_api_websocket_route("/media", media_endpoint)

    def current_store() -> Store:
        state = getattr(app.state, "voicebot", None)
        if state is None or state.store is None:
            raise HTTPException(503, "service en cours de démarrage")
        return state.store  # type: ignore[no-any-return]

    app.include_router(
        create_console_router(current_store, lambda: content, prompts_dir=settings.prompts_dir)
    )

    def state_of(request: Request) -> AppState | None:
        return getattr(request.app.state, "voicebot", None)

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, Any]:
        """Liveness: the process answers (and says whether it has speech)."""
        state = state_of(request)
        mode = state.engines.mode if state else "starting"
        return {"status": "ok", "version": __version__, "mode": mode}

    database = DatabaseProbe()

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: engines loaded and the database answering; says whether calls get
        speech or keypad only. Names, never file paths: anyone may read it."""
        state = state_of(request)
        if state is None:
            return JSONResponse({"ready": False, "reason": "chargement des moteurs"}, 503)
        problem = await database.problem(state.store) if state.store else "base non ouverte"
        body = {
            "ready": problem is None,
            **({"reason": problem} if problem else {}),
            **state.engines.describe(),
            "active_calls": len(state.registry.active),
            "capacity": state.admission.describe(),
            "recognizers": {str(rate): pool.describe() for rate, pool in state.pools.items()},
            "prompts_ready": state.prompts_ready,
            "warmed": state.warmed,
            "credentials": state.settings.media_password is not None,
            "ari": state.ari_status,
        }
        return JSONResponse(body, 200 if problem is None else 503)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        state = state_of(request)
        if state is None:
            return Response(status_code=503)
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # Caller numbers and transcripts: a supervisor's (or admin's) console session only.
    supervisor = Depends(Guard(current_store).api("supervisor"))

    @app.get("/calls")
    async def calls(request: Request, viewer: Viewer = supervisor) -> dict[str, Any]:
        state = state_of(request)
        if state is None:
            raise HTTPException(503)
        return {
            "active": [r.to_dict() for r in state.registry.active.values()],
            "recent": [r.to_dict() for r in list(state.registry.finished)[-50:]],
        }

    @app.get("/calls/{call_id}")
    async def call(call_id: str, request: Request, viewer: Viewer = supervisor) -> dict[str, Any]:
        state = state_of(request)
        record = state.registry.get(call_id) if state else None
        if record is None:
            raise HTTPException(404, f"appel inconnu : {call_id}")
        return record.to_dict()

    @app.get("/calls/{call_id}/route", response_class=PlainTextResponse)
    async def route(call_id: str, request: Request) -> str:
        """Plain dialplan mode: after the bot's leg closes, where the call goes.

        ``hangup``, or ``queue`` (hand it to the agents); an unknown or unfinished call
        goes to the queue: a caller is never lost because of us. With the credentials
        Asterisk presents to ``/media``, a hand-over also says why and what the caller
        wanted, for the agent's phone: ``queue,<reason>,<intent>``.
        """
        state = state_of(request)
        record = state.registry.get(call_id) if state else None
        if state is not None:
            state.awaiting_route.discard(call_id)
        if record is not None and record.route:
            where = record.route
            reason = record.handover_reason or ""
            intent = record.intents[-1] if record.intents else ""
        else:
            # Another instance may have had the call (several behind one Asterisk): the
            # shared store knows. Unknown there too, or no answer in time: the queue.
            where, reason, intent = await stored_route(state, call_id) or ("queue", "", "")
        if where != "queue" or not authorized(request.headers.get("authorization"), settings):
            return where
        return f"queue,{reason},{intent}"

    return app
