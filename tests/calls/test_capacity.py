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


async def test_calls_faster_than_the_pace_ring_on_then_come_in_or_go_to_the_queue() -> None:
    """A burst of calls on the media endpoint: as many as the pace's burst are answered at
    once, the next ones wait their turn (no ANSWER yet: the line rings on), and the one
    whose turn would come after the wait goes to the queue with reason ``capacity``."""
    server, handle = await running(new_calls_per_s=1.0, admission_wait_ms=1600)
    try:
        pace = server.state.admission.pace
        assert pace is not None and pace.per_s == 1.0
        burst = pace.burst
        ids = [f"burst-{i}" for i in range(burst + 2)]
        calls = [server.call(call_id) for call_id in ids]
        for call in calls:
            await call.__aenter__()
        try:
            started = asyncio.get_running_loop().time()
            await asyncio.gather(*(call.start_media() for call in calls))
            answered_after: dict[str, float] = {}
            while len(answered_after) < len(ids) - 1:
                for call_id, call in zip(ids, calls, strict=True):
                    if call_id not in answered_after and {"command": "ANSWER"} in call.commands:
                        answered_after[call_id] = asyncio.get_running_loop().time() - started
                assert asyncio.get_running_loop().time() - started < 10.0
                await asyncio.sleep(0.02)
            last = calls[-1]
            while last.closed_at is None:
                assert asyncio.get_running_loop().time() - started < 10.0
                await asyncio.sleep(0.02)
            refused_after = asyncio.get_running_loop().time() - started
        finally:
            for call in calls:
                await call.__aexit__(None, None, None)
        assert max(answered_after[i] for i in ids[:burst]) < 0.7
        assert 0.7 <= answered_after[ids[burst]] < 1.8  # its turn, a second later
        assert (last.close_code, last.close_reason) == (1013, "capacité atteinte")
        assert {"command": "ANSWER"} not in last.commands
        assert refused_after >= 1.4  # it rang on for the wait, then went to the agents
        async with httpx.AsyncClient(base_url=server.http) as http:
            ready = (await http.get("/readyz")).json()["capacity"]
            assert (ready["waited"], ready["overflow"], ready["new_calls_per_s"]) == (1, 1, 1.0)
            route = await http.get(f"/calls/{ids[-1]}/route", auth=("asterisk", PASSWORD))
            assert route.text == "queue,capacity,"
    finally:
        await stop(handle)
