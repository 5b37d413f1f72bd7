"""The FastAPI application: settings validated and engines loaded once, at start."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from voicebot import __version__
from voicebot.config import Settings
from voicebot.server.engines import LoadedEngines, load_engines

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engines = await load_engines(settings)
        app.state.engines = engines
        log.info("voicebot ready: %s", engines.describe())
        try:
            yield
        finally:
            engines.close()

    app = FastAPI(title="voicebot", version=__version__, lifespan=lifespan)
    app.state.settings = settings

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: engines loaded; says whether calls get speech or keypad only."""
        engines: LoadedEngines | None = getattr(request.app.state, "engines", None)
        if engines is None:
            return JSONResponse({"ready": False, "reason": "chargement des moteurs"}, 503)
        return JSONResponse({"ready": True, **engines.describe()})

    return app
