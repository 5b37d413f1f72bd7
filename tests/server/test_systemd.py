"""The systemd notifications, received on a real datagram socket as systemd would."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.local_server import free_port
from tests.serve_process import Bot, serve_env
from voicebot.server import systemd


@dataclass
class NotifySocket:
    """What systemd's side of ``$NOTIFY_SOCKET`` received, with arrival times."""

    address: str
    """As systemd passes it: a path, or ``@name`` for the abstract namespace."""
    received: list[tuple[float, str]] = field(default_factory=list)
    reactions: list[tuple[str, object]] = field(default_factory=list)
    """What ``react`` returned for each message, read the moment it arrived."""

    def messages(self, text: str) -> list[float]:
        return [at for at, message in self.received if message == text]

    def wait_for(self, text: str, count: int = 1, timeout: float = 30.0) -> list[float]:
        deadline = time.monotonic() + timeout
        while len(self.messages(text)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text} seen {len(self.messages(text))} times, not {count}")
            time.sleep(0.02)
        return self.messages(text)


@contextmanager
def notify_socket(
    address: str, react: Callable[[str], object] | None = None
) -> Iterator[NotifySocket]:
    bound = "\0" + address[1:] if address.startswith("@") else address
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(bound)
    sock.settimeout(0.1)
    seen = NotifySocket(address)
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            message = data.decode()
            seen.received.append((time.monotonic(), message))
            if react is not None:
                seen.reactions.append((message, react(message)))

    thread = threading.Thread(target=receive)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()


@pytest.mark.parametrize(
    ("environ", "interval_s"),
    [
        ({"WATCHDOG_USEC": "10000000"}, 5.0),
        ({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid())}, 5.0),
        ({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}, None),  # for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "dix"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_the_period_systemd_asked_for(
    environ: dict[str, str], interval_s: float | None
) -> None:
    assert systemd.watchdog_interval_s(environ) == interval_s


def test_notify_reaches_a_path_and_an_abstract_socket(tmp_path: Path) -> None:
    for address in (str(tmp_path / "notify"), f"@voicebot-test-{uuid.uuid4().hex}"):
        with notify_socket(address) as manager:
            assert systemd.notify("READY=1", {"NOTIFY_SOCKET": address})
            manager.wait_for("READY=1", timeout=5)


def test_notify_is_a_no_op_outside_systemd(tmp_path: Path) -> None:
    assert systemd.notify("READY=1", {}) is False
    # A socket nobody listens on any more: logged, never raised into the service.
    assert systemd.notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False


async def test_a_blocked_event_loop_stops_the_watchdog_pings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = str(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    with notify_socket(address) as manager:
        pinging = asyncio.create_task(systemd.ping_watchdog(0.05))
        await asyncio.sleep(0.5)
        blocked_at = time.monotonic()
        time.sleep(1.0)  # a CPU-bound job run on the loop by mistake
        unblocked_at = time.monotonic()
        await asyncio.sleep(0.5)
        pinging.cancel()
        pings = manager.messages("WATCHDOG=1")
    before = [at for at in pings if at < blocked_at]
    during = [at for at in pings if blocked_at + 0.1 < at < unblocked_at]
    after = [at for at in pings if at > unblocked_at]
    assert len(before) >= 4 and len(after) >= 4
    assert during == []  # systemd would see the silence, and restart the service


def test_serve_tells_systemd_it_is_ready_then_pings_the_watchdog(
    korean_model_dir: Path, joe_voice_path: Path, tmp_path: Path
) -> None:
    port = free_port()
    address = f"@voicebot-test-{uuid.uuid4().hex}"
    env = {
        **serve_env(
            port,
            korean_model_dir,
            joe_voice_path,
            asr_warm_recognizers="1",
            media_password="secret-systemd",
            database_url=f"sqlite:///{tmp_path / 'voicebot.db'}",
        ),
        "NOTIFY_SOCKET": address,
        "WATCHDOG_USEC": "400000",  # a ping every 0.2 s
    }
    bot = Bot(env, port, tmp_path / "serve.log", ready=lambda r: r.get("ready") is True)

    def readiness(message: str) -> object:
        """What a load balancer sees at the moment systemd hears ``READY=1``."""
        if message != "READY=1":
            return None
        try:
            return httpx.get(f"{bot.url}/readyz", timeout=5).status_code
        except httpx.HTTPError as exc:
            return repr(exc)

    with notify_socket(address, readiness) as manager:
        try:
            bot.start()
            ready_at = manager.wait_for("READY=1")[0]
            pings = manager.wait_for("WATCHDOG=1", count=10)
            assert len([at for at in pings if at > ready_at]) >= 5  # and they go on
        finally:
            bot.stop()
        manager.wait_for("STOPPING=1", timeout=5)
    told_ready = [seen for message, seen in manager.reactions if message == "READY=1"]
    assert told_ready == [200]  # told once, and ready then
