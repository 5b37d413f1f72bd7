"""Several `voicebot serve` instances on one PostgreSQL: one console sees every call."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import httpx2

from tests.console.harness import PASSWORD, log_in
from tests.local_server import free_port
from tests.postgres import postgres_schema
from tests.serve_process import Bot
from voicebot.calls.simulator import SimulatedCall
from voicebot.store import Store

MEDIA_PASSWORD = "secret-instances"


def instance(name: str, database_url: str, folder: Path) -> Bot:
    """A light instance: keypad only (no recogniser to load), espeak-ng voice."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")},
        "VOICEBOT_PORT": str(port),
        "VOICEBOT_DATABASE_URL": database_url,
        "VOICEBOT_INSTANCE_ID": name,
        "VOICEBOT_ASR_MODEL": str(folder / "pas-de-modele"),
        "VOICEBOT_TTS_ENGINE": "espeak",
        "VOICEBOT_MEDIA_PASSWORD": MEDIA_PASSWORD,
    }
    return Bot(env, port, folder / f"{name}.log", ready=lambda r: r.get("ready") is True)


def page(base_url: str, path: str) -> str:
    with httpx2.Client(base_url=base_url, timeout=10) as client:
        assert log_in(client, "chef").status_code == 303
        return client.get(path).text


def wait_for(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not seen in time")
        time.sleep(0.3)


async def test_calls_from_two_instances_show_in_one_console(tmp_path: Path) -> None:
    with postgres_schema() as url:
        store = Store.open(url)
        store.create_user("chef", PASSWORD, "supervisor")
        store.close()
        first, second = instance("a", url, tmp_path), instance("b", url, tmp_path)
        first.start()
        second.start()
        try:
            calls = [
                SimulatedCall(
                    f"ws://127.0.0.1:{bot.port}/media",
                    "asterisk",
                    MEDIA_PASSWORD,
                    call_id=f"appel-{bot.env['VOICEBOT_INSTANCE_ID']}",
                    caller=number,
                )
                for bot, number in ((first, "0611111111"), (second, "0622222222"))
            ]
            for call in calls:
                await call.__aenter__()
                await call.start_media()
            await asyncio.gather(*(call.wait_heard(300) for call in calls))

            # Live: the console of the first instance shows the call held by the second.
            def both_live() -> bool:
                html = page(first.url, "/console/live")
                return "+33611111111" in html and "+33622222222" in html

            await asyncio.to_thread(wait_for, both_live)
            for call in calls:
                await call.hang_up()

            # History: the second instance's console lists both ended calls.
            def both_in_history() -> bool:
                html = page(second.url, "/console/history")
                return "+33611111111" in html and "+33622222222" in html

            await asyncio.to_thread(wait_for, both_in_history)
            store = Store.open(url)
            try:
                done = {s.call_id: s.instance for s in store.search_calls()[0]}
            finally:
                store.close()
            assert done == {"appel-a": "a", "appel-b": "b"}
        finally:
            first.stop()
            second.stop()
