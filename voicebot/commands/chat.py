"""`voicebot chat`: the phone dialog in a terminal, for content authors.

Type what a caller would say. A line made of one keypad key (0-9, *, #) is a
key press; an empty line is silence; Ctrl-D hangs up.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

from voicebot.commands.moment import parse_moment
from voicebot.commands.nlu import load_understander
from voicebot.config import load_settings
from voicebot.dialog.events import (
    CallStarted,
    Event,
    FetchLive,
    HandOver,
    HangUp,
    Heard,
    Keypad,
    LiveData,
    SendSms,
    Silence,
    Speak,
)
from voicebot.dialog.policy import DialogContext, DialogState, step
from voicebot.live.gbfs import GbfsClient, LiveDataError, StationStatus
from voicebot.nlu.slots import match_station

KEYS = set("0123456789*#")


def run(args: argparse.Namespace) -> int:
    load_settings()
    understander = load_understander()
    line = understander.line(args.line)
    service = understander.content.service
    gbfs = GbfsClient(service.gbfs_url) if service.gbfs_url else None
    stations = _stations(gbfs)
    context = DialogContext(line, service, understander, tuple(s.name for s in stations))
    state = DialogState(line=line.id)
    print(
        f"[{line.name} — tapez ce que dirait l'appelant ; une touche seule (0-9, *, #) "
        "est une touche du clavier ; ligne vide : silence ; Ctrl-D : raccrocher]"
    )
    event: Event | None = CallStarted(_moment(args.at, service.timezone))
    while event is not None:
        state, actions = step(state, event, context)
        event = None
        for action in actions:
            if isinstance(action, Speak):
                speed = "" if action.speed == 1.0 else f" (vitesse {action.speed})"
                print(f"robot{speed} : {action.text}")
            elif isinstance(action, SendSms):
                print(f"[SMS envoyé : {action.text}]")
            elif isinstance(action, FetchLive):
                event = _live(gbfs, action.station)
            elif isinstance(action, HandOver):
                print(
                    f"[transfert vers un conseiller — motif : {action.reason}, "
                    f"intention : {action.intent}, informations : {dict(action.slots)}]"
                )
                return 0
            elif isinstance(action, HangUp):
                print(f"[fin de l'appel : {action.outcome}]")
                return 0
        if event is None:
            event = _read_caller()
            if event is None:
                print("[l'appelant a raccroché]")
                return 0
    return 0


def _moment(at: str | None, timezone: str) -> datetime:
    problem = f"--at « {at} » n'est pas une date et heure"
    return parse_moment(at, problem, "exemple : --at 2026-12-24T10:30", timezone)


def _read_caller() -> Event | None:
    try:
        text = input("vous : ").strip()
    except EOFError:
        return None
    if not text:
        return Silence()
    if text in KEYS:
        return Keypad(text)
    return Heard(text)


def _stations(gbfs: GbfsClient | None) -> list[StationStatus]:
    if gbfs is None:
        return []
    try:
        return asyncio.run(gbfs.stations())
    except LiveDataError as exc:
        print(f"[données vélos indisponibles : {exc.message}]", file=sys.stderr)
        return []


def _live(gbfs: GbfsClient | None, spoken: str) -> LiveData:
    """The live figures of the station the caller named (None: no such station)."""
    stations = _stations(gbfs)
    if not stations:
        return LiveData(station=spoken or None, available=False)
    name = match_station(spoken, [s.name for s in stations])
    for station in stations:
        if station.name == name:
            return LiveData(station.name, station.bikes, station.docks)
    return LiveData(station=None)
