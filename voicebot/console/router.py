"""The supervision console: one router, mounted by the app under ``/console``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Depends
from starlette.responses import RedirectResponse, Response

from voicebot.console.analytics import add_analytics_routes
from voicebot.console.assets import PREFIX, Assets
from voicebot.console.audit import add_audit_routes
from voicebot.console.auth import Guard, Viewer
from voicebot.console.calls import add_call_routes
from voicebot.console.context import Console
from voicebot.console.events import add_event_routes
from voicebot.console.handover import add_handover_routes
from voicebot.console.live import add_live_routes
from voicebot.console.login import add_login_routes
from voicebot.console.privacy import add_privacy_routes
from voicebot.console.statement import add_statement_routes
from voicebot.console.templating import Pages
from voicebot.console.users import add_user_routes
from voicebot.console.web import console_route_class
from voicebot.content.model import Content
from voicebot.store import Store


def create_console_router(
    get_store: Callable[[], Store],
    get_content: Callable[[], Content],
    *,
    prompts_dir: Path | None = None,
    poll_interval_s: float = 1.0,
) -> APIRouter:
    """The console's routes. ``prompts_dir`` enables turning phrases into examples."""
    assets = Assets()
    pages = Pages(get_store, get_content, assets)
    console = Console(
        get_store=get_store,
        get_content=get_content,
        guard=Guard(get_store),
        pages=pages,
        prompts_dir=prompts_dir,
        poll_interval_s=poll_interval_s,
    )
    router = APIRouter(
        prefix=PREFIX, route_class=console_route_class(pages.error), include_in_schema=False
    )
    agent = Depends(console.guard.at_least("agent"))

    @router.get("")
    @router.get("/")
    def home(viewer: Viewer = agent) -> Response:
        return RedirectResponse(f"{PREFIX}/queue", 303)

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        return assets.response(name)

    for add_routes in (
        add_login_routes,
        add_live_routes,
        add_handover_routes,
        add_call_routes,
        add_analytics_routes,
        add_user_routes,
        add_audit_routes,
        add_privacy_routes,
        add_statement_routes,
        add_event_routes,
    ):
        add_routes(router, console)
    return router
