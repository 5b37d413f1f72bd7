"""The audit log (supervisors and administrators): who did what, when."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from voicebot.console.auth import Viewer
from voicebot.console.context import Console

SHOWN = 200


def add_audit_routes(router: APIRouter, console: Console) -> None:
    supervisor = Depends(console.guard.at_least("supervisor"))

    @router.get("/audit")
    def audit_page(request: Request, viewer: Viewer = supervisor) -> Response:
        entries = console.store().audit_log(limit=SHOWN)
        context = {"title": "Journal des actions", "entries": entries, "shown": SHOWN}
        return console.pages.render(request, "audit.html", context)
