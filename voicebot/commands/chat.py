"""`voicebot chat`: the phone dialog in a terminal, for content authors.

Type what a caller would say. A line made of one keypad key (0-9, *, #) is a
key press; an empty line is silence; Ctrl-D hangs up.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from functools import partial

from voicebot.calls.scripted import (
    ScriptedCall,
    dialog_context,
    fetch_live,
    gbfs_client,
    station_names,
)
from voicebot.commands.moment import parse_moment
from voicebot.commands.nlu import load_understander
from voicebot.config import load_settings
from voicebot.dialog.events import Action, Event, HandOver, HangUp, Heard, Keypad, Silence, Speak

KEYS = set("0123456789*#")


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    understander = load_understander()
    line = understander.line(args.line)
    service = understander.content.service
    gbfs = gbfs_client(understander)
    context = dialog_context(understander, line.id, settings, station_names(gbfs))
    call = ScriptedCall(context, partial(fetch_live, gbfs), on_action=_show)
    print(
        f"[{line.name} — tapez ce que dirait l'appelant ; une touche seule (0-9, *, #) "
        "est une touche du clavier ; ligne vide : silence ; Ctrl-D : raccrocher]"
    )
    call.start(_moment(args.at, service.timezone))
    while not call.ended:
        event = _read_caller()
        if event is None:
            print("[l'appelant a raccroché]")
            return 0
        call.take(event)
    return 0


def _show(action: Action) -> None:
    if isinstance(action, Speak):
        speed = "" if action.speed == 1.0 else f" (vitesse {action.speed})"
        print(f"robot{speed} : {action.text}")
    elif isinstance(action, HandOver):
        print(
            f"[transfert vers un conseiller — motif : {action.reason}, "
            f"intention : {action.intent}, informations : {dict(action.slots)}]"
        )
    elif isinstance(action, HangUp):
        print(f"[fin de l'appel : {action.outcome}]")


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
    return Heard(text, ((text, 1.0),))
