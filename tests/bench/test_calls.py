"""`voicebot bench calls`: its word accuracy and curve, and one short real run."""

from __future__ import annotations

import re

from tests.cli import assert_clean_error, run_cli
from voicebot.bench.calls import (
    UTTERANCE,
    Accuracy,
    Results,
    Run,
    char_accuracy,
    curve_table,
    first_turns_line,
    word_accuracy,
)

SUMMARY = re.compile(
    r"^calls=(\d+) p50_ms=(\d+) p95_ms=(\d+) cpu_cores=([\d.]+) rss_mb_per_call=(-?[\d.]+) "
    r"errors=(\d+) admitted=(\d+) overflow=(\d+)$"
)


def test_word_accuracy_counts_words_missed_changed_and_added() -> None:
    assert word_accuracy("a b c d", ["a b c d", "a b c d"]) == 1.0
    assert word_accuracy("a b c d", ["a b c"]) == 0.75  # one missed
    assert word_accuracy("a b c d", ["a x c d", "a b c d e"]) == 0.75  # one changed, one added
    assert word_accuracy("a b", ["c d e f g"]) == 0.0  # never below zero
    assert word_accuracy("a b", []) == 0.0


def test_character_accuracy_leaves_spaces_out() -> None:
    assert char_accuracy("라디오 음악", ["라디 오음악"]) == 1.0
    assert char_accuracy("라디오 음악", ["라디오 유마"]) == 0.6  # two of five changed


def test_the_curve_has_a_line_per_step_with_its_accuracy() -> None:
    def run(latencies: list[float], admitted: int, overflow: int) -> Run:
        return Run(Results(latencies, [], admitted, overflow), 10.0, 0.5, 12.0, 0.1)

    table = curve_table(
        [(0, run([300.0, 320.0], 1, 0)), (8, run([400.0, 900.0], 8, 3))],
        {0: Accuracy(1.0, 1.0, 2), 8: Accuracy(0.5, 0.875, 40)},
    ).splitlines()
    assert len(table) == 4 and f"« {UTTERANCE} »" in table[0]
    assert table[2].split() == ["0", "310", "320", "1.000", "1.000", "2", "0.50", "1", "0", "0"]
    assert table[3].split() == ["8", "650", "900", "0.500", "0.875", "40", "0.50", "8", "3", "0"]


def test_a_wrong_count_of_calls_is_a_clear_error() -> None:
    result = run_cli("bench", "calls", "--calls", "4,x")
    assert result.returncode == 2 and "des entiers séparés par des virgules" in result.stderr
    assert_clean_error(run_cli("bench", "calls", "--calls", "4", "--seconds", "0"), "--seconds")


def test_a_short_curve_against_a_real_server() -> None:
    result = run_cli(
        "bench",
        "calls",
        "--calls",
        "1,2",
        "--seconds",
        "10",
        "--baseline-seconds",
        "6",
        "--max-calls",
        "2",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    last = SUMMARY.match(lines[-1])
    assert last is not None, lines[-1]
    assert int(last.group(1)) == 2 and int(last.group(6)) == 0 and int(last.group(7)) >= 2
    assert lines[-2].startswith("machine : ")
    header = next(i for i, line in enumerate(lines) if line.startswith("courbe"))
    rows = [line.split() for line in lines[header + 2 : header + 5]]
    assert [row[0] for row in rows] == ["0", "1", "2"]
    for row in rows:
        # Each step's callers were heard and transcribed: the test model makes a poor job
        # of espeak-ng's Korean (a third of the letters right, « 라디오 »), but not nothing.
        assert int(row[5]) >= 1 and float(row[4]) >= 0.1, rows
        assert 0 < int(row[2]) < 6000, rows
    assert sum(line.startswith("étape : calls=") for line in lines) == 2


def test_first_requests_are_reported_apart_from_the_turns_after_them() -> None:
    results = Results([3000.0, 300.0, 2500.0, 310.0, 320.0], first_turns_ms=[3000.0, 2500.0])
    line = first_turns_line(results)
    assert line == (
        "premières demandes : p50 2750 ms, p95 3000 ms (2) ; "
        "tours suivants : p50 310 ms, p95 320 ms (3)"
    )
    assert first_turns_line(Results()) == "premières demandes : aucun ; tours suivants : aucun"
