"""Agents' hours with public holidays (France, Alsace-Moselle, overseas), and the live bike feed."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from tests.cli import run_cli
from tests.gbfs_server import GbfsFeed, gbfs_feed
from voicebot.config import PROJECT_ROOT
from voicebot.content import load_content
from voicebot.content.model import PublicHolidays, Service
from voicebot.dialog.hours import agents_available, public_holidays, subdivisions
from voicebot.errors import ContentError
from voicebot.live.gbfs import GbfsClient, LiveDataError

PARIS = ZoneInfo("Europe/Paris")
SERVICE = Service(
    name="Mairie de test",
    timezone="Europe/Paris",
    hours={d: ((time(8, 30), time(12)), (time(13, 30), time(17, 30))) for d in range(5)}
    | {5: ((time(9), time(12)),)},
    closed_dates=(date(2026, 12, 24),),
)


def test_the_eleven_french_holidays_of_2027() -> None:
    holidays = public_holidays(PublicHolidays(), 2027)
    assert sorted(holidays) == [
        date(2027, 1, 1),
        date(2027, 3, 29),  # lundi de Pâques
        date(2027, 5, 1),
        date(2027, 5, 6),  # Ascension
        date(2027, 5, 8),
        date(2027, 5, 17),  # lundi de Pentecôte
        date(2027, 7, 14),
        date(2027, 8, 15),
        date(2027, 11, 1),
        date(2027, 11, 11),
        date(2027, 12, 25),
    ]


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (datetime(2026, 11, 26, 10, 0), True),  # Thursday morning
        (datetime(2026, 11, 26, 12, 30), False),  # lunch break
        (datetime(2026, 11, 26, 17, 30), False),  # closing time is closed
        (datetime(2026, 11, 28, 11, 0), True),  # Saturday morning
        (datetime(2026, 11, 29, 11, 0), False),  # Sunday
        (datetime(2026, 11, 11, 10, 0), False),  # Armistice, a Wednesday
        (datetime(2026, 12, 24, 10, 0), False),  # extra closure from the content
        (datetime(2027, 5, 6, 10, 0), False),  # Ascension
        (datetime(2027, 3, 26, 10, 0), True),  # Good Friday: a working day in most of France
    ],
)
def test_agents_available(moment: datetime, open_: bool) -> None:
    assert agents_available(SERVICE, moment.replace(tzinfo=PARIS)) is open_


REGIONAL = [
    # subdivision, a weekday that is a holiday only there (10:00, within the hours)
    ("57", datetime(2027, 3, 26, 10, 0)),  # Moselle: Vendredi saint
    ("6AE", datetime(2027, 3, 26, 10, 0)),  # Alsace: Vendredi saint
    ("57", datetime(2028, 12, 26, 10, 0)),  # Moselle: Saint-Étienne, a Tuesday
    ("6AE", datetime(2028, 12, 26, 10, 0)),
    ("971", datetime(2027, 5, 27, 10, 0)),  # Guadeloupe: abolition de l'esclavage
    ("972", datetime(2026, 5, 22, 10, 0)),  # Martinique
    ("973", datetime(2027, 6, 10, 10, 0)),  # Guyane
    ("974", datetime(2027, 12, 20, 10, 0)),  # La Réunion
    ("976", datetime(2027, 4, 27, 10, 0)),  # Mayotte
    ("971", datetime(2027, 7, 21, 10, 0)),  # Guadeloupe: fête de Victor Schœlcher
]


@pytest.mark.parametrize(("subdivision", "moment"), REGIONAL)
def test_a_regional_holiday_closes_the_line_only_where_it_is_one(
    subdivision: str, moment: datetime
) -> None:
    there = replace(SERVICE, public_holidays=PublicHolidays("FR", subdivision))
    at = moment.replace(tzinfo=PARIS)
    assert agents_available(SERVICE, at)  # plain France: a working day
    assert not agents_available(there, at)
    worked = replace(there, closed_on_public_holidays=False)
    assert agents_available(worked, at)


def test_the_overseas_hours_are_read_in_their_own_time_zone() -> None:
    reunion = replace(
        SERVICE, timezone="Indian/Reunion", public_holidays=PublicHolidays("FR", "974")
    )
    # 20 December 2027, 10:00 in La Réunion is 07:00 in Paris: the local holiday counts.
    assert not agents_available(
        reunion, datetime(2027, 12, 20, 10, 0, tzinfo=ZoneInfo("Indian/Reunion"))
    )
    assert agents_available(
        reunion, datetime(2027, 12, 21, 10, 0, tzinfo=ZoneInfo("Indian/Reunion"))
    )


def test_a_desk_open_every_day_and_all_night() -> None:
    """``24:00`` ends a period at midnight; holidays can be working days."""
    always = Service(
        name="Astreinte",
        timezone="Europe/Paris",
        hours={d: ((time(0, 0), time.max),) for d in range(7)},
        closed_on_public_holidays=False,
    )
    for moment in (datetime(2026, 12, 25, 23, 59, 30), datetime(2026, 11, 11, 0, 0)):
        assert agents_available(always, moment.replace(tzinfo=PARIS))
    assert not agents_available(SERVICE, datetime(2026, 12, 25, 10, 0, tzinfo=PARIS))


def test_hours_are_read_in_the_service_time_zone() -> None:
    # 09:30 UTC in winter is 10:30 in Paris: open; 07:00 UTC is 08:00 in Paris: not yet.
    assert agents_available(SERVICE, datetime(2026, 11, 26, 9, 30, tzinfo=ZoneInfo("UTC")))
    assert not agents_available(SERVICE, datetime(2026, 11, 26, 7, 0, tzinfo=ZoneInfo("UTC")))


def test_the_french_subdivisions_offered() -> None:
    offered = subdivisions("FR")
    assert {"57": "Moselle", "6AE": "Alsace", "974": "La Réunion", "976": "Mayotte"}.items() <= (
        offered.items()
    )
    assert {"971", "972", "973"} <= set(offered)
    assert not any(code.startswith("Zone") for code in offered)  # school holidays only


def content_with(tmp_path: Path, public_holidays: object) -> Path:
    root = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", root)
    path = root / "service.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["public_holidays"] = public_holidays
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ({"country": "FR", "subdivision": "57"}, PublicHolidays("FR", "57")),
        ({"country": "FR", "subdivision": 974}, PublicHolidays("FR", "974")),
        ({"subdivision": "La Réunion"}, PublicHolidays("FR", "974")),
        ({"country": "fr", "subdivision": "Alsace"}, PublicHolidays("FR", "6AE")),
        ({"country": "FR"}, PublicHolidays("FR", None)),
        (None, PublicHolidays("FR", None)),
    ],
)
def test_the_content_chooses_the_holidays(
    tmp_path: Path, written: object, expected: PublicHolidays
) -> None:
    service = load_content(content_with(tmp_path, written)).service
    assert service.public_holidays == expected


@pytest.mark.parametrize(
    ("written", "entry", "problem"),
    [
        (
            {"country": "FR", "subdivision": "Alsace-Moselle"},
            "public_holidays.subdivision",
            "« Alsace-Moselle » inconnue pour FR (attendu : 57 (Moselle), 6AE (Alsace), "
            "971 (Guadeloupe), 972 (Martinique), 973 (Guyane), 974 (La Réunion), 976 (Mayotte)",
        ),
        ({"subdivision": "Zone A"}, "public_holidays.subdivision", "« Zone A » inconnue"),
        ({"country": "XX"}, "public_holidays.country", "pays « XX » inconnu"),
        ({"country": "FR", "region": "57"}, "public_holidays.region", "clé inconnue"),
        ("Moselle", "public_holidays", "attendu par exemple"),
    ],
)
def test_the_loader_refuses_unknown_holidays(
    tmp_path: Path, written: object, entry: str, problem: str
) -> None:
    root = content_with(tmp_path, written)
    with pytest.raises(ContentError) as caught:
        load_content(root)
    problems: list[str] = caught.value.problems  # type: ignore[attr-defined]
    wanted = f"{root / 'service.yaml'}: {entry}: "
    assert any(p.startswith(wanted) and problem in p for p in problems), problems


def test_prompts_check_names_the_file_and_the_accepted_subdivisions(tmp_path: Path) -> None:
    root = content_with(tmp_path, {"country": "FR", "subdivision": "Moselle-Est"})
    result = run_cli("prompts", "check", env={"VOICEBOT_PROMPTS_DIR": str(root)})
    assert result.returncode != 0
    assert f"{root / 'service.yaml'}: public_holidays.subdivision" in result.stdout
    assert "57 (Moselle)" in result.stdout and "974 (La Réunion)" in result.stdout


async def test_gbfs_reads_stations_and_caches_names() -> None:
    with gbfs_feed() as feed:
        client = GbfsClient(feed.url)
        stations = {s.name: s for s in await client.stations()}
        assert stations["Place de la Mairie"].bikes == 7
        assert stations["Place de la Mairie"].docks == 13
        assert stations["Gare Centrale"].bikes == 0
        await client.stations()
        assert feed.requests.count("/station_information.json") == 1  # names cached
        assert feed.requests.count("/gbfs.json") == 1


async def test_gbfs_down_is_a_live_data_error() -> None:
    with gbfs_feed() as feed:
        feed.down = True
        with pytest.raises(LiveDataError, match="indisponible"):
            await GbfsClient(feed.url, timeout_s=2).stations()


def _status_with(**fields: object) -> Callable[[GbfsFeed], object]:
    """station_status whose first station has ``fields`` changed (None: the key removed)."""

    def make(feed: GbfsFeed) -> object:
        document = feed.documents()["/station_status.json"]
        first = document["data"]["stations"][0]
        for key, value in fields.items():
            if value is None:
                first.pop(key)
            else:
                first[key] = value
        return document

    return make


MALFORMED: list[tuple[str, str, Callable[[GbfsFeed], object]]] = [
    ("/station_status.json", "« station_id » manque", _status_with(station_id=None)),
    ("/station_status.json", "« num_bikes_available » n'est pas un nombre",
     _status_with(num_bikes_available="beaucoup")),
    ("/station_status.json", "« num_docks_available » n'est pas un nombre",
     _status_with(num_docks_available=[3])),
    ("/station_status.json", "« stations » n'est pas une liste",
     lambda feed: {"data": {"stations": {"st-1": {}}}}),
    ("/station_status.json", "indisponible", lambda feed: b"<html>maintenance</html>"),
    ("/station_information.json", "« name » manque",
     lambda feed: {"data": {"stations": [{"station_id": "st-1"}]}}),
    ("/station_information.json", "station n° 1 : un objet est attendu",
     lambda feed: {"data": {"stations": ["Place de la Mairie"]}}),
    ("/gbfs.json", "pas de liste « feeds »", lambda feed: {"data": {"fr": ["feeds"]}}),
    ("/gbfs.json", "« feeds » n'est pas une liste", lambda feed: {"data": {"feeds": "all"}}),
    ("/gbfs.json", "pas de « data »", lambda feed: [1, 2, 3]),
]  # fmt: skip


@pytest.mark.parametrize(("path", "problem", "document"), MALFORMED)
async def test_a_malformed_feed_is_a_live_data_error_saying_what_is_wrong(
    path: str, problem: str, document: Callable[[GbfsFeed], object]
) -> None:
    with gbfs_feed() as feed:
        feed.served[path] = document(feed)
        with pytest.raises(LiveDataError, match=re.escape(problem)) as caught:
            await GbfsClient(feed.url, timeout_s=2).stations()
        assert path.strip("/") in str(caught.value) or path == "/gbfs.json"


async def test_station_names_known_without_waiting_once_fetched() -> None:
    with gbfs_feed() as feed:
        client = GbfsClient(feed.url)
        assert client.known_names() == () and client.names_stale()
        await client.refresh_names()
        assert "Gare Centrale" in client.known_names() and not client.names_stale()
        assert "/station_status.json" not in feed.requests  # names only
