"""SIPp callers for the end-to-end tests: a scenario written from a list of steps.

A caller dials a number, streams one G.711 mu-law file as its voice (made
from espeak-ng speech and silence, so RTP flows for the whole call as a real
phone's would), presses keys with SIP INFO at given times, and hangs up (or
waits for Asterisk to hang up).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from voicebot.audio.g711 import ulaw_encode
from voicebot.audio.resample import resample

FROM = "<sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]"
TO = "<sip:[service]@[remote_ip]:[remote_port]>"
HEADERS = """      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: {from_}
      To: {to}
      Call-ID: [call_id]
      CSeq: {cseq} {method}
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Max-Forwards: 70"""

INVITE = """  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
{headers}
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [auto_media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
{ack_headers}
      Content-Length: 0
    ]]>
  </send>
"""

IN_DIALOG = """  <send retrans="500">
    <![CDATA[
      {method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
{headers}
{body}
    ]]>
  </send>
  <recv response="200" crlf="true"/>
"""


def _headers(method: str, cseq: int, dialog: bool) -> str:
    to = TO + ("[peer_tag_param]" if dialog else "")
    return HEADERS.format(from_=FROM, to=to, cseq=cseq, method=method)


@dataclass(frozen=True)
class Key:
    """Press a key (SIP INFO, application/dtmf-relay) ``at_ms`` after the answer."""

    digit: str
    at_ms: int


def scenario(keys: list[Key], hang_up_at_ms: int | None, audio: Path) -> str:
    """The XML of one caller; ``hang_up_at_ms`` None waits for Asterisk's BYE."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<scenario name="voicebot caller">',
        INVITE.format(headers=_headers("INVITE", 1, False), ack_headers=_headers("ACK", 1, True)),
        f"  <nop><action><exec rtp_stream={quoteattr(f'{audio},1,0')}/></action></nop>",
    ]
    now, cseq = 0, 2
    for key in sorted(keys, key=lambda k: k.at_ms):
        if key.at_ms > now:
            parts.append(f'  <pause milliseconds="{key.at_ms - now}"/>')
            now = key.at_ms
        body = (
            "      Content-Type: application/dtmf-relay\n      Content-Length: [len]\n\n"
            f"      Signal={key.digit}\n      Duration=160"
        )
        parts.append(
            IN_DIALOG.format(method="INFO", headers=_headers("INFO", cseq, True), body=body)
        )
        cseq += 1
    if hang_up_at_ms is None:
        parts.append('  <recv request="BYE"/>')
        parts.append(
            "  <send><![CDATA[\n      SIP/2.0 200 OK\n      [last_Via:]\n      [last_From:]\n"
            "      [last_To:]\n      [last_Call-ID:]\n      [last_CSeq:]\n"
            "      Content-Length: 0\n    ]]></send>"
        )
    else:
        if hang_up_at_ms > now:
            parts.append(f'  <pause milliseconds="{hang_up_at_ms - now}"/>')
        parts.append(
            IN_DIALOG.format(
                method="BYE",
                headers=_headers("BYE", cseq, True),
                body="      Content-Length: 0",
            )
        )
    parts.append("</scenario>")
    return "\n".join(parts) + "\n"


def ulaw_voice(
    seconds_total: float, speech: list[tuple[float, bytes]] | None = None, rate_hz: int = 16000
) -> bytes:
    """A caller's whole voice track: silence, with each speech (16-bit PCM at ``rate_hz``,
    16 kHz unless told) placed at its second."""
    track = bytearray(b"\xff" * int(seconds_total * 8000))
    for at_s, pcm in speech or []:
        encoded = ulaw_encode(resample(pcm, rate_hz, 8000))
        start = int(at_s * 8000)
        if start + len(encoded) > len(track):
            track.extend(b"\xff" * (start + len(encoded) - len(track)))
        track[start : start + len(encoded)] = encoded
    return bytes(track)


@dataclass
class Caller:
    """One SIPp caller process."""

    process: subprocess.Popen[bytes]
    workdir: Path

    def wait(self, timeout: float) -> int:
        """SIPp's exit code (0: the scenario ran to its end); killed after ``timeout``."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def errors(self) -> str:
        logs = sorted(self.workdir.glob("*_errors.log"))
        return "\n".join(p.read_text(errors="replace") for p in logs)

    def responses(self) -> list[str]:
        """The SIP responses it received, in order (``180``, ``200``...): with
        ``trace=True`` only."""
        logs = sorted(self.workdir.glob("*_messages.log"))
        text = "\n".join(p.read_text(errors="replace") for p in logs)
        return re.findall(r"(?m)^\s*SIP/2\.0 (\d{3}) ", text)


def call(
    workdir: Path,
    number: str,
    voice: bytes,
    *,
    keys: list[Key] | None = None,
    hang_up_at_ms: int | None = None,
    sip_port: int = 5060,
    local_port: int,
    caller_number: str = "0612345678",
    trace: bool = False,
) -> Caller:
    """Start a SIPp caller dialling ``number`` on the sandbox Asterisk."""
    workdir.mkdir(parents=True, exist_ok=True)
    audio = workdir / "voice.ulaw"
    audio.write_bytes(voice)
    xml = workdir / "caller.xml"
    xml.write_text(scenario(keys or [], hang_up_at_ms, audio))
    inf = workdir / "caller.csv"
    inf.write_text(f"SEQUENTIAL\n{caller_number};\n")
    process = subprocess.Popen(
        [
            "sipp",
            f"127.0.0.1:{sip_port}",
            "-sf",
            str(xml),
            "-inf",
            str(inf),
            "-s",
            number,
            "-i",
            "127.0.0.1",
            "-p",
            str(local_port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(local_port + 2000),
            "-m",
            "1",
            "-nostdin",
            "-trace_err",
            *(["-trace_msg"] if trace else []),
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Caller(process, workdir)
