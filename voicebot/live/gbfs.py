"""Self-service bike availability from a standard GBFS feed.

The configured URL is the feed's discovery file (``gbfs.json``), which lists
``station_information`` (names, fixed) and ``station_status`` (bikes and free
docks, live). Station names are cached for an hour, statuses for 30 seconds.

A feed that is down, is not JSON, or lacks what GBFS requires (a missing key, a
value of the wrong type) is a :class:`LiveDataError` saying what is wrong: the
call then hears that live data is unavailable, and goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from voicebot.errors import VoicebotError

NAMES_TTL_S = 3600.0
STATUS_TTL_S = 30.0


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
        data: dict[str, Any] = document["data"]
        return data

    async def _discover(self, client: httpx.AsyncClient) -> dict[str, str]:
        if self._feeds is None:
            data = await self._get(client, self.url)
            # GBFS 2.x: {"fr": {"feeds": [...]}}; GBFS 3.0: {"feeds": [...]}.
            if "feeds" in data:
                feeds = data["feeds"]
            else:
                language = self.language if self.language in data else next(iter(data), None)
                per_language = data.get(language) if language else None
                if not isinstance(per_language, dict):
                    raise _malformed(self.url, "pas de liste « feeds »")
                feeds = per_language.get("feeds")
            if not isinstance(feeds, list):
                raise _malformed(self.url, "« feeds » n'est pas une liste")
            found = {
                f["name"]: f["url"]
                for f in feeds
                if isinstance(f, dict) and isinstance(f.get("name"), str)
                and isinstance(f.get("url"), str)
            }  # fmt: skip
            for needed in ("station_information", "station_status"):
                if needed not in found:
                    raise LiveDataError(f"flux GBFS sans « {needed} » ({self.url})")
            self._feeds = found
        return self._feeds

    async def _load_names(self, client: httpx.AsyncClient, now: float) -> dict[str, str]:
        if self._names is None or now - self._names[0] > NAMES_TTL_S:
            url = (await self._discover(client))["station_information"]
            stations = _stations(await self._get(client, url), url)
            names = {}
            for index, station in enumerate(stations):
                names[_station_id(station, url, index)] = _station_name(station, url, index)
            self._names = (now, names)
        return self._names[1]

    async def stations(self) -> list[StationStatus]:
        now = time.monotonic()
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            names = await self._load_names(client, now)
            if self._status is None or now - self._status[0] > STATUS_TTL_S:
                url = (await self._discover(client))["station_status"]
                stations = _stations(await self._get(client, url), url)
                status = {_station_id(s, url, i): s for i, s in enumerate(stations)}
                result = [
                    _status(station_id, names[station_id], raw, url)
                    for station_id, raw in status.items()
                    if station_id in names
                ]
                self._status = (now, status)
                return result
        return [
            _status(station_id, names[station_id], raw, "station_status")
            for station_id, raw in self._status[1].items()
            if station_id in names
        ]

    async def refresh_names(self) -> list[str]:
        """Fetch the station names when they are missing or older than an hour."""
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            return list((await self._load_names(client, time.monotonic())).values())

    def known_names(self) -> tuple[str, ...]:
        """The station names fetched so far (no I/O; empty before the first fetch)."""
        return tuple(self._names[1].values()) if self._names is not None else ()

    def names_stale(self) -> bool:
        return self._names is None or time.monotonic() - self._names[0] > NAMES_TTL_S


def _malformed(url: str, problem: str) -> LiveDataError:
    return LiveDataError(
        f"flux GBFS mal formé ({url}) : {problem}",
        hint="vérifiez gbfs_url dans prompts/service.yaml ou signalez-le à l'opérateur des vélos",
    )


def _stations(data: dict[str, Any], url: str) -> list[dict[str, Any]]:
    stations = data.get("stations")
    if not isinstance(stations, list):
        raise _malformed(url, "« stations » n'est pas une liste")
    for index, station in enumerate(stations):
        if not isinstance(station, dict):
            raise _malformed(url, f"station n° {index + 1} : un objet est attendu")
    return stations


def _station_id(station: dict[str, Any], url: str, index: int) -> str:
    value = station.get("station_id")
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value):
        raise _malformed(
            url, f"station n° {index + 1} : « station_id » manque ou n'est pas un texte"
        )
    return str(value)


def _station_name(station: dict[str, Any], url: str, index: int) -> str:
    name = station.get("name")
    if isinstance(name, list):  # GBFS 3.0: localized strings
        texts: list[str] = [
            n["text"] for n in name if isinstance(n, dict) and isinstance(n.get("text"), str)
        ]
        if texts:
            return texts[0]
    elif isinstance(name, str) and name.strip():
        return name
    raise _malformed(url, f"station n° {index + 1} : « name » manque ou n'est pas un texte")


def _count(status: dict[str, Any], keys: tuple[str, ...], url: str, station_id: str) -> int:
    for key in keys:
        if key in status:
            value = status[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _malformed(
                    url, f"station « {station_id} » : « {key} » n'est pas un nombre ({value!r})"
                )
            return value
    return 0


def _status(station_id: str, name: str, status: dict[str, Any], url: str) -> StationStatus:
    renting = status.get("is_renting", True)
    if not isinstance(renting, bool | int):
        raise _malformed(url, f"station « {station_id} » : « is_renting » n'est pas un booléen")
    return StationStatus(
        station_id=station_id,
        name=name,
        bikes=_count(status, ("num_bikes_available", "num_vehicles_available"), url, station_id),
        docks=_count(status, ("num_docks_available",), url, station_id),
        renting=bool(renting),
    )
