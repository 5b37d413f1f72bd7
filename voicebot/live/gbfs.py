"""Self-service bike availability from a standard GBFS feed.

The configured URL is the feed's discovery file (``gbfs.json``), which lists
``station_information`` (names, fixed) and ``station_status`` (bikes and free
docks, live). Station names are cached for an hour, statuses for 30 seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from voicebot.errors import VoicebotError


class LiveDataError(VoicebotError):
    """The live feed is unreachable or malformed."""


@dataclass(frozen=True, slots=True)
class StationStatus:
    station_id: str
    name: str
    bikes: int
    docks: int
    renting: bool


class GbfsClient:
    def __init__(self, url: str, timeout_s: float = 3.0, language: str = "fr") -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.language = language
        self._feeds: dict[str, str] | None = None
        self._names: tuple[float, dict[str, str]] | None = None
        self._status: tuple[float, dict[str, dict[str, Any]]] | None = None

    async def _get(self, client: httpx.AsyncClient, url: str) -> dict[str, Any]:
        try:
            response = await client.get(url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LiveDataError(f"flux GBFS indisponible ({url}) : {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
            raise LiveDataError(f"flux GBFS mal formé ({url}) : pas de « data »")
        return document

    async def _discover(self, client: httpx.AsyncClient) -> dict[str, str]:
        if self._feeds is None:
            data = (await self._get(client, self.url))["data"]
            # GBFS 2.x: {"fr": {"feeds": [...]}}; GBFS 3.0: {"feeds": [...]}.
            if "feeds" in data:
                feeds = data["feeds"]
            else:
                language = self.language if self.language in data else next(iter(data), None)
                feeds = data.get(language, {}).get("feeds", []) if language else []
            self._feeds = {
                f["name"]: f["url"] for f in feeds if isinstance(f, dict) and "name" in f
            }
            for needed in ("station_information", "station_status"):
                if needed not in self._feeds:
                    self._feeds = None
                    raise LiveDataError(f"flux GBFS sans « {needed} » ({self.url})")
        return self._feeds

    async def stations(self) -> list[StationStatus]:
        now = time.monotonic()
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            feeds = await self._discover(client)
            if self._names is None or now - self._names[0] > 3600:
                info = (await self._get(client, feeds["station_information"]))["data"]
                self._names = (
                    now,
                    {str(s["station_id"]): _station_name(s) for s in info.get("stations", [])},
                )
            if self._status is None or now - self._status[0] > 30:
                status = (await self._get(client, feeds["station_status"]))["data"]
                self._status = (now, {str(s["station_id"]): s for s in status.get("stations", [])})
        names = self._names[1]
        result = []
        for station_id, status in self._status[1].items():
            if station_id not in names:
                continue
            result.append(
                StationStatus(
                    station_id=station_id,
                    name=names[station_id],
                    bikes=int(
                        status.get("num_bikes_available", status.get("num_vehicles_available", 0))
                    ),
                    docks=int(status.get("num_docks_available", 0)),
                    renting=bool(status.get("is_renting", True)),
                )
            )
        return result

    async def station_names(self) -> list[str]:
        return [s.name for s in await self.stations()]


def _station_name(station: dict[str, Any]) -> str:
    name = station.get("name", "")
    if isinstance(name, list):  # GBFS 3.0: localized strings
        texts = [n.get("text", "") for n in name if isinstance(n, dict)]
        return texts[0] if texts else ""
    return str(name)
