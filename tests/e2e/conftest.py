"""Real calls through a real Asterisk 22: the sandbox PBX, voicebot serve, SIPp phones.

The sandbox (``telephony/sandbox/sandbox.sh``) is built once and started for
the session; ``voicebot serve`` runs as its own process with the shipped test
models and ARI control; SIPp plays the callers and an auto-answering agent.
Content comes from a copy of ``prompts/`` whose agents answer at any hour, so
hand-overs reach the queue whatever the day the tests run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e import sipp
from tests.local_server import free_port
from tests.postgres import postgres_schema
from tests.serve_process import Bot
from voicebot.errors import VoicebotError
from voicebot.phone import caller_number
from voicebot.store import Store
from voicebot.store.views import CallDetail

REPO = Path(__file__).resolve().parents[2]
SANDBOX = REPO / "telephony" / "sandbox" / "sandbox.sh"
AGENT_SCENARIO = REPO / "telephony" / "sandbox" / "sipp" / "agent.xml"
ROOT = Path(os.environ.get("SANDBOX_ROOT", REPO / "var" / "sandbox-root"))
ARI_AUTH = ("voicebot", "sandbox-ari")
MEDIA_PASSWORD = "sandbox-media"
SIP_PORT = 5060
ARI_PORT = 8088
AGENT_PORT = 5070


@dataclass
class Sandbox:
    env: dict[str, str]
    bot_port: int
    instance_ports: tuple[int, int] = (0, 0)
    """Where instances ``a`` and ``b`` listen (the connections voicebot-a and voicebot-b)."""

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [str(SANDBOX), *args], env=self.env, capture_output=True, text=True, timeout=600
        )
        if result.returncode != 0:
            raise RuntimeError(f"sandbox.sh {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def ari(self, path: str) -> Any:
        response = httpx.get(f"http://127.0.0.1:{ARI_PORT}/ari{path}", auth=ARI_AUTH, timeout=5)
        response.raise_for_status()
        return response.json()

    def idle(self, timeout: float = 15.0) -> bool:
        """No channel and no bridge left in Asterisk."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            channels, bridges = self.ari("/channels"), self.ari("/bridges")
            if not channels and not bridges:
                return True
            time.sleep(0.2)
        # Shown with the failure: what was left, to tell a bot leg from a bridge.
        print("left in Asterisk:", [c.get("name") for c in channels], bridges)
        return False

    def heard(self, call_id: str, timeout: float = 15.0) -> tuple[bytes, int]:
        """What the caller heard (MixMonitor ``t()``), as 16-bit PCM and its rate."""
        return self.recording(call_id, "heard", timeout)

    def said(self, call_id: str, timeout: float = 15.0) -> tuple[bytes, int]:
        """What the caller sent (MixMonitor ``r()``), as 16-bit PCM and its rate.

        It starts at the same instant as :meth:`heard`, so the two line up in time."""
        return self.recording(call_id, "said", timeout)

    def recording(self, call_id: str, side: str, timeout: float = 15.0) -> tuple[bytes, int]:
        path = ROOT / "var" / "spool" / "asterisk" / "monitor" / f"{call_id}-{side}.wav"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # MixMonitor writes the header's sizes when the channel hangs up.
            if path.exists() and not any(c["id"] == call_id for c in self.ari("/channels")):
                with wave.open(str(path), "rb") as wav:
                    if wav.getnframes() > 0:
                        return wav.readframes(wav.getnframes()), wav.getframerate()
            time.sleep(0.2)
        raise AssertionError(f"no recording {path}")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    bot_port = free_port()
    instance_ports = (free_port(), free_port())
    env = {
        **os.environ,
        "SANDBOX_ROOT": str(ROOT),
        "SANDBOX_BOT_PORT": str(bot_port),
        "SANDBOX_BOT_A_PORT": str(instance_ports[0]),
        "SANDBOX_BOT_B_PORT": str(instance_ports[1]),
        "SANDBOX_SIP_PORT": str(SIP_PORT),
        "SANDBOX_ARI_PORT": str(ARI_PORT),
        "SANDBOX_AGENT_PORT": str(AGENT_PORT),
        "SANDBOX_ARI_USERNAME": ARI_AUTH[0],
        "SANDBOX_ARI_PASSWORD": ARI_AUTH[1],
        "SANDBOX_MEDIA_PASSWORD": MEDIA_PASSWORD,
    }
    box = Sandbox(env, bot_port, instance_ports)
    box.run("build")
    box.run("start")
    yield box
    box.run("stop")


def always_open_content(target: Path) -> Path:
    """The shipped content, with agents answering every hour of every day."""
    shutil.copytree(REPO / "prompts", target)
    service = target / "service.yaml"
    data = yaml.safe_load(service.read_text())
    days = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
    data["hours"] = {day: ["00:00-24:00"] for day in days}
    data["closed_dates"] = []
    data["closed_on_public_holidays"] = False
    service.write_text(yaml.safe_dump(data, allow_unicode=True))
    return target


def ari_connected(ready: dict[str, Any]) -> bool:
    return ready.get("ready") is True and ready.get("ari") == "connected"


@pytest.fixture(scope="session")
def bot_database() -> Iterator[str]:
    """The bot's records go to PostgreSQL, as with several instances (a schema of its own)."""
    with postgres_schema() as url:
        yield url


@pytest.fixture(scope="session")
def bot(
    sandbox: Sandbox,
    korean_model_dir: Path,
    joe_voice_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    bot_database: str,
) -> Iterator[Bot]:
    work = tmp_path_factory.mktemp("bot")
    env = {
        **os.environ,
        "VOICEBOT_HOST": "127.0.0.1",
        "VOICEBOT_PORT": str(sandbox.bot_port),
        "VOICEBOT_ASR_MODEL": str(korean_model_dir),
        "VOICEBOT_TTS_VOICE": str(joe_voice_path),
        "VOICEBOT_TTS_PHONEMIZER_VOICE": "fr",
        "VOICEBOT_ASR_WARM_RECOGNIZERS": "4",
        "VOICEBOT_MEDIA_PASSWORD": MEDIA_PASSWORD,
        "VOICEBOT_ARI_URL": f"http://127.0.0.1:{ARI_PORT}/ari",
        "VOICEBOT_ARI_USERNAME": ARI_AUTH[0],
        "VOICEBOT_ARI_PASSWORD": ARI_AUTH[1],
        "VOICEBOT_PROMPTS_DIR": str(always_open_content(work / "prompts")),
        "VOICEBOT_DATABASE_URL": bot_database,
        "VOICEBOT_INSTANCE_ID": "e2e-bot",
        # These tests follow calls through; the limit measured at start depends on the
        # machine (7 on a slow 2-core one) and would send some of ten callers at once to
        # the agents, and so would the pace of new calls (about one a second here).
        # Admission past a limit is tested in test_instances, the pace in tests/calls.
        "VOICEBOT_MAX_CALLS": "12",
        "VOICEBOT_NEW_CALLS_PER_S": "100",
    }
    instance = Bot(env, sandbox.bot_port, work / "serve.log", ready=ari_connected)
    instance.start()
    yield instance
    instance.stop()


@dataclass
class Agent:
    """The SIPp agent phone: answers queue calls, logs the headers it got, hangs up."""

    process: subprocess.Popen[bytes]
    log: Path

    def calls(self) -> list[dict[str, str]]:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        pattern = re.compile(r"agent-invite call_id=\s*(\S*) reason=\s*(\S*) intent=\s*(\S*)")
        return [
            {"call_id": m.group(1), "reason": m.group(2), "intent": m.group(3)}
            for m in pattern.finditer(text)
        ]

    def answered(self) -> list[str]:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return re.findall(r"agent-answered call_id=\s*(\S*)", text)


@pytest.fixture
def agent(sandbox: Sandbox, tmp_path: Path) -> Iterator[Agent]:
    log = tmp_path / "agent.log"
    process = subprocess.Popen(
        [
            "sipp",
            "-sf",
            str(AGENT_SCENARIO),
            "-i",
            "127.0.0.1",
            "-p",
            str(AGENT_PORT),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(AGENT_PORT + 2000),
            "-d",
            "2000",
            "-nostdin",
            "-trace_logs",
            "-log_file",
            str(log),
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    yield Agent(process, log)
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stored_call(bot: Bot, caller: str, timeout: float = 30.0) -> CallDetail:
    """The newest finished call from ``caller`` as the database holds it (what the
    console shows, and what survives the bot's process)."""
    store = Store.open(bot.env["VOICEBOT_DATABASE_URL"])
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(VoicebotError):  # the database may be coming back
                calls, _ = store.search_calls(caller=caller_number(caller) or caller, limit=1)
                if calls and calls[0].ended_at is not None:
                    detail = store.call_detail(calls[0].call_id)
                    if detail is not None:
                        return detail
            time.sleep(0.3)
    finally:
        store.close()
    raise AssertionError(f"no finished call from {caller} in the database")


def ports(index: int) -> int:
    return 5100 + 4 * index


def dial(
    tmp_path: Path,
    caller: str,
    seconds: float,
    *,
    index: int = 0,
    number: str = "100",
    keys: list[sipp.Key] | None = None,
    speech: list[tuple[float, bytes]] | None = None,
    hang_up_at_ms: int | None = None,
    trace: bool = False,
) -> sipp.Caller:
    return sipp.call(
        tmp_path / f"caller{index}",
        number,
        sipp.ulaw_voice(seconds, speech),
        keys=keys,
        hang_up_at_ms=hang_up_at_ms,
        local_port=ports(index),
        caller_number=caller,
        trace=trace,
    )


def finished(call: sipp.Caller, timeout: float) -> None:
    assert call.wait(timeout) == 0, call.errors()
