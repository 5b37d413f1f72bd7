"""One caller's personal data (administrators only): export as JSON, or erase after confirming."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import Response

from voicebot.console.auth import Viewer
from voicebot.console.context import Console
from voicebot.errors import StoreError
from voicebot.store.audit import masked_number

NUMBER = re.compile(r"^\+?[0-9]{2,20}$")
NUMBER_PROBLEM = "Saisissez un numéro de téléphone : chiffres, éventuellement précédés de +."


def clean_number(raw: str) -> str | None:
    number = re.sub(r"[\s.\-()]", "", raw)
    return number if NUMBER.match(number) else None


def calls_in(export: dict[str, Any]) -> int:
    calls = export.get("calls")
    return len(calls) if isinstance(calls, list) else 0


def add_privacy_routes(router: APIRouter, console: Console) -> None:
    pages = console.pages
    admin = Depends(console.guard.at_least("admin"))
    admin_posting = Depends(console.guard.posting("admin"))

    def page(
        request: Request,
        error: str | None = None,
        notice: str | None = None,
        status: int = 200,
        number: str = "",
    ) -> Response:
        context = {
            "title": "Données personnelles d'un appelant",
            "error": error,
            "notice": notice,
            "number": number,
        }
        return pages.render(request, "privacy.html", context, status)

    def refused(request: Request, number: str, error: str = NUMBER_PROBLEM) -> Response:
        """The form again, with what is wrong and (shortened) the number as typed."""
        return page(request, error=error, status=400, number=number[:40])

    @router.get("/privacy")
    def privacy_page(request: Request, viewer: Viewer = admin) -> Response:
        return page(request)

    @router.post("/privacy/export")
    def export(
        request: Request,
        viewer: Viewer = admin_posting,
        number: Annotated[str, Form()] = "",
    ) -> Response:
        cleaned = clean_number(number)
        if cleaned is None:
            return refused(request, number)
        store = console.store()
        try:
            data = store.export_caller(cleaned)
        except StoreError as exc:
            return refused(request, number, str(exc))
        # The log keeps the last two digits only: an erased number must not live on there.
        store.audit(
            viewer.user, "caller_exported", masked_number(cleaned), f"{calls_in(data)} appel(s)"
        )
        body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
        filename = f"export-{cleaned.lstrip('+')}.json"
        return Response(
            body,
            media_type="application/json; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @router.post("/privacy/erase")
    def erase(
        request: Request,
        viewer: Viewer = admin_posting,
        number: Annotated[str, Form()] = "",
        confirmed: Annotated[str, Form()] = "",
    ) -> Response:
        cleaned = clean_number(number)
        if cleaned is None:
            return refused(request, number)
        store = console.store()
        try:
            if confirmed != "oui":
                count = calls_in(store.export_caller(cleaned))
                context = {"title": "Confirmer l'effacement", "number": cleaned, "count": count}
                return pages.render(request, "erase_confirm.html", context)
            erased = store.erase_caller(cleaned)
        except StoreError as exc:
            return refused(request, number, str(exc))
        store.audit(viewer.user, "caller_erased", masked_number(cleaned), f"{erased} appel(s)")
        notice = f"Les données du numéro {cleaned} sont effacées ({erased} appel(s))."
        return page(request, notice=notice)
