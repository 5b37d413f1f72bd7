"""How every console response leaves: security headers, and refusals as French pages.

Console routes use :func:`console_route_class`: whatever a route returns gets the
security headers (CSP without inline script, no framing, no referrer, no caching
of personal data), and a :class:`PageError` raised anywhere in a route or its
dependencies becomes a page in French with the right status, not a JSON error.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


class PageError(Exception):
    """A request the console refuses, with what the person reads."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


class LoginRequired(PageError):
    """No valid session: pages redirect to the login form, live endpoints answer 401."""

    def __init__(self) -> None:
        super().__init__(401, "Connexion nécessaire", "Votre session a expiré : reconnectez-vous.")


def forbidden(message: str = "Votre rôle ne donne pas accès à cette page.") -> PageError:
    return PageError(403, "Accès refusé", message)


def not_found(message: str = "Cette page n'existe pas ou plus.") -> PageError:
    return PageError(404, "Page introuvable", message)


INVALID_REQUEST = PageError(
    400,
    "Demande invalide",
    "L'adresse de la page ou un champ du formulaire n'est pas valide : revenez en arrière "
    "et vérifiez-le.",
)
ErrorRenderer = Callable[[Request, PageError], Response]


def secure(response: Response, *, cache: bool = False) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not cache:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def console_route_class(render_error: ErrorRenderer) -> type[APIRoute]:
    """A route class whose responses are secured and whose refusals are pages."""

    class ConsoleRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    response = await handler(request)
                except PageError as error:
                    response = render_error(request, error)
                except RequestValidationError:
                    response = render_error(request, INVALID_REQUEST)
                cacheable = response.headers.get("Cache-Control", "").startswith("public")
                return secure(response, cache=cacheable)

            return handle

    return ConsoleRoute
