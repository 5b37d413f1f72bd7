"""Admission at the door: past the limit a call goes to the queue (reason ``capacity``),
whatever its transport, and the calls in progress go on untouched."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.calls.conftest import PASSWORD
from tests.calls.test_endpoint import finished
from tests.calls.test_resilience import running, stop
from tests.local_server import free_port
from voicebot.telephony.audiosocket import KIND_HANGUP, KIND_UUID, message, read_message

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_call_past_the_limit_goes_to_the_queue_with_reason_capacity() -> None:
    """Plain dialplan and ARI media sockets: the socket of the call too many is closed at
    once with 1013, before any ANSWER (Asterisk's ``Dial`` fails and the dialplan asks for
    the route), and the route says why. The call in progress is not disturbed; once it
    ends, there is room."""
    port = free_port()
    server, handle = await running(max_calls=1, audiosocket_port=port)
    try:
        async with server.call("first") as first:
            await first.start_media()
            await first.wait_heard(500, timeout=20.0)
            heard = first.heard_ms()
            async with server.call("second") as second:
                await second.start_media()
                for _ in range(100):
                    if second.closed_at is not None:
                        break
                    await asyncio.sleep(0.05)
                assert (second.close_code, second.close_reason) == (1013, "capacité atteinte")
                assert {"command": "ANSWER"} not in second.commands
            async with httpx.AsyncClient(base_url=server.http) as http:
                ready = (await http.get("/readyz")).json()["capacity"]
                assert (ready["max_calls"], ready["source"], ready["headroom"]) == (
                    1,
                    "setting",
                    0,
                )
                assert ready["overflow"] == 1
                route = await http.get("/calls/second/route", auth=("asterisk", PASSWORD))
                assert route.text == "queue,capacity,"
                metrics = (await http.get("/metrics")).text
                assert 'voicebot_handovers_total{reason="capacity"} 1.0' in metrics
                assert "voicebot_call_headroom 0.0" in metrics

            # AudioSocket: the call too many is hung up at once.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            call_id = uuid.uuid4()
            writer.write(message(KIND_UUID, call_id.bytes))
            kind, _ = await asyncio.wait_for(read_message(reader), 5.0)
            assert kind == KIND_HANGUP
            writer.close()
            record = await finished(server, str(call_id))
            assert (record.route, record.handover_reason) == ("queue", "capacity")

            # Meanwhile the first call went on being greeted.
            await first.wait_heard(heard + 500, timeout=20.0)
            assert first.closed_at is None
        await finished(server, "first")
        async with server.call("third") as third:  # room again
            await third.start_media()
            await third.wait_heard(500, timeout=20.0)
    finally:
        await stop(handle)
