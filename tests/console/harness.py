"""The console as the app will mount it: a real Store on a SQLite file, the shipped content,
a copy of prompts/ for learned examples; and calls written the way the bot writes them."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import uvicorn
from fastapi import FastAPI

from tests.local_server import free_port
from voicebot.calls.record import CallRecord, Turn
from voicebot.config import PROJECT_ROOT
from voicebot.console import create_console_router
from voicebot.content import Content, load_content
from voicebot.store import Store, User

PASSWORD = "une phrase de passe solide"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    app: FastAPI
    store: Store
    content: Content
    prompts_dir: Path
    admin: User
    supervisor: User
    agent: User


def accounts_database(folder: Path) -> Path:
    """A database with the three accounts (argon2 hashing is slow: done once, then copied)."""
    path = folder / "accounts.db"
    store = Store.open(f"sqlite:///{path}")
    store.create_user("admin", PASSWORD, "admin", "Alice Administratrice")
    store.create_user("chef", PASSWORD, "supervisor", "Bruno Superviseur")
    store.create_user("agent", PASSWORD, "agent", "Chloé Agente")
    store.close()
    return path


def build_console(tmp_path: Path, accounts: Path, poll_interval_s: float = 0.2) -> Console:
    prompts = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", prompts)
    database = tmp_path / "console.db"
    shutil.copyfile(accounts, database)
    store = Store.open(f"sqlite:///{database}")
    users = {user.username: user for user in store.users()}
    content = load_content(prompts)
    app = FastAPI()
    app.include_router(
        create_console_router(
            lambda: store, lambda: content, prompts_dir=prompts, poll_interval_s=poll_interval_s
        )
    )
    return Console(
        app=app,
        store=store,
        content=content,
        prompts_dir=prompts,
        admin=users["admin"],
        supervisor=users["chef"],
        agent=users["agent"],
    )


def handed_over_call(
    store: Store,
    call_id: str = "appel-1",
    caller: str = "0199001020",
    reason: str = "caller_request",
    started_at: datetime | None = None,
    phrase: str = "je voudrais refaire mon passeport",
) -> CallRecord:
    """A call the bot passes to a human, written through the store like the bot does."""
    start = started_at or datetime.now(UTC) - timedelta(minutes=2)
    record = CallRecord(call_id, "mairie", caller=caller, started_at=start)
    store.call_started(record, "instance-a")
    record.turns += [
        Turn("bot", "Bonjour, vous êtes bien à la mairie. Que puis-je pour vous ?", at=start),
        Turn(
            "caller",
            phrase,
            at=start + timedelta(seconds=5),
            intent="titre_identite",
            confidence=0.93,
            slots={"document": "passeport", "situation": "renouvellement"},
        ),
        Turn(
            "bot",
            "Je vous passe un conseiller.",
            at=start + timedelta(seconds=6),
            latency_ms=480.0,
            heard_fully=True,
        ),
    ]
    record.intents = ["titre_identite"]
    record.slots = {"document": "passeport", "situation": "renouvellement"}
    record.outcome = "handed_over"
    record.handover_reason = reason
    record.ended_at = start + timedelta(seconds=8)
    store.call_ended(record)
    return record


def resolved_call(
    store: Store,
    call_id: str,
    text: str,
    caller: str = "0199001030",
    intent: str | None = "horaires",
    started_at: datetime | None = None,
    line: str = "mairie",
) -> None:
    """A call the bot answers alone; ``intent=None`` leaves the phrase not understood."""
    start = started_at or datetime.now(UTC) - timedelta(minutes=30)
    record = CallRecord(call_id, line, caller=caller, started_at=start)
    store.call_started(record, "instance-a")
    record.intents = [intent] if intent else []
    record.turns = [
        Turn("caller", text, at=start + timedelta(seconds=3), intent=intent),
        Turn("bot", "La mairie est ouverte de 8 h 30 à 17 h 30.", at=start + timedelta(seconds=4)),
    ]
    record.outcome = "resolved"
    record.ended_at = start + timedelta(seconds=20)
    store.call_ended(record)


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    if found is None:
        raise AssertionError("no CSRF field on the page")
    return found.group(1)


def log_in(client: httpx2.Client, username: str, password: str = PASSWORD) -> httpx2.Response:
    """Sign in through the form, as a browser does (the login page sets its token)."""
    form = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )


def page_as(client: httpx2.Client, username: str, path: str) -> str:
    """Sign in as ``username`` and read the page at ``path``."""
    log_in(client, username)
    return client.get(path).text


def csrf_as(client: httpx2.Client, username: str, path: str = "/console/queue") -> str:
    """Sign in as ``username`` and take the CSRF token from the page at ``path``."""
    return csrf_of(page_as(client, username, path))


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """A real uvicorn on a free loopback port, in a thread; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-server")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
