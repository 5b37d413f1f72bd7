"""A real `voicebot serve` app on a loopback port, in the tests' event loop, real models."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest_asyncio
import uvicorn

from tests.local_server import free_port
from voicebot.calls.simulator import SimulatedCall
from voicebot.config import Settings, load_settings
from voicebot.server.app import create_app
from voicebot.server.run import server_options
from voicebot.server.state import AppState

PASSWORD = "secret-test"
STARTUP_TIMEOUT_S = 300
OPEN = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))  # agents answer


@dataclass
class RunningServer:
    url: str
    http: str
    state: AppState
    settings: Settings

    def call(self, call_id: str, **kwargs: object) -> SimulatedCall:
        return SimulatedCall(self.url, "asterisk", PASSWORD, call_id=call_id, **kwargs)  # type: ignore[arg-type]


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[RunningServer]:
    """A server for the test's calls, at an hour when agents answer, stopped after."""
    uv, task, port = await start_server(settings)
    state: AppState = uv.config.app.state.voicebot  # type: ignore[union-attr]
    state.clock = lambda: OPEN
    try:
        yield RunningServer(
            f"ws://127.0.0.1:{port}/media", f"http://127.0.0.1:{port}", state, settings
        )
    finally:
        uv.should_exit = True
        await task


async def start_server(settings: Settings) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    """The app served as ``voicebot serve`` serves it (its uvicorn options), on a free port."""
    port = free_port()
    served = settings.model_copy(update={"host": "127.0.0.1", "port": port})
    config = uvicorn.Config(create_app(served), **server_options(served), lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    # Loading the models and warming recognisers takes seconds; minutes on a busy machine.
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"voicebot did not start in {STARTUP_TIMEOUT_S} s")
        await asyncio.sleep(0.05)
    return server, task, port


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(
    korean_model_dir: Path, joe_voice_path: Path, tmp_path_factory: object
) -> AsyncIterator[RunningServer]:
    settings = load_settings(
        asr_model=str(korean_model_dir),
        tts_voice=str(joe_voice_path),
        tts_phonemizer_voice="fr",
        media_password=PASSWORD,
        asr_workers=2,
        listen_timeout_ms=4000,
    )
    async with running(settings) as server:
        yield server
