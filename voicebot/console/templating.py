"""Pages: Jinja2 templates (autoescaped) with what every page shows around its content."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from voicebot.console import labels
from voicebot.console.assets import PREFIX, Assets
from voicebot.console.auth import Role, Viewer
from voicebot.console.web import LoginRequired, PageError
from voicebot.content.model import Content
from voicebot.store import Store

LIVE_PATHS = (f"{PREFIX}/fragments/", f"{PREFIX}/events")


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    label: str
    role: Role


NAV = (
    NavItem(f"{PREFIX}/queue", "File d'attente", "agent"),
    NavItem(f"{PREFIX}/live", "Appels en cours", "agent"),
    NavItem(f"{PREFIX}/history", "Historique", "supervisor"),
    NavItem(f"{PREFIX}/analytics", "Statistiques", "supervisor"),
    NavItem(f"{PREFIX}/audit", "Journal", "supervisor"),
    NavItem(f"{PREFIX}/users", "Utilisateurs", "admin"),
    NavItem(f"{PREFIX}/privacy", "Données personnelles", "admin"),
)


def _environment(assets: Assets) -> Environment:
    env = Environment(
        loader=PackageLoader("voicebot.console", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        duration=labels.duration_label,
        outcome=labels.outcome_label,
        reason=labels.reason_label,
        percent=labels.percent_label,
        role=lambda role: labels.ROLES.get(role, role),
        status=lambda status: labels.STATUSES.get(status, status),
        speaker=lambda speaker: labels.SPEAKERS.get(speaker, speaker),
        action=lambda action: labels.AUDIT_ACTIONS.get(action, action),
        transport=lambda transport: labels.TRANSPORTS.get(transport, transport),
    )
    env.globals["asset"] = assets.url
    env.globals["prefix"] = PREFIX
    env.globals["reasons"] = labels.REASONS
    env.globals["outcomes"] = labels.OUTCOMES
    env.globals["roles"] = labels.ROLES
    env.globals["conformity"] = labels.CONFORMITY
    return env


def see_other(path: str, **query: str) -> RedirectResponse:
    """Where a form sends the browser next: the console's ``path``, with the non-empty ``query``."""
    fields = urlencode({name: value for name, value in query.items() if value})
    return RedirectResponse(f"{PREFIX}{path}" + (f"?{fields}" if fields else ""), 303)


class Pages:
    """Renders a template with the viewer, the navigation and the live-update hooks."""

    def __init__(
        self, get_store: Callable[[], Store], get_content: Callable[[], Content], assets: Assets
    ) -> None:
        self.get_store = get_store
        self.get_content = get_content
        self.env = _environment(assets)

    def html(self, request: Request, template: str, context: dict[str, Any]) -> str:
        viewer: Viewer | None = getattr(request.state, "console_viewer", None)
        content = self.get_content()
        path = request.url.path
        page = {
            "viewer": viewer,
            "labels": labels.Labels(content),
            "service_name": content.service.name,
            "nav": [item for item in NAV if viewer is not None and viewer.has(item.role)],
            "path": path,
            "csrf": viewer.csrf if viewer is not None else "",
            "live": None,
            **context,
        }
        return self.env.get_template(template).render(page)

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        status: int = 200,
        *,
        live: bool = True,
    ) -> HTMLResponse:
        """A full page; ``live`` (blocking: call from a thread) subscribes it to updates."""
        context = dict(context or {})
        viewer: Viewer | None = getattr(request.state, "console_viewer", None)
        if live and viewer is not None:
            version = getattr(request.state, "console_version", None)
            store = self.get_store()
            waiting = [h.id for h in store.queue() if h.status == "waiting"]
            context["live"] = {
                "version": version if version is not None else store.version(),
                "waiting": ",".join(str(i) for i in waiting),
                "count": len(waiting),
            }
        return HTMLResponse(self.html(request, template, context), status)

    def fragment(self, request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
        return HTMLResponse(self.html(request, template, context))

    def error(self, request: Request, error: PageError) -> Response:
        """A refusal: to the login form, a bare 401 for live endpoints, else a French page."""
        path = request.url.path
        if isinstance(error, LoginRequired):
            if path.startswith(LIVE_PATHS):
                return PlainTextResponse(error.message, 401)
            target = path + (f"?{request.url.query}" if request.url.query else "")
            if request.method != "GET":
                target = f"{PREFIX}/"
            return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", 303)
        if path.startswith(LIVE_PATHS):
            return PlainTextResponse(error.message, error.status)
        context = {"title": error.title, "message": error.message, "status": error.status}
        return self.render(request, "error.html", context, error.status, live=False)
