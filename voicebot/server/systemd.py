"""The systemd notification protocol, spoken by the service itself (no dependency).

Under ``Type=notify`` systemd passes a datagram socket in ``$NOTIFY_SOCKET`` (a
path, or an abstract name when it starts with ``@``). The service sends
``READY=1`` once it takes calls, ``WATCHDOG=1`` at half the ``WatchdogSec=``
period (``$WATCHDOG_USEC``) and ``STOPPING=1`` when it shuts down. The pings
come from a task on the event loop: a blocked loop stops them, and systemd
kills and restarts the process. Without ``$NOTIFY_SOCKET`` (run by hand, in a
container, in the tests) every call is a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

import httpx

log = logging.getLogger(__name__)


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (``READY=1``, ``WATCHDOG=1``…) to systemd; False when not under it.

    Never blocks: a datagram the manager cannot take right now is dropped and logged.
    """
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    elif not address.startswith("/"):
        log.warning("NOTIFY_SOCKET %r: only paths and abstract names are supported", address)
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.setblocking(False)
        try:
            sock.sendto(state.encode("utf-8"), address)
        except OSError as exc:
            log.warning("systemd notification %s not sent: %s", state, exc)
            return False
    return True


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """Half the watchdog period systemd asked for, or None when it asked for none.

    ``$WATCHDOG_PID``, when set, names the process the watchdog is for: another
    process (a child that inherited the environment) must not ping.
    """
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 2 / 1_000_000


async def ping_watchdog(interval_s: float) -> None:
    """``WATCHDOG=1`` every ``interval_s``, for as long as the event loop runs tasks."""
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval_s)


async def notify_when_serving(host: str, port: int, max_poll_s: float = 1.0) -> None:
    """``READY=1`` once this service's ``/readyz`` answers 200, asked as a load balancer
    would: the socket is listening and the service says it takes calls."""
    local = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    url = httpx.URL(scheme="http", host=local, port=port, path="/readyz")
    poll_s = 0.05
    async with httpx.AsyncClient(timeout=2.0, verify=False, trust_env=False) as client:
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    break
            except httpx.HTTPError:
                pass  # not listening yet
            await asyncio.sleep(poll_s)
            poll_s = min(poll_s * 2, max_poll_s)
    notify("READY=1")
    log.info("systemd told the service is ready")


def supervise(host: str, port: int) -> list[asyncio.Task[None]]:
    """The tasks that keep systemd informed (none when the service is not under it):
    ``READY=1`` once it serves, and the watchdog pings when a watchdog is set."""
    if not os.environ.get("NOTIFY_SOCKET"):
        return []
    tasks = [asyncio.create_task(notify_when_serving(host, port), name="systemd-ready")]
    interval_s = watchdog_interval_s()
    if interval_s is not None:
        tasks.append(asyncio.create_task(ping_watchdog(interval_s), name="systemd-watchdog"))
    return tasks
