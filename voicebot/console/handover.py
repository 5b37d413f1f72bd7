"""Taking a caller from the queue: claim, the full context, then "Marquer traité"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import Response

from voicebot.console.auth import Viewer
from voicebot.console.context import Console
from voicebot.console.live import render_queue
from voicebot.console.rights import may_close, may_see_call, may_view
from voicebot.console.templating import see_other
from voicebot.console.web import PageError, forbidden, not_found
from voicebot.errors import StoreError
from voicebot.store import HandoverView, Store

MAX_RESOLUTION_CHARS = 2000
SOMEONE_ELSES = (
    "Cet appel est pris en charge par un autre agent : lui seul (ou un superviseur) peut "
    "l'ouvrir. Choisissez un appel en attente dans la file."
)


def queued(store: Store, handover_id: int, viewer: Viewer) -> HandoverView:
    """The hand-over if the viewer may see it; else a "not found" page when it has left
    the queue, or a refusal when it is another agent's."""
    handover = store.handover(handover_id)
    if handover is None:
        raise not_found("Cet appel n'est plus dans la file.")
    if not may_view(handover, viewer):
        raise forbidden(SOMEONE_ELSES)
    return handover


def add_handover_routes(router: APIRouter, console: Console) -> None:
    pages = console.pages
    agent = Depends(console.guard.at_least("agent"))
    agent_posting = Depends(console.guard.posting("agent"))

    def page(
        request: Request,
        viewer: Viewer,
        handover: HandoverView,
        error: str | None = None,
        status: int = 200,
        resolution: str = "",
        notice: str | None = None,
    ) -> Response:
        context = {
            "title": f"Appel en attente n° {handover.id}",
            "handover": handover,
            "may_close": may_close(handover, viewer),
            "may_see_call": may_see_call(handover, viewer),
            "error": error,
            "notice": notice,
            "resolution": resolution,
            "max_resolution": MAX_RESOLUTION_CHARS,
        }
        return pages.render(request, "handover.html", context, status)

    @router.post("/handovers/{handover_id}/claim")
    def claim(request: Request, handover_id: int, viewer: Viewer = agent_posting) -> Response:
        store = console.store()
        queued(store, handover_id, viewer)
        try:
            claimed = store.claim(handover_id, viewer.user)
        except StoreError as exc:
            return render_queue(pages, request, store, viewer, error=str(exc), status=409)
        store.audit(viewer.user, "claim", f"appel {claimed.call_id}", f"file n° {claimed.id}")
        return see_other(f"/handovers/{claimed.id}", ok="claimed")

    @router.get("/handovers/{handover_id}")
    def handover_page(
        request: Request, handover_id: int, viewer: Viewer = agent, ok: str = ""
    ) -> Response:
        handover = queued(console.store(), handover_id, viewer)
        notice = (
            "Vous avez pris l'appel : tout ce que le robot a appris est ci-dessous."
            if ok == "claimed"
            else None
        )
        return page(request, viewer, handover, notice=notice)

    @router.post("/handovers/{handover_id}/handled")
    def handled(
        request: Request,
        handover_id: int,
        viewer: Viewer = agent_posting,
        resolution: Annotated[str, Form()] = "",
    ) -> Response:
        store = console.store()
        handover = queued(store, handover_id, viewer)
        if not may_close(handover, viewer):
            raise PageError(
                403,
                "Action impossible",
                "Seul l'agent qui a pris l'appel (ou un superviseur) peut le marquer traité.",
            )
        resolution = resolution.strip()
        if not resolution or len(resolution) > MAX_RESOLUTION_CHARS:
            error = (
                "Décrivez la résolution (champ obligatoire)."
                if not resolution
                else f"La résolution dépasse {MAX_RESOLUTION_CHARS} caractères."
            )
            return page(request, viewer, handover, error, 400, resolution[:MAX_RESOLUTION_CHARS])
        try:
            done = store.mark_handled(handover_id, viewer.user, resolution)
        except StoreError as exc:
            return page(request, viewer, handover, str(exc), 409, resolution)
        store.audit(viewer.user, "handled", f"appel {done.call_id}", resolution[:200])
        return see_other("/queue", ok="handled")
