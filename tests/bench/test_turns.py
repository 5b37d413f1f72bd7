"""`voicebot bench turns`: its figures from known calls, and one short real run."""

from __future__ import annotations

import re

from tests.cli import assert_clean_error, run_cli
from voicebot.bench.turns import (
    CONDITIONS,
    CallResult,
    Corpus,
    Figures,
    TurnResult,
    attach_turns,
    references_of,
    server_settings,
    summary_line,
)

SUMMARY = re.compile(
    r"turns=(\d+) echo_false_barge_in=(\d+) noise_false_barge_in_per_100=([\d.]+|-) "
    r"barge_in_p95_ms=(\d+|-) premature_eot_pct=([\d.]+|-) "
    r"eos_to_audio_p50_ms=(\d+|-) eos_to_audio_p95_ms=(\d+|-)"
)


def test_the_conditions_are_the_ones_documented() -> None:
    echo = [f"echo-{db}dB-{ms}ms" for db in (6, 12, 20) for ms in (20, 60, 120)]
    noise = ["white-45", "white-35", "pink-45", "pink-35", "babble-40"]
    assert list(CONDITIONS) == ["clean", *echo, *noise, "interrupt", "pause"]
    assert CONDITIONS["echo-12dB-60ms"].line.echo_db == -12.0
    assert CONDITIONS["echo-12dB-60ms"].line.echo_delay_ms == 60
    assert CONDITIONS["pink-35"].line.noise == "pink"
    assert CONDITIONS["pink-35"].line.noise_dbfs == -35.0
    assert CONDITIONS["interrupt"].line.echo_db == -20.0


def result(
    condition: str, *turns: TurnResult, false: int = 0, barge: float | None = None
) -> CallResult:
    call = CallResult("energy", condition, 0, f"c-{condition}", list(turns), false_barge_ins=false)
    call.barge_in_ms = barge
    return call


def test_summary_counts_each_figure_over_its_own_calls() -> None:
    results = [
        result("clean", TurnResult("a", 0, 1, reply_ms=500.0)),
        result("echo-6dB-20ms", TurnResult("a", 0, 1, reply_ms=700.0), false=5),  # not counted
        result("echo-12dB-60ms", TurnResult("a", 0, 1, reply_ms=600.0), false=2),
        result("echo-20dB-120ms", TurnResult("a", 0, 1, premature=True), false=1),
        result("white-35", TurnResult("a", 0, 1, reply_ms=900.0), false=1),
        result("babble-40", TurnResult("a", 0, 1, reply_ms=800.0)),
        result("interrupt", TurnResult("a", 0, 1, reply_ms=400.0), barge=240.0),
    ]
    line = summary_line(results, {})
    match = SUMMARY.fullmatch(line)
    assert match, line
    assert match.groups() == ("7", "3", "50.0", "240", "14.3", "650", "900")


def test_summary_without_the_calls_a_figure_needs() -> None:
    line = summary_line([result("clean", TurnResult("a", 0, 1))], {})
    assert line == (
        "turns=1 echo_false_barge_in=0 noise_false_barge_in_per_100=- barge_in_p95_ms=- "
        "premature_eot_pct=0.0 eos_to_audio_p50_ms=- eos_to_audio_p95_ms=-"
    )


def test_a_caller_turn_recorded_before_the_caller_finished_is_premature() -> None:
    call = result("pause", TurnResult("p", 10.0, 12.5, reply_ms=600.0), TurnResult("q", 20.0, 21.0))
    offset = 1000.0  # monotonic to wall clock
    recorded = [(1005.0, "avant"), (1011.2, "je voudrais"), (1013.1, "passeport"), (1020.5, "x")]
    attach_turns(call, recorded, offset)
    first, second = call.turns
    assert first.premature and first.reply_ms is None
    assert first.transcript == "je voudrais passeport"  # not the turn of the next utterance
    assert second.premature and second.transcript == "x"


def test_word_accuracy_is_against_the_offline_clean_transcript() -> None:
    corpus = Corpus([], [], transcripts={"espeak:a": "un deux trois quatre", "piper:b": ""})
    references = references_of(corpus)
    assert references == {"espeak:a": ["un", "deux", "trois", "quatre"]}
    figures = Figures()
    turn = TurnResult("espeak:a", 0, 1, transcript="un trois quatre cinq")
    figures.add(result("pink-35", turn), references)
    assert figures.word_accuracy_pct == 50.0  # one word lost, one changed: 2 errors of 4


def test_server_settings_are_voicebot_variables() -> None:
    assert server_settings(["TURN_END_MS=600", "voicebot_vad_model = x"]) == {
        "VOICEBOT_TURN_END_MS": "600",
        "VOICEBOT_VAD_MODEL": "x",
    }
    assert_clean_error(
        run_cli("bench", "turns", "--set", "TURN_END_MS"), "NOM=VALEUR", "TURN_END_MS"
    )


def test_unknown_conditions_are_refused() -> None:
    assert_clean_error(
        run_cli("bench", "turns", "--conditions", "clean,echo-7dB"), "echo-7dB", "clean"
    )


def test_a_short_run_prints_its_summary_last() -> None:
    run = run_cli(
        "bench", "turns", "--calls-per-condition", "1",
        "--conditions", "clean,echo-12dB-60ms,interrupt", "--vads", "energy", "--quick",
        timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    match = SUMMARY.fullmatch(lines[-1])
    assert match, lines[-1]
    assert int(match.group(1)) >= 2
    assert lines[0].startswith("machine : ") and "charge moyenne" in lines[0]
    assert any(line.startswith("energy  interrupt") for line in lines)
