"""The accessibility statement (RGAA), readable without signing in."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from voicebot.console.context import Console

STATEMENT_DATE = "26 novembre 2026"
"""When the statement was written (self-assessment with axe-core and keyboard tests)."""


def add_statement_routes(router: APIRouter, console: Console) -> None:
    @router.get("/accessibilite")
    def statement(request: Request) -> Response:
        console.guard.current(request)  # shows the menu to a signed-in person
        facts = console.content().service.facts
        context = {
            "title": "Déclaration d'accessibilité",
            "contact": facts.get("contact_accessibilite"),
            "address": facts.get("adresse_mairie"),
            "website": facts.get("site_web"),
            "statement_date": STATEMENT_DATE,
        }
        return console.pages.render(request, "accessibility.html", context, live=False)
