"""`voicebot serve` as its own process, as an administration runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.console.harness import PASSWORD, csrf_of
from voicebot.phone import caller_number
from voicebot.store import Store


def serve_env(port: int, asr_model: Path, tts_voice: Path, **settings: str) -> dict[str, str]:
    """The environment of a ``voicebot serve`` with the shipped test models: this process's
    own, without its ``VOICEBOT_*``, plus the given settings (``asr_workers="2"``...)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")},
        "VOICEBOT_PORT": str(port),
        "VOICEBOT_ASR_MODEL": str(asr_model),
        "VOICEBOT_TTS_VOICE": str(tts_voice),
        "VOICEBOT_TTS_PHONEMIZER_VOICE": "fr",
        **{f"VOICEBOT_{key.upper()}": value for key, value in settings.items()},
    }


SUPERVISOR = "superviseur-tests"
"""The account whose console session reads call records (``/calls`` is a supervisor's)."""


@dataclass
class Bot:
    """``voicebot serve`` as its own process, as an administration runs it."""

    env: dict[str, str]
    port: int
    log: Path
    ready: Callable[[dict[str, Any]], bool]
    """When ``/readyz`` says the process may take calls."""
    process: subprocess.Popen[bytes] | None = None
    session: httpx.Client | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 300.0) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "voicebot", "serve"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"voicebot serve exited:\n{self.log.read_text()[-3000:]}")
            try:
                if self.ready(httpx.get(f"{self.url}/readyz", timeout=2).json()):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"voicebot serve not ready:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: as an OOM kill or a crash would end it (no cleanup of any kind)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def record(self, caller: str, timeout: float = 20.0) -> dict[str, Any]:
        """The finished record of the call from ``caller`` (a number each test owns)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            recent = self.supervisor().get("/calls", timeout=5).json()["recent"]
            mine = [r for r in recent if r["caller"] == caller_number(caller)]
            if mine:
                return dict(mine[-1])
            time.sleep(0.2)
        raise AssertionError(f"no finished call from {caller}")

    def supervisor(self) -> httpx.Client:
        """A supervisor's console session (the account is made in the bot's database once)."""
        if self.session is None:
            store = Store.open(self.env.get("VOICEBOT_DATABASE_URL"))
            try:
                if SUPERVISOR not in {u.username for u in store.users()}:
                    store.create_user(SUPERVISOR, PASSWORD, "supervisor")
            finally:
                store.close()
            client = httpx.Client(base_url=self.url)
            form = client.get("/console/login", timeout=5)
            signed = client.post(
                "/console/login",
                data={
                    "username": SUPERVISOR,
                    "password": PASSWORD,
                    "csrf_token": csrf_of(form.text),
                },
                timeout=10,
            )
            if signed.status_code != 303:
                client.close()
                raise RuntimeError(f"console sign-in refused: {signed.status_code}")
            self.session = client
        return self.session

    def active_calls(self) -> int:
        return int(httpx.get(f"{self.url}/readyz", timeout=5).json()["active_calls"])
