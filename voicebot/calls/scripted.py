"""A call without audio: the phone's dialog driven by events given one by one.

`voicebot chat` (the keyboard) and `voicebot dialog` (scripted calls) both run
their calls through :class:`ScriptedCall`: the same pure ``step()``, the same
content, settings and live data as a phone call, the actions carried out the
way :class:`~voicebot.calls.session.CallSession` carries them out, minus the
audio. What a call dealt with (intents without repeats, the slots known) is
gathered by :func:`note_understanding`, which the phone session uses too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from voicebot.config import Settings
from voicebot.dialog.events import (
    Action,
    CallStarted,
    Event,
    FetchLive,
    HandOver,
    HangUp,
    Heard,
    Keypad,
    LiveData,
    SendSms,
    Speak,
)
from voicebot.dialog.policy import DialogContext, DialogState, step
from voicebot.errors import VoicebotError
from voicebot.live.gbfs import GbfsClient, LiveDataError
from voicebot.nlu.slots import match_station
from voicebot.nlu.understand import Understander
from voicebot.phone import caller_number

log = logging.getLogger(__name__)

LIVE_TIMEOUT_S = 4.0
"""How long a call waits for the live bike data before hearing it is unavailable."""


def note_understanding(intents: list[str], slots: dict[str, str], state: DialogState) -> None:
    """Add what the dialog has understood so far to a call's ``intents`` (in order,
    without repeats) and ``slots`` (canonical values, the latest winning)."""
    for intent in state.intents:
        if intent not in intents:
            intents.append(intent)
    slots.update(state.pending_slots)


def dialog_context(
    understander: Understander, line: str, settings: Settings, stations: tuple[str, ...]
) -> DialogContext:
    """The dialog's fixed inputs for one call on ``line``, as the phone has them."""
    content = understander.content
    return DialogContext(
        content.line(line),
        content.service,
        understander,
        stations,
        listen_timeout_ms=settings.listen_timeout_ms,
        sms_sender=False,  # no SMS sender exists yet: the dialog never offers one
    )


def gbfs_client(understander: Understander) -> GbfsClient | None:
    """The live bike feed the content names, as ``voicebot serve`` opens it (None: none)."""
    url = understander.content.service.gbfs_url
    return GbfsClient(url) if url else None


def station_names(gbfs: GbfsClient | None) -> tuple[str, ...]:
    """The live station names (for the station grammar and matching); () when unavailable."""
    if gbfs is None:
        return ()
    try:
        asyncio.run(gbfs.refresh_names())
    except LiveDataError as exc:
        log.warning("bike station names unavailable (no station grammar): %s", exc)
    return gbfs.known_names()


async def live_figures(gbfs: GbfsClient | None, spoken: str) -> LiveData:
    """The live figures of the station the caller named; ``LiveData(None)``: no such
    station. Raises :class:`LiveDataError` when the feed is down or malformed."""
    if gbfs is None:
        return LiveData(spoken or None, available=False)
    stations = await gbfs.stations()
    name = match_station(spoken, [s.name for s in stations])
    found = next((s for s in stations if s.name == name), None)
    if found is None:
        return LiveData(None)
    return LiveData(found.name, found.bikes, found.docks)


def fetch_live(gbfs: GbfsClient | None, spoken: str) -> LiveData:
    """:func:`live_figures` for a caller waiting: a failure is "unavailable", as on the phone."""
    try:
        return asyncio.run(asyncio.wait_for(live_figures(gbfs, spoken), LIVE_TIMEOUT_S))
    except (TimeoutError, VoicebotError) as exc:
        log.warning("live data failed: %s", exc)
        return LiveData(spoken or None, available=False)


@dataclass
class ScriptedCall:
    """One call: give it events with :meth:`take`; it carries out the dialog's actions."""

    context: DialogContext
    live: Callable[[str], LiveData]
    on_action: Callable[[Action], None] | None = None
    """Told of every action as it is carried out (the chat prints them)."""
    state: DialogState = field(init=False)
    bot: list[str] = field(default_factory=list)
    outcome: str | None = None
    """``resolved``, ``handed_over`` or ``closed``; None while the call goes on."""
    handover_reason: str | None = None
    intents: list[str] = field(default_factory=list)
    slots: dict[str, str] = field(default_factory=dict)
    sms: list[dict[str, str]] = field(default_factory=list)
    """Messages handed to an SMS gateway: none exists yet, so none is."""
    caller: str | None = None

    def __post_init__(self) -> None:
        self.state = DialogState(line=self.context.line.id)

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    def start(self, now: datetime, caller: str | None = None) -> None:
        """The call is answered at ``now``; ``caller`` as the telephony gives it."""
        # As on the phone: the one place a caller id enters is normalised to E.164.
        self.caller = caller_number(caller)
        self.take(CallStarted(now, self.caller))

    def take(self, event: Event) -> bool:
        """Apply one event; False when the call had ended and the event was ignored."""
        if self.ended:
            return False
        self.state, actions = step(self.state, event, self.context)
        if isinstance(event, Heard | Keypad):
            note_understanding(self.intents, self.slots, self.state)
        follow: Event | None = None
        for action in actions:
            if self.on_action is not None:
                self.on_action(action)
            if isinstance(action, Speak):
                self.bot.append(action.text)
            elif isinstance(action, FetchLive):
                follow = self.live(action.station)
            elif isinstance(action, SendSms):
                log.error("no SMS sender configured, message not sent")
            elif isinstance(action, HandOver):
                self.handover_reason = action.reason
                self.slots.update(action.slots)
                self.outcome = "handed_over"
            elif isinstance(action, HangUp):
                self.outcome = action.outcome
        if follow is not None:
            self.take(follow)
        return True
