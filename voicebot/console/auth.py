"""Who is asking: the session cookie, roles, and the CSRF check of every form.

Sessions live in the store (server side); the cookie only carries an opaque
token. It is HttpOnly and SameSite=Strict, Secure with the ``__Host-`` prefix
when the request came over https. Each POST form carries the session's CSRF
token in a hidden field, compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Form, HTTPException
from starlette.requests import Request
from starlette.responses import Response

from voicebot.console.web import LoginRequired, PageError, forbidden
from voicebot.store import Store, User

Role = Literal["agent", "supervisor", "admin"]
ROLE_RANK: dict[str, int] = {"agent": 0, "supervisor": 1, "admin": 2}
SESSION_COOKIE = "voicebot_console"
LOGIN_COOKIE = "voicebot_console_login"
"""Before login: the double-submit token of the login form (no session exists yet)."""
SESSION_LIFETIME_S = 8 * 3600


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person behind a request."""

    user: User
    token: str
    csrf: str

    def has(self, role: Role) -> bool:
        return ROLE_RANK.get(self.user.role, -1) >= ROLE_RANK[role]


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request, base: str) -> str:
    return f"__Host-{base}" if is_https(request) else base


def set_cookie(response: Response, request: Request, base: str, value: str, max_age_s: int) -> None:
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age_s,
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, request: Request, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base),
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="strict",
    )


def presented_token(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request, SESSION_COOKIE)) or None


def tokens_match(given: str | None, expected: str) -> bool:
    """Constant-time comparison; an empty or missing token never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def csrf_refused() -> PageError:
    return PageError(
        403,
        "Formulaire refusé",
        "Ce formulaire a expiré ou ne vient pas de la console : rechargez la page "
        "puis recommencez.",
    )


class Guard:
    """Dependencies that resolve the viewer and enforce roles and CSRF tokens."""

    def __init__(self, get_store: Callable[[], Store]) -> None:
        self.get_store = get_store

    def current(self, request: Request) -> Viewer | None:
        """The viewer if the request carries a live session (blocking: call in a thread)."""
        token = presented_token(request)
        if token is None:
            return None
        store = self.get_store()
        version = store.version()  # before any data is read: no change can slip between
        found = store.session(token)
        if found is None:
            return None
        user, csrf = found
        if not user.active:
            return None
        viewer = Viewer(user, token, csrf)
        request.state.console_viewer = viewer
        request.state.console_version = version
        return viewer

    def at_least(self, role: Role) -> Callable[[Request], Viewer]:
        def dependency(request: Request) -> Viewer:
            viewer = self.current(request)
            if viewer is None:
                raise LoginRequired()
            if not viewer.has(role):
                raise forbidden()
            return viewer

        return dependency

    def api(self, role: Role) -> Callable[[Request], Viewer]:
        """For JSON endpoints outside the console pages: 401 without a live session,
        403 below ``role`` (no login page, no redirect)."""

        def dependency(request: Request) -> Viewer:
            viewer = self.current(request)
            if viewer is None:
                raise HTTPException(
                    401, "Connexion nécessaire : connectez-vous à la console (/console/login)."
                )
            if not viewer.has(role):
                raise HTTPException(403, "Votre rôle ne donne pas accès à ces données.")
            return viewer

        return dependency

    def posting(self, role: Role) -> Callable[..., Viewer]:
        """Like :meth:`at_least`, and the form's ``csrf_token`` must be the session's."""
        allowed = Depends(self.at_least(role))

        def dependency(
            viewer: Viewer = allowed,
            csrf_token: Annotated[str, Form()] = "",
        ) -> Viewer:
            if not tokens_match(csrf_token, viewer.csrf):
                raise csrf_refused()
            return viewer

        return dependency
