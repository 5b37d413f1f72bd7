"""A local GBFS feed in the real format (discovery, station_information, station_status)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.local_server import serving

STATIONS = [
    ("st-1", "Place de la Mairie", 7, 13),
    ("st-2", "Gare Centrale", 0, 20),
    ("st-3", "Médiathèque", 12, 3),
    ("st-4", "Piscine des Tilleuls", 4, 8),
]


@dataclass
class GbfsFeed:
    port: int = 0
    down: bool = False
    requests: list[str] = field(default_factory=list)
    served: dict[str, Any] = field(default_factory=dict)
    """Documents served instead of the real ones (path → JSON value, or raw bytes):
    malformed feeds."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/gbfs.json"

    def documents(self) -> dict[str, Any]:
        now = int(time.time())
        base = f"http://127.0.0.1:{self.port}"
        envelope = {"last_updated": now, "ttl": 30, "version": "2.3"}
        return {
            "/gbfs.json": {**envelope, "data": {"fr": {"feeds": [
                {"name": "system_information", "url": f"{base}/system_information.json"},
                {"name": "station_information", "url": f"{base}/station_information.json"},
                {"name": "station_status", "url": f"{base}/station_status.json"},
            ]}}},
            "/station_information.json": {**envelope, "data": {"stations": [
                {"station_id": sid, "name": name, "lat": 48.85, "lon": 2.35,
                 "capacity": bikes + docks}
                for sid, name, bikes, docks in STATIONS
            ]}},
            "/station_status.json": {**envelope, "data": {"stations": [
                {"station_id": sid, "num_bikes_available": bikes, "num_docks_available": docks,
                 "is_installed": True, "is_renting": True, "is_returning": True,
                 "last_reported": now}
                for sid, _, bikes, docks in STATIONS
            ]}},
        }  # fmt: skip


@contextmanager
def gbfs_feed() -> Iterator[GbfsFeed]:
    feed = GbfsFeed()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            feed.requests.append(self.path)
            documents = feed.documents() | feed.served
            document = documents.get(self.path)
            if feed.down or document is None:
                self.send_error(503 if feed.down else 404)
                return
            body = document if isinstance(document, bytes) else json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as port:
        feed.port = port
        yield feed
