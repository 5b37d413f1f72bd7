"""ARI control of calls (Asterisk 22.6+): the dialplan runs ``Stasis(voicebot,<line>)``.

For each caller entering the app: answer, create a mixing bridge, put the
caller in it, create an externalMedia channel (``transport=websocket``) that
makes Asterisk connect to our ``/media`` endpoint, and bridge it too. The call
itself is then carried by the media endpoint's :class:`CallSession`, which
owns the call's outcome; this controller only carries out its route.

When the bot's leg ends, the caller is either hung up (the call was resolved)
or handed over: channel variables name the call, the reason and the intent,
and the caller continues into the ``handoff`` context, which queues it for
the agents. Whatever fails on our side (the media connection, a REST call),
the caller goes to the queue: a caller is never lost because of us.

Events come over our connection to ``/ari/events``; it reconnects when
Asterisk restarts. A crash leaves callers in the app until we are back: at
every (re)connection, channels in the app that no call of ours owns are sent
to the queue (``bot_restarted``). (ARI Outbound WebSockets, where Asterisk
itself would queue a dead app's callers, were tried on Asterisk 22.10.1 and
left out: killing the app there crashed Asterisk, see telephony/README.md.)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, WebSocketException

from voicebot.calls.admission import CAPACITY, Admission
from voicebot.calls.record import CallRecord
from voicebot.config import Settings
from voicebot.errors import TelephonyError, VoicebotError
from voicebot.phone import caller_number

log = logging.getLogger(__name__)

MEDIA_SUFFIX = "-bot"
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
LEFT_BRIDGE_WAIT_S = 3.0
LOST_LEG_GRACE_S = 2.0
"""A bot leg ended while its session still runs: the session is given this long to
notice and decide, then the caller goes to the queue anyway."""
REMEMBERED_ROUTES = 1000
ABANDONED = "abandoned"
LAST_INSTANCE = "last"
"""Second Stasis argument: the dialplan has no other instance to try after this one."""
HANDED_OVER = "handed_over"


class AriRest:
    """The few REST requests the controller makes, with errors that say what failed."""

    def __init__(self, settings: Settings) -> None:
        if settings.ari_url is None or settings.ari_password is None:
            raise TelephonyError(
                "ARI non configuré",
                hint="définissez VOICEBOT_ARI_URL et VOICEBOT_ARI_PASSWORD (voir ari.conf)",
            )
        self.base = settings.ari_url.rstrip("/")
        self.auth = (settings.ari_username, settings.ari_password.get_secret_value())
        self.client = httpx.AsyncClient(auth=self.auth, timeout=5.0)

    async def request(self, method: str, path: str, **params: str) -> Any:
        url = f"{self.base}{path}"
        try:
            response = await self.client.request(method, url, params=params or None)
        except httpx.HTTPError as exc:
            raise TelephonyError(
                f"ARI injoignable ({method} {path}) : {exc}",
                hint="vérifiez qu'Asterisk tourne et que http.conf active le serveur HTTP",
            ) from None
        if response.status_code >= 400:
            raise TelephonyError(
                f"ARI a refusé {method} {path} : {response.status_code} {response.text[:200]}",
                status=response.status_code,
            )
        return response.json() if response.content else None

    async def close(self) -> None:
        await self.client.aclose()


@dataclass
class AriCall:
    """One caller in the Stasis app, and what was created for it."""

    channel_id: str
    line: str
    caller: str | None
    bridge_id: str | None = None
    media_id: str | None = None
    caller_gone: bool = False
    routed: bool = False


class AriController:
    """Owns calls entering the Stasis app; one per process."""

    def __init__(
        self,
        settings: Settings,
        records: Callable[[str], CallRecord | None],
        dtmf: Callable[[str, str], None] | None = None,
        unattended: Callable[[CallRecord], None] | None = None,
        admission: Admission | None = None,
    ) -> None:
        self.settings = settings
        self.admission = admission
        """Whether there is room for one more call (a caller past it goes to the queue)."""
        self.rest = AriRest(settings)
        self.records = records
        self.dtmf = dtmf
        self.unattended = unattended
        """Told of a caller sent to the queue before any session had the call."""
        self.calls: dict[str, AriCall] = {}
        self.media_of: dict[str, str] = {}
        """externalMedia channel id → caller channel id."""
        self.routes: OrderedDict[str, str] = OrderedDict()
        """Where recent callers went: ``handed_over`` or ``abandoned`` (for late questions)."""
        self.connected = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def owns(self, call_id: str) -> bool:
        """Whether this call's keys come from ARI (then the media socket's are duplicates)."""
        return call_id in self.calls

    # ------------------------------------------------------------ inbound events socket
    def events_url(self) -> str:
        parts = urlsplit(self.rest.base)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = urlencode({"app": self.settings.ari_app, "subscribeAll": "false"})
        return urlunsplit((scheme, parts.netloc, f"{parts.path}/events", query, ""))

    async def run(self) -> None:
        """Listen to Asterisk for ever, reconnecting after a restart or a network cut."""
        user, password = self.rest.auth
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}"}
        attempt = 0
        while True:
            try:
                async with connect(
                    self.events_url(), additional_headers=headers, open_timeout=5
                ) as socket:
                    attempt = 0
                    self.connected.set()
                    log.info("ARI: connected, Stasis app « %s »", self.settings.ari_app)
                    self._spawn(self.reconcile())
                    async for message in socket:
                        self._spawn(self.on_event(json.loads(message)))
            except InvalidStatus as exc:
                status = exc.response.status_code
                log.error(
                    "ARI: %s refused the events socket (%s): check ari.conf user and password",
                    self.events_url(),
                    status,
                )
            except (OSError, InvalidHandshake, WebSocketException, TimeoutError) as exc:
                if self.connected.is_set() or attempt == 0:
                    log.warning("ARI: events socket lost or unreachable (%s); retrying", exc)
            self.connected.clear()
            delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
            attempt += 1
            await asyncio.sleep(delay)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Shutdown: every caller still here goes to the queue, then nothing is left."""
        for call in list(self.calls.values()):
            record = self.records(call.channel_id)
            intent = record.intents[-1] if record is not None and record.intents else None
            with contextlib.suppress(TelephonyError):
                await self._hand_over(call, "bot_stopped", intent)
        for task in list(self._tasks):
            task.cancel()
        await self.rest.close()

    async def wait_routed(self, timeout_s: float) -> None:
        """Until every caller has been routed (or the time is up)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.calls and loop.time() < deadline:
            await asyncio.sleep(0.05)

    # ------------------------------------------------------------ crash recovery
    async def reconcile(self) -> int:
        """Send to the queue every caller in our app that no call of ours owns.

        Such callers were left by a process that died (Asterisk keeps them in the app
        until the app is back); bot legs and bridges it left are removed."""
        try:
            app = await self.rest.request("GET", f"/applications/{self.settings.ari_app}")
        except TelephonyError as exc:
            log.warning("ARI: could not look for calls left by an earlier process: %s", exc)
            return 0
        found: list[str] = []
        if app:
            for channel_id in app.get("channel_ids") or []:
                channel_id = str(channel_id)
                if channel_id in self.calls or channel_id in self.media_of:
                    continue
                if channel_id.endswith(MEDIA_SUFFIX):
                    with contextlib.suppress(TelephonyError):
                        await self.rest.request("DELETE", f"/channels/{channel_id}")
                    continue
                found.append(channel_id)
                call = AriCall(channel_id, self.settings.default_line, None)
                log.warning("ARI: caller %s left by an earlier process: to the queue", channel_id)
                with contextlib.suppress(TelephonyError):
                    await self._hand_over(call, "bot_restarted", None)
        await self._clear_bridges({f"voicebot-{channel_id}" for channel_id in found})
        return len(found)

    async def _clear_bridges(self, handed_over: set[str]) -> None:
        """Remove the empty bridges an earlier process left. A caller just handed over
        leaves its bridge (named in ``handed_over``) a moment after the ``continue``: while
        one still holds a channel, the bridges are looked at again, for up to
        :data:`LEFT_BRIDGE_WAIT_S`. A bridge with channels in it (another instance's call)
        is never removed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LEFT_BRIDGE_WAIT_S
        while True:
            ours = {c.bridge_id for c in self.calls.values()}
            try:
                bridges = await self.rest.request("GET", "/bridges")
            except TelephonyError as exc:
                log.warning("ARI: could not look for bridges left by an earlier process: %s", exc)
                return
            holding = 0
            for bridge in bridges or []:
                if not str(bridge.get("name", "")).startswith("voicebot-"):
                    continue
                if bridge["id"] in ours:
                    continue
                if bridge.get("channels"):
                    holding += bridge.get("name") in handed_over
                    continue
                with contextlib.suppress(TelephonyError):
                    await self.rest.request("DELETE", f"/bridges/{bridge['id']}")
            if not holding or loop.time() >= deadline:
                return
            await asyncio.sleep(0.25)

    # ------------------------------------------------------------ events
    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        channel = event.get("channel") or {}
        channel_id = str(channel.get("id", ""))
        try:
            if kind == "StasisStart":
                await self._stasis_start(channel_id, channel, event.get("args") or [])
            elif kind == "StasisEnd":
                await self._stasis_end(channel_id)
            elif kind == "ChannelDtmfReceived" and channel_id in self.calls and self.dtmf:
                self.dtmf(channel_id, str(event.get("digit", "")))
        except TelephonyError as exc:
            log.error("ARI: %s", exc)

    async def _stasis_start(
        self, channel_id: str, channel: dict[str, Any], args: list[Any]
    ) -> None:
        if channel_id in self.media_of:
            await self._media_up(channel_id)
            return
        if channel_id.endswith(MEDIA_SUFFIX):
            return  # a bot leg this process no longer knows (restarted): ends by itself
        line = str(args[0]) if args and args[0] else self.settings.default_line
        number = (channel.get("caller") or {}).get("number") or None
        call = AriCall(channel_id, line, number)
        self.calls[channel_id] = call
        log.info("ARI: call %s on line %s from %s", channel_id, line, number or "?")
        if self.admission is not None and not await self.admission.enter(
            channel_id,
            self.settings.admission_wait_ms / 1000.0,
            on_wait=lambda: self._ring(channel_id),
        ):
            last = len(args) > 1 and str(args[1]) == LAST_INSTANCE
            await self._overflow(call, last)
            return
        if call.caller_gone:  # hung up while the line rang, waiting for the pace
            if self.admission is not None:
                self.admission.release(channel_id)
            return
        try:
            await self.rest.request("POST", f"/channels/{channel_id}/answer")
            # Named on the caller's channel at once: if this process dies, the dialplan's
            # fallback knows the bot had the call (reason bot_crashed, not bot_unavailable).
            await self.rest.request(
                "POST",
                f"/channels/{channel_id}/variable",
                variable="VOICEBOT_CALL_ID",
                value=channel_id,
            )
            bridge = await self.rest.request(
                "POST", "/bridges", type="mixing", name=f"voicebot-{channel_id}"
            )
            call.bridge_id = str(bridge["id"])
            await self.rest.request(
                "POST", f"/bridges/{call.bridge_id}/addChannel", channel=channel_id
            )
            media_id = f"{channel_id}{MEDIA_SUFFIX}"
            self.media_of[media_id] = channel_id
            call.media_id = media_id
            await self.rest.request(
                "POST",
                "/channels/externalMedia",
                app=self.settings.ari_app,
                channelId=media_id,
                external_host=self.settings.ari_media_connection,
                transport="websocket",
                encapsulation="none",
                format=self.settings.ari_media_format,
                transport_data=self._dial_options(call),
            )
        except TelephonyError as exc:
            log.error("ARI: call %s could not reach the bot (%s): to the queue", channel_id, exc)
            routed = await self._hand_over(call, "bot_unavailable", None)
            self._record_unattended(call, routed, "bot_unavailable")

    async def _ring(self, channel_id: str) -> None:
        """The caller waits for the pace (not answered yet): the line rings on."""
        try:
            await self.rest.request("POST", f"/channels/{channel_id}/ring")
        except VoicebotError as exc:
            log.info("ARI: could not ring call %s while it waits: %s", channel_id, exc)

    async def _overflow(self, call: AriCall, last: bool) -> None:
        """No room here. With an overflow context (several instances), the call goes there
        to try the next instance, unless the dialplan says this one was the last
        (``Stasis(app,line,last)``); otherwise, or then, to the agents with the reason
        ``capacity``, recorded so that the queue shows it."""
        context = self.settings.ari_overflow_context
        active = self.admission.active if self.admission is not None else 0
        if context is None or last:
            log.warning("ARI: call %s: no room (%d calls): to the queue", call.channel_id, active)
            self._record_unattended(call, await self._hand_over(call, CAPACITY, None), CAPACITY)
            return
        log.warning(
            "ARI: call %s: no room (%d calls): to %s, for another instance",
            call.channel_id,
            active,
            context,
        )
        call.routed = True
        try:
            await self.rest.request(
                "POST", f"/channels/{call.channel_id}/continue", context=context, extension="s",
                priority="1",
            )  # fmt: skip
        except TelephonyError as exc:  # the dialplan's fallback queues a caller still there
            log.error("ARI: call %s could not be passed on: %s", call.channel_id, exc)
        await self._clean_up(call)

    def _record_unattended(self, call: AriCall, routed: str, reason: str) -> None:
        """A caller routed before any session had the call is recorded all the same (the
        queue shows it, with why)."""
        if self.unattended is None or self.records(call.channel_id) is not None:
            return
        record = CallRecord(call.channel_id, call.line, caller=caller_number(call.caller))
        record.outcome = routed
        if routed == HANDED_OVER:
            record.route, record.handover_reason = "queue", reason
        self.unattended(record)

    async def _media_up(self, media_id: str) -> None:
        """The bot's leg is connected and in the app: bridge it with its caller."""
        call = self.calls.get(self.media_of[media_id])
        if call is None or call.caller_gone or call.bridge_id is None:
            with contextlib.suppress(TelephonyError):
                await self.rest.request("DELETE", f"/channels/{media_id}")
            return
        try:
            await self.rest.request(
                "POST", f"/bridges/{call.bridge_id}/addChannel", channel=media_id
            )
        except TelephonyError as exc:
            log.error("ARI: call %s: the bot's leg could not be bridged (%s)", call.channel_id, exc)
            await self._hand_over(call, "bot_unavailable", None)

    def _dial_options(self, call: AriCall) -> str:
        """``f(json)v(...)``: JSON control, and the line, call and caller for /media."""
        params = {"line": call.line, "call": call.channel_id}
        if call.caller:
            params["caller"] = call.caller
        encoded = ",".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
        return f"f(json)v({encoded})"

    async def _stasis_end(self, channel_id: str) -> None:
        if channel_id in self.media_of:
            caller_id = self.media_of.pop(channel_id)
            call = self.calls.get(caller_id)
            if call is not None:
                call.media_id = None
                await self._bot_done(call)
            return
        call = self.calls.get(channel_id)
        if call is None:
            return
        call.caller_gone = True
        if not call.routed:
            log.info("ARI: caller %s left", channel_id)
            self._remember(channel_id, ABANDONED)
        await self._clean_up(call)

    async def _bot_done(self, call: AriCall) -> None:
        """The bot's leg ended: carry out the route its session chose."""
        if call.caller_gone or call.routed:
            await self._clean_up(call)
            return
        record = self.records(call.channel_id)
        route = record.route if record is not None else None
        if route == "hangup":
            call.routed = True
            self._remember(call.channel_id, "hangup")
            with contextlib.suppress(TelephonyError):
                await self.rest.request("DELETE", f"/channels/{call.channel_id}")
            await self._clean_up(call)
        elif route == "queue" and record is not None:
            intent = record.intents[-1] if record.intents else None
            await self._hand_over(call, record.handover_reason or "error", intent)
        elif record is None:
            await self._hand_over(call, "media_lost", None)
        else:
            # The leg was lost under a session still running: it asks line_lost() when
            # it notices; if it does not in time, the caller goes to the queue anyway.
            await asyncio.sleep(LOST_LEG_GRACE_S)
            if not call.routed and not call.caller_gone:
                intent = record.intents[-1] if record.intents else None
                await self._hand_over(call, "media_lost", intent)

    async def line_lost(self, call_id: str, intent: str | None) -> str:
        """A session's line closed without its dialog ending it: was the caller gone, or
        the bot's leg lost? Route the caller if still here; say ``abandoned`` or
        ``handed_over`` (the session records it)."""
        call = self.calls.get(call_id)
        if call is None:
            return self.routes.get(call_id, ABANDONED)
        if call.caller_gone:
            return ABANDONED
        if call.routed:
            return self.routes.get(call_id, HANDED_OVER)
        return await self._hand_over(call, "media_lost", intent)

    def _remember(self, call_id: str, route: str) -> None:
        self.routes[call_id] = route
        while len(self.routes) > REMEMBERED_ROUTES:
            self.routes.popitem(last=False)

    async def _hand_over(self, call: AriCall, reason: str, intent: str | None) -> str:
        """Name the call on the caller's channel and send it to the agents' queue.

        Returns ``handed_over``, or ``abandoned`` when the caller had already gone."""
        if call.routed or call.caller_gone:
            await self._clean_up(call)
            return self.routes.get(call.channel_id, ABANDONED)
        call.routed = True
        variables = {
            "VOICEBOT_CALL_ID": call.channel_id,
            "VOICEBOT_REASON": reason,
            "VOICEBOT_INTENT": intent or "",
            "VOICEBOT_LINE": call.line,
        }
        try:
            for name, value in variables.items():
                await self.rest.request(
                    "POST", f"/channels/{call.channel_id}/variable", variable=name, value=value
                )
            await self.rest.request(
                "POST",
                f"/channels/{call.channel_id}/continue",
                context=self.settings.handoff_context,
                extension="s",
                priority="1",
            )
        except TelephonyError as exc:
            await self._clean_up(call)
            if exc.status == 404:  # the caller hung up meanwhile
                self._remember(call.channel_id, ABANDONED)
                return ABANDONED
            # Refused or unreachable: when Stasis ends, the dialplan's fallback queues a
            # caller who is still there; that is all we can say.
            log.error("ARI: call %s could not be handed over: %s", call.channel_id, exc)
            self._remember(call.channel_id, HANDED_OVER)
            return HANDED_OVER
        log.info("ARI: call %s handed over (%s)", call.channel_id, reason)
        self._remember(call.channel_id, HANDED_OVER)
        await self._clean_up(call)
        return HANDED_OVER

    async def _clean_up(self, call: AriCall) -> None:
        """Hang up the bot's leg and destroy the bridge; forget the call."""
        self.calls.pop(call.channel_id, None)
        if self.admission is not None:
            self.admission.release(call.channel_id)
        if call.media_id is not None:
            self.media_of.pop(call.media_id, None)
            media, call.media_id = call.media_id, None
            with contextlib.suppress(TelephonyError):
                await self.rest.request("DELETE", f"/channels/{media}")
        if call.bridge_id is not None:
            bridge, call.bridge_id = call.bridge_id, None
            with contextlib.suppress(TelephonyError):
                await self.rest.request("DELETE", f"/bridges/{bridge}")
