"""Signing in and out: a new session on every login, limited failures, all audited.

The limits are the store's (``voicebot.store.logins``): 5 failures lock one address out
of one account, and many failures across addresses never lock out an address that has
not failed. A lock is audited once, when it starts; an administrator lifts it from the
accounts page or with ``voicebot users unlock``."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from voicebot.console.assets import PREFIX
from voicebot.console.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_LIFETIME_S,
    Viewer,
    clear_cookie,
    cookie_name,
    csrf_refused,
    presented_token,
    set_cookie,
    tokens_match,
)
from voicebot.console.context import Console
from voicebot.console.labels import Labels
from voicebot.store.logins import LoginLock

HOME = f"{PREFIX}/queue"
WRONG_CREDENTIALS = "Identifiant ou mot de passe incorrect."
ACTOR = "console"
"""Who the audit names for what happens before anyone is signed in."""


def lock_message(lock: LoginLock, names: Labels) -> str:
    """What the person at the login form reads, and what to do."""
    local = names.local(lock.until + timedelta(seconds=59))
    at = local.strftime("%H h %M") if local is not None else "un quart d'heure"
    unlock = (
        "ou demandez à un administrateur de débloquer la connexion (page « Utilisateurs » de "
        "la console, ou voicebot users unlock IDENTIFIANT)."
    )
    if lock.address is not None:
        return (
            "Trop de tentatives de connexion échouées pour cet identifiant depuis ce poste. "
            f"Vérifiez l'identifiant et le mot de passe, réessayez après {at}, {unlock}"
        )
    return (
        "Trop de tentatives échouées pour cet identifiant, depuis plusieurs adresses : ce poste "
        f"ayant échoué lui aussi, il doit attendre. Réessayez après {at}, {unlock}"
    )


def lock_note(lock: LoginLock, names: Labels) -> str:
    """The audit's account of a lock that starts."""
    until = names.when(lock.until)
    if lock.address is not None:
        return f"{lock.failures} échecs depuis l'adresse {lock.address} : bloquée jusqu'au {until}"
    return (
        f"{lock.failures} échecs depuis plusieurs adresses : les adresses en échec sont "
        f"bloquées jusqu'au {until}"
    )


def safe_next(target: str | None) -> str:
    """Only a console path, never another site (``//host``, ``\\\\host``, ``https:``)."""
    if not target or not target.startswith(f"{PREFIX}/") or target.startswith(f"{PREFIX}/log"):
        return HOME
    if "//" in target or "\\" in target or any(ord(c) < 32 for c in target):
        return HOME
    return target


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "inconnue"


def add_login_routes(router: APIRouter, console: Console) -> None:
    guard = console.guard
    agent_posting = Depends(guard.posting("agent"))

    def form_page(
        request: Request, next_path: str, error: str | None, status: int, notice: str | None = None
    ) -> Response:
        # A fresh double-submit token each time the form is shown (no session yet).
        token = secrets.token_urlsafe(32)
        context = {
            "login_csrf": token,
            "next": safe_next(next_path),
            "error": error,
            "notice": notice,
            "title": "Connexion",
        }
        response = console.pages.render(request, "login.html", context, status, live=False)
        set_cookie(response, request, LOGIN_COOKIE, token, 3600)
        return response

    @router.get("/login")
    def login_form(request: Request, next: str = "", bye: str = "") -> Response:
        # Always the form, even with a session: a planted cookie never signs anyone in.
        notice = "Vous êtes déconnecté." if bye else None
        return form_page(request, next, None, 200, notice)

    @router.post("/login")
    def login(
        request: Request,
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "",
    ) -> Response:
        expected = request.cookies.get(cookie_name(request, LOGIN_COOKIE), "")
        if not tokens_match(csrf_token, expected):
            raise csrf_refused()
        store = console.store()
        names = Labels(console.content())
        address = client_address(request)
        username = username.strip()
        lock = store.login_lock(username, address)
        if lock is not None:  # refused unchecked and unrecorded: the audit has its start
            return form_page(request, next, lock_message(lock, names), 429)
        user = store.authenticate(username, password) if username and password else None
        if user is None or not user.active:
            started = store.record_login(username, address, False)
            store.audit(None, "login_failed", username, f"adresse {address}", username=ACTOR)
            for begun in started:
                store.audit(
                    None, "login_locked", begun.username, lock_note(begun, names), username=ACTOR
                )
            now_locked = store.login_lock(username, address) if started else None
            if now_locked is not None:
                message = f"{WRONG_CREDENTIALS} {lock_message(now_locked, names)}"
                return form_page(request, next, message, 429)
            return form_page(request, next, WRONG_CREDENTIALS, 401)
        store.record_login(username, address, True)
        previous = presented_token(request)
        if previous is not None:
            store.end_session(previous)  # a token planted before login dies with it
        token, _csrf = store.new_session(user, SESSION_LIFETIME_S)
        store.audit(user, "login", user.username, f"adresse {address}")
        response = RedirectResponse(safe_next(next), 303)
        set_cookie(response, request, SESSION_COOKIE, token, SESSION_LIFETIME_S)
        clear_cookie(response, request, LOGIN_COOKIE)
        return response

    @router.post("/logout")
    def logout(request: Request, viewer: Viewer = agent_posting) -> Response:
        store = console.store()
        store.end_session(viewer.token)
        store.audit(viewer.user, "logout", viewer.user.username)
        response = RedirectResponse(f"{PREFIX}/login?bye=1", 303)
        clear_cookie(response, request, SESSION_COOKIE)
        return response
