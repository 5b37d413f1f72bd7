"""Several `voicebot serve` instances on one PostgreSQL: one console sees every call."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import httpx
import httpx2

from tests.console.harness import PASSWORD, log_in
from tests.e2e.conftest import always_open_content
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


async def test_any_instance_answers_the_route_of_a_call_another_had(tmp_path: Path) -> None:
    """Plain dialplan behind several instances: the route question may reach an instance
    that did not have the call; the shared store answers it, and an unknown call still
    goes to the queue at once."""
    with postgres_schema() as url:
        first, second = instance("a", url, tmp_path), instance("b", url, tmp_path)
        prompts = always_open_content(tmp_path / "prompts")  # agents answer whatever the hour
        for bot in (first, second):
            bot.env["VOICEBOT_PROMPTS_DIR"] = str(prompts)
        first.start()
        second.start()
        try:
            async with SimulatedCall(
                f"ws://127.0.0.1:{first.port}/media",
                "asterisk",
                MEDIA_PASSWORD,
                call_id="route-a",
            ) as call:
                await call.start_media()
                await call.wait_heard(300)
                await call.dtmf("0")  # an agent, please
                deadline = time.monotonic() + 20
                while call.closed_at is None:
                    assert time.monotonic() < deadline, "the bot did not hand the call over"
                    await asyncio.sleep(0.1)
            auth = ("asterisk", MEDIA_PASSWORD)
            async with httpx.AsyncClient(timeout=10) as http:
                mine = await http.get(f"{first.url}/calls/route-a/route", auth=auth)
                started = time.monotonic()
                other = await http.get(f"{second.url}/calls/route-a/route", auth=auth)
                unknown = await http.get(f"{second.url}/calls/nobody/route", auth=auth)
                quick = time.monotonic() - started
            assert mine.text == "queue,keypad_0,"
            assert other.text == mine.text
            assert unknown.text == "queue,,"
            assert quick < 2.0  # (both asked of the store; neither waits out the dialplan's 3 s)
        finally:
            first.stop()
            second.stop()
