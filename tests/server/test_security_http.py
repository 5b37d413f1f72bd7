"""The service's HTTP side, beyond the console: who reads call records, the API's map,
and what ``/readyz`` tells anyone who asks (no file paths; not ready without a database)."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from tests.console.harness import accounts_database, log_in
from tests.postgres import postgres_schema
from voicebot.calls.record import CallRecord, Turn
from voicebot.config import Settings, load_settings
from voicebot.server.app import create_app

CALLER = "0612345678"
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/[^\s/\"]+/")


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return accounts_database(tmp_path_factory.mktemp("accounts"))


def keypad_settings(tmp_path: Path, **overrides: object) -> Settings:
    """No French model under ``tmp_path``: keypad-only, espeak-ng, quick to start."""
    return load_settings(models_dir=tmp_path, tts_engine="espeak", **overrides)


@pytest.fixture
def client(tmp_path: Path, accounts: Path) -> Iterator[TestClient]:
    """The whole app, started (lifespan), on a SQLite copy of the three accounts, with one
    finished call in its registry."""
    database = tmp_path / "voicebot.db"
    shutil.copyfile(accounts, database)
    app = create_app(keypad_settings(tmp_path, database_url=f"sqlite:///{database}"))
    with TestClient(app) as started:
        record = CallRecord("appel-1", "mairie", caller=CALLER, route="hangup")
        record.turns.append(Turn("caller", "je voudrais renouveler mon passeport"))
        registry = started.app.state.voicebot.registry  # type: ignore[attr-defined]
        registry.start(record)
        registry.finish(record)
        yield started


def test_call_records_are_refused_without_a_session(client: TestClient) -> None:
    for path in ("/calls", "/calls/appel-1"):
        refused = client.get(path)
        assert refused.status_code == 401
        assert "connectez-vous à la console" in refused.json()["detail"]
        assert CALLER not in refused.text


def test_call_records_are_refused_to_an_agent(client: TestClient) -> None:
    log_in(client, "agent")
    for path in ("/calls", "/calls/appel-1"):
        refused = client.get(path)
        assert refused.status_code == 403 and CALLER not in refused.text


@pytest.mark.parametrize("username", ["chef", "admin"])
def test_a_supervisor_or_admin_reads_call_records(client: TestClient, username: str) -> None:
    assert log_in(client, username).status_code == 303
    listed = client.get("/calls")
    assert listed.status_code == 200
    assert [r["caller"] for r in listed.json()["recent"]] == [CALLER]
    one = client.get("/calls/appel-1")
    assert one.status_code == 200 and one.json()["turns"][0]["text"].startswith("je voudrais")
    assert client.get("/calls/inconnu").status_code == 404


def test_the_dialplan_route_stays_open(client: TestClient) -> None:
    # Asterisk's CURL has no session: it learns only where the call goes.
    assert client.get("/calls/appel-1/route").text == "hangup"
    assert client.get("/calls/inconnu/route").text == "queue"


DOCS = ["/docs", "/redoc", "/openapi.json"]


def test_api_docs_are_closed_by_default(tmp_path: Path) -> None:
    client = TestClient(create_app(keypad_settings(tmp_path)))
    for path in DOCS:
        assert client.get(path).status_code == 404


def test_api_docs_open_with_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEBOT_API_DOCS", "true")
    client = TestClient(create_app(keypad_settings(tmp_path)))
    for path in DOCS:
        assert client.get(path).status_code == 200
    assert "/calls/{call_id}/route" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("speech", [False, True], ids=["keypad_only", "speech"])
def test_readiness_names_engines_without_file_paths(
    tmp_path: Path, korean_model_dir: Path, speech: bool
) -> None:
    if speech:  # a model and a (missing) voice given as paths, as an administration may
        settings = load_settings(
            models_dir=tmp_path,
            asr_model=str(korean_model_dir),
            asr_warm_recognizers=0,
            asr_workers=1,
            tts_voice=str(tmp_path / "voix" / "fr_FR-absente.onnx"),
            database_url=f"sqlite:///{tmp_path / 'voicebot.db'}",
        )
    else:  # the default model, not installed under models_dir
        settings = keypad_settings(tmp_path, database_url=f"sqlite:///{tmp_path / 'v.db'}")
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True and body["tts"]["engine"] == "espeak-ng"
    for folder in (tmp_path, korean_model_dir):
        assert str(folder) not in ready.text
    assert ABSOLUTE_PATH.search(ready.text) is None, ready.text
    if speech:
        assert body["mode"] == "speech" and body["asr"]["model"] == korean_model_dir.name
        assert "fr_FR-absente.onnx" in body["tts"]["reason"]
    else:
        assert body["mode"] == "keypad_only"
        assert "voicebot models pull vosk-model-small-fr-0.22" in body["asr"]["problem"]


class Relay:
    """A TCP relay on loopback to a real server; :meth:`close` is that server going away
    (open connections cut, the port closed)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = int(self.listener.getsockname()[1])
        self.closing = threading.Event()
        self.sockets: list[socket.socket] = []
        self.threads = [threading.Thread(target=self._accept, name="relay")]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                downstream, _ = self.listener.accept()
            except TimeoutError:
                continue
            downstream.settimeout(None)
            upstream = socket.create_connection(self.target)
            self.sockets += [downstream, upstream]
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                pump = threading.Thread(target=self._pump, args=(source, sink), name="relay")
                self.threads.append(pump)
                pump.start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # the other side was cut

    def close(self) -> None:
        self.closing.set()
        self.threads[0].join(timeout=5)
        self.listener.close()
        for connection in self.sockets:
            with contextlib.suppress(OSError):  # already cut
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        for thread in self.threads[1:]:
            thread.join(timeout=5)


def test_not_ready_when_the_database_is_unreachable(tmp_path: Path) -> None:
    with postgres_schema() as url:
        real = make_url(url)
        relay = Relay(real.host or "127.0.0.1", real.port or 5432)
        try:
            through = real.set(port=relay.port).render_as_string(hide_password=False)
            app = create_app(keypad_settings(tmp_path, database_url=through))
            with TestClient(app) as client:
                assert client.get("/readyz").json()["ready"] is True
                relay.close()  # the database server goes away, the service stays up
                ready = client.get("/readyz")
                assert ready.status_code == 503
                body = ready.json()
                assert body["ready"] is False and body["reason"] == "base de données injoignable"
                assert str(relay.port) not in ready.text  # nothing about where it is
                assert client.get("/healthz").status_code == 200
        finally:
            relay.close()
