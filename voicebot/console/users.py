"""Accounts (administrators only): create, change role, deactivate, reset the password,
unlock sign-ins.

Any change to an account ends that person's sessions, so it applies at once (not an
unlock: it changes nothing of the account). The store enforces the rules (identifier,
password policy, always one active admin) and says in French what is wrong; this page
shows it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import Response

from voicebot.console.auth import Viewer
from voicebot.console.context import Console
from voicebot.console.labels import ROLES
from voicebot.console.templating import see_other
from voicebot.console.web import not_found
from voicebot.errors import StoreError
from voicebot.store import Store, User
from voicebot.store.logins import LoginLock
from voicebot.store.passwords import MIN_LENGTH

MAX_DISPLAY_NAME_CHARS = 100
NOTICES = {
    "created": "Le compte est créé.",
    "role": "Le rôle est modifié ; la personne doit se reconnecter.",
    "deactivated": "Le compte est désactivé et ses sessions sont fermées.",
    "activated": "Le compte est réactivé.",
    "password": "Le mot de passe est réinitialisé ; les sessions de la personne sont fermées.",
    "unlocked": "La connexion est débloquée : la personne peut se reconnecter.",
}


def add_user_routes(router: APIRouter, console: Console) -> None:
    pages = console.pages
    admin = Depends(console.guard.at_least("admin"))
    admin_posting = Depends(console.guard.posting("admin"))

    def page(
        request: Request,
        notice: str | None = None,
        error: str | None = None,
        status: int = 200,
        form: dict[str, str] | None = None,
    ) -> Response:
        store = console.store()
        users = sorted(store.users(), key=lambda u: u.username)
        locks: defaultdict[str, list[LoginLock]] = defaultdict(list)
        for lock in store.login_locks():
            locks[lock.username].append(lock)
        context: dict[str, Any] = {
            "title": "Utilisateurs",
            "users": users,
            "locks": locks,
            "notice": notice,
            "error": error,
            "form": form or {"username": "", "display_name": "", "role": "agent"},
            "min_password": MIN_LENGTH,
        }
        return pages.render(request, "users.html", context, status)

    def target(user_id: int) -> User:
        user = console.store().user(user_id)
        if user is None:
            raise not_found("Ce compte n'existe pas.")
        return user

    def changed(
        request: Request,
        viewer: Viewer,
        user: User,
        change: Callable[[Store], object],
        action: str,
        code: str,
        detail: str | None = None,
        *,
        refusal_status: int = 409,
        named: bool = False,
    ) -> Response:
        """Applies a change to an account, then ends the person's sessions and logs it.

        A refusal shows the page with the store's reason, after the account's identifier
        when ``named``."""
        store = console.store()
        try:
            change(store)
        except StoreError as exc:
            error = f"{user.username} : {exc}" if named else str(exc)
            return page(request, error=error, status=refusal_status)
        store.end_sessions_of(user.id)
        store.audit(viewer.user, action, user.username, detail)
        return see_other("/users", ok=code)

    @router.get("/users")
    def users_page(request: Request, viewer: Viewer = admin, ok: str = "") -> Response:
        return page(request, NOTICES.get(ok))

    @router.post("/users")
    def create(
        request: Request,
        viewer: Viewer = admin_posting,
        username: Annotated[str, Form()] = "",
        display_name: Annotated[str, Form()] = "",
        role: Annotated[str, Form()] = "agent",
        password: Annotated[str, Form()] = "",
    ) -> Response:
        display_name = " ".join(display_name.split())[:MAX_DISPLAY_NAME_CHARS]
        form = {"username": username.strip()[:64], "display_name": display_name, "role": role}
        if role not in ROLES:
            return page(request, error="Choisissez un rôle de la liste.", status=400, form=form)
        store = console.store()
        try:
            user = store.create_user(username, password, role, display_name or None)
        except StoreError as exc:
            return page(request, error=str(exc), status=400, form=form)
        store.audit(viewer.user, "user_created", user.username, ROLES[role])
        return see_other("/users", ok="created")

    @router.post("/users/{user_id}/role")
    def change_role(
        request: Request,
        user_id: int,
        viewer: Viewer = admin_posting,
        role: Annotated[str, Form()] = "",
    ) -> Response:
        user = target(user_id)
        if role not in ROLES:
            return page(request, error="Choisissez un rôle de la liste.", status=400)
        if user.id == viewer.user.id:
            return page(
                request,
                error="Vous ne pouvez pas changer votre propre rôle : demandez-le à un autre "
                "administrateur.",
                status=400,
            )
        change = f"{ROLES.get(user.role, user.role)} → {ROLES[role]}"
        return changed(
            request,
            viewer,
            user,
            lambda store: store.set_role(user.id, role),
            "role_changed",
            "role",
            change,
        )

    @router.post("/users/{user_id}/active")
    def change_active(
        request: Request,
        user_id: int,
        viewer: Viewer = admin_posting,
        active: Annotated[str, Form()] = "",
    ) -> Response:
        user = target(user_id)
        enable = active == "1"
        if user.id == viewer.user.id and not enable:
            return page(
                request, error="Vous ne pouvez pas désactiver votre propre compte.", status=400
            )
        return changed(
            request,
            viewer,
            user,
            lambda store: store.set_active(user.id, enable),
            "user_activated" if enable else "user_deactivated",
            "activated" if enable else "deactivated",
        )

    @router.post("/users/{user_id}/password")
    def reset_password(
        request: Request,
        user_id: int,
        viewer: Viewer = admin_posting,
        password: Annotated[str, Form()] = "",
    ) -> Response:
        user = target(user_id)
        return changed(
            request,
            viewer,
            user,
            lambda store: store.set_password(user.id, password),
            "password_reset",
            "password",
            refusal_status=400,
            named=True,
        )

    @router.post("/users/{user_id}/unlock")
    def unlock(request: Request, user_id: int, viewer: Viewer = admin_posting) -> Response:
        user = target(user_id)
        store = console.store()
        cleared = store.unlock_logins(user.username)
        store.audit(viewer.user, "login_unlocked", user.username, f"{cleared} échec(s) effacé(s)")
        return see_other("/users", ok="unlocked")
