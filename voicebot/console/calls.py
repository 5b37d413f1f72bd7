"""Calls after the fact: one call's detail, and the history with search, filters and pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from voicebot.console.auth import Viewer
from voicebot.console.context import Console
from voicebot.console.period import midnight, read_date
from voicebot.console.rights import may_see_call
from voicebot.console.web import forbidden, not_found

PAGE_SIZE = 25
MAX_FILTER_CHARS = 200


@dataclass(frozen=True, slots=True)
class HistoryFilters:
    text: str = ""
    line: str = ""
    outcome: str = ""
    reason: str = ""
    caller: str = ""
    since: str = ""
    until: str = ""

    def query(self, page: int | None = None) -> str:
        fields = self._fields()
        if page is not None and page > 1:
            fields["page"] = str(page)
        return urlencode(fields)

    def _fields(self) -> dict[str, str]:
        names = ("text", "line", "outcome", "reason", "caller", "since", "until")
        return {name: getattr(self, name) for name in names if getattr(self, name)}


def parse_page(raw: str) -> int:
    try:
        return max(1, min(int(raw), 100_000))
    except ValueError:
        return 1


def add_call_routes(router: APIRouter, console: Console) -> None:
    pages = console.pages
    agent = Depends(console.guard.at_least("agent"))
    supervisor = Depends(console.guard.at_least("supervisor"))

    @router.get("/calls/{call_id}")
    def call_page(request: Request, call_id: str, viewer: Viewer = agent) -> Response:
        detail = console.store().call_detail(call_id)
        if detail is None:
            raise not_found("Cet appel est inconnu (ou ses données ont été effacées).")
        if not may_see_call(detail.handover, viewer):
            raise forbidden("Un agent ne consulte que les appels qu'il a pris en charge.")
        context = {"title": f"Appel {detail.summary.call_id}", "detail": detail}
        return pages.render(request, "call.html", context)

    @router.get("/history")
    def history_page(
        request: Request,
        viewer: Viewer = supervisor,
        text: str = "",
        line: str = "",
        outcome: str = "",
        reason: str = "",
        caller: str = "",
        since: str = "",
        until: str = "",
        page: str = "1",
    ) -> Response:
        filters = HistoryFilters(
            *(
                v.strip()[:MAX_FILTER_CHARS]
                for v in (text, line, outcome, reason, caller, since, until)
            )
        )
        zone = ZoneInfo(console.content().service.timezone)
        errors: list[str] = []
        since_day = read_date(filters.since, "since", errors)
        until_day = read_date(filters.until, "until", errors)
        since_at = midnight(since_day, zone) if since_day is not None else None
        until_at = midnight(until_day + timedelta(days=1), zone) if until_day is not None else None
        number = parse_page(page)
        rows, total = console.store().search_calls(
            text=filters.text or None,
            line=filters.line or None,
            outcome=filters.outcome or None,
            reason=filters.reason or None,
            caller=filters.caller or None,
            since=since_at,
            until=until_at,
            limit=PAGE_SIZE,
            offset=(number - 1) * PAGE_SIZE,
        )
        page_count = max(1, -(-total // PAGE_SIZE))
        context: dict[str, Any] = {
            "title": "Historique des appels",
            "filters": filters,
            "rows": rows,
            "total": total,
            "page": number,
            "page_count": page_count,
            "errors": errors,
            "lines": sorted(console.content().lines.values(), key=lambda item: item.name),
        }
        return pages.render(request, "history.html", context)
