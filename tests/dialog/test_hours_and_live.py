"""Agents' hours with French public holidays, and the live bike feed."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from tests.gbfs_server import gbfs_feed
from voicebot.content.model import Service
from voicebot.dialog.hours import agents_available, easter_sunday, french_holidays
from voicebot.live.gbfs import GbfsClient, LiveDataError

PARIS = ZoneInfo("Europe/Paris")
SERVICE = Service(
    name="Mairie de test",
    timezone="Europe/Paris",
    hours={d: ((time(8, 30), time(12)), (time(13, 30), time(17, 30))) for d in range(5)}
    | {5: ((time(9), time(12)),)},
    closed_dates=(date(2026, 12, 24),),
)


@pytest.mark.parametrize(
    ("year", "easter"), [(2024, date(2024, 3, 31)), (2026, date(2026, 4, 5)),
                         (2027, date(2027, 3, 28)), (2038, date(2038, 4, 25))]
)  # fmt: skip
def test_easter(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_the_eleven_french_holidays_of_2027() -> None:
    holidays = french_holidays(2027)
    assert len(holidays) == 11
    assert date(2027, 3, 29) in holidays  # lundi de Pâques
    assert date(2027, 5, 6) in holidays  # Ascension
    assert date(2027, 5, 17) in holidays  # lundi de Pentecôte
    assert date(2027, 7, 14) in holidays


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
    ],
)
def test_agents_available(moment: datetime, open_: bool) -> None:
    assert agents_available(SERVICE, moment.replace(tzinfo=PARIS)) is open_


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
