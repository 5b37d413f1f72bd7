"""What is happening now: the queue of callers waiting for an agent and the bot's live calls.

Each page has a live region that the script refreshes from a fragment when the
store's version changes, plus a small JSON list of waiting calls from which the
script announces newcomers (``aria-live``) and updates the queue count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voicebot.console.auth import Viewer
from voicebot.console.context import Console
from voicebot.console.labels import Labels, reason_label
from voicebot.console.rights import may_view
from voicebot.console.templating import Pages
from voicebot.store import CallSummary, HandoverView, Store, TurnView

LIVE_TURNS = 4
"""Turns shown under each call in progress (the latest ones)."""
NOTICES = {"handled": "L'appel est marqué traité."}


@dataclass(frozen=True, slots=True)
class LiveCall:
    summary: CallSummary
    elapsed_s: float
    last_turns: list[TurnView]


def queue_context(store: Store, viewer: Viewer) -> dict[str, Any]:
    """Everyone sees who waits; an agent sees only the calls they took, not the others'."""
    entries = store.queue()
    return {
        "waiting": [h for h in entries if h.status == "waiting"],
        "claimed": [h for h in entries if h.status == "claimed" and may_view(h, viewer)],
        "all_claimed": viewer.has("supervisor"),
    }


def render_queue(
    pages: Pages,
    request: Request,
    store: Store,
    viewer: Viewer,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = queue_context(store, viewer)
    context.update(title="File d'attente", notice=notice, error=error)
    return pages.render(request, "queue.html", context, status)


def live_context(store: Store) -> dict[str, Any]:
    now = datetime.now(UTC)
    calls = []
    for summary in store.live_calls():
        detail = store.call_detail(summary.call_id)
        turns = detail.turns[-LIVE_TURNS:] if detail is not None else []
        elapsed_s = (now - summary.started_at) / timedelta(seconds=1)
        calls.append(LiveCall(summary, elapsed_s, turns))
    return {"calls": calls}


def announcement(handover: HandoverView, names: Labels) -> str:
    return (
        f"Nouvel appel en attente : {names.line(handover.line)}, "
        f"motif : {reason_label(handover.reason)}."
    )


def add_live_routes(router: APIRouter, console: Console) -> None:
    agent = Depends(console.guard.at_least("agent"))
    pages = console.pages

    @router.get("/queue")
    def queue_page(request: Request, viewer: Viewer = agent, ok: str = "") -> Response:
        return render_queue(pages, request, console.store(), viewer, notice=NOTICES.get(ok))

    @router.get("/fragments/queue")
    def queue_fragment(request: Request, viewer: Viewer = agent) -> Response:
        context = queue_context(console.store(), viewer)
        return pages.fragment(request, "queue_region.html", context)

    @router.get("/live")
    def live_page(request: Request, viewer: Viewer = agent) -> Response:
        context = live_context(console.store())
        context["title"] = "Appels en cours"
        return pages.render(request, "live.html", context)

    @router.get("/fragments/live")
    def live_fragment(request: Request, viewer: Viewer = agent) -> Response:
        return pages.fragment(request, "live_region.html", live_context(console.store()))

    @router.get("/fragments/waiting")
    def waiting(request: Request, viewer: Viewer = agent) -> Response:
        names = Labels(console.content())
        entries = [h for h in console.store().queue() if h.status == "waiting"]
        body = {
            "count": len(entries),
            "waiting": [{"id": h.id, "announce": announcement(h, names)} for h in entries],
        }
        return JSONResponse(body)
