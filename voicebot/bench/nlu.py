"""`voicebot bench nlu`: accuracy on an evaluation set and speed, against a plain baseline.

The baseline is what a first attempt would do: one ``rapidfuzz.process.extractOne``
over all the examples, with a fixed threshold; it runs in the same process, on
the same set, so the figures compare directly.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from voicebot.config import PROJECT_ROOT, load_settings
from voicebot.content import load_content
from voicebot.content.model import Content
from voicebot.errors import UsageError
from voicebot.nlu.normalize import normalize
from voicebot.nlu.understand import Understander

FREE_TEXT_SLOTS = {"adresse", "motif", "station"}
DEFAULT_EVAL = PROJECT_ROOT / "tests" / "nlu" / "eval"
EVAL_TODAY = date(2026, 11, 26)


@dataclass
class Report:
    in_scope: int = 0
    correct: int = 0
    out_of_scope: int = 0
    rejected: int = 0
    slot_true: int = 0
    slot_predicted: int = 0
    slot_gold: int = 0
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def accuracy(self) -> float:
        return self.correct / max(1, self.in_scope)

    @property
    def rejection(self) -> float:
        return self.rejected / max(1, self.out_of_scope)

    @property
    def slot_f1(self) -> float:
        precision = self.slot_true / max(1, self.slot_predicted)
        recall = self.slot_true / max(1, self.slot_gold)
        return 2 * precision * recall / max(1e-9, precision + recall)


def load_eval(path: Path) -> list[dict[str, Any]]:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise UsageError(
            f"jeu d'évaluation introuvable : {path}",
            hint="donnez un fichier JSONL ou un dossier qui en contient",
        )
    items = []
    for file in files:
        for number, raw in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if raw.strip():
                try:
                    items.append(json.loads(raw))
                except json.JSONDecodeError as exc:
                    raise UsageError(
                        f"{file}, ligne {number} : JSON invalide ({exc.msg})"
                    ) from None
    return items


def evaluate(understander: Understander, items: list[dict[str, Any]]) -> tuple[Report, list[float]]:
    report = Report()
    timings = []
    for item in items:
        line = item.get("line", "mairie")
        started = time.perf_counter()
        result = understander.understand(item["text"], line, EVAL_TODAY)
        timings.append((time.perf_counter() - started) * 1000)
        gold = item.get("intent")
        if gold is None:
            report.out_of_scope += 1
            report.rejected += result.intent is None
            if result.intent is not None:
                report.errors[("∅", result.intent)] += 1
            continue
        report.in_scope += 1
        report.correct += result.intent == gold
        if result.intent != gold:
            report.errors[(gold, str(result.intent))] += 1
        predicted = {(k, str(v)) for k, v in result.slots.items() if k not in FREE_TEXT_SLOTS}
        expected = {
            (k, str(v)) for k, v in (item.get("slots") or {}).items() if k not in FREE_TEXT_SLOTS
        }
        report.slot_true += len(predicted & expected)
        report.slot_predicted += len(predicted)
        report.slot_gold += len(expected)
    return report, timings


def baseline(
    content: Content, items: list[dict[str, Any]], threshold: float = 70.0
) -> tuple[Report, list[float]]:
    """One extractOne over all examples of the line, WRatio, fixed threshold."""
    tables = {}
    for line_id, line in content.lines.items():
        tables[line_id] = [(e, i.id) for i in line.intents.values() for e in i.examples]
    report = Report()
    timings = []
    for item in items:
        table = tables[item.get("line", "mairie")]
        started = time.perf_counter()
        match = process.extractOne(item["text"], [e for e, _ in table], scorer=fuzz.WRatio)
        timings.append((time.perf_counter() - started) * 1000)
        intent = table[match[2]][1] if match and match[1] >= threshold else None
        gold = item.get("intent")
        if gold is None:
            report.out_of_scope += 1
            report.rejected += intent is None
        else:
            report.in_scope += 1
            report.correct += intent == gold
    return report, timings


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


DEV_OUT_OF_SCOPE = PROJECT_ROOT / "tests" / "nlu" / "dev" / "out_of_scope.txt"


def calibrate(content: Content) -> None:
    from voicebot.nlu.calibrate import fit
    from voicebot.nlu.understand import CALIBRATION, REJECT_BELOW

    lines = DEV_OUT_OF_SCOPE.read_text(encoding="utf-8").splitlines()
    extra = [t.strip() for t in lines if t.strip() and not t.startswith("#")]
    result = fit(content, extra, REJECT_BELOW)
    print(
        f"Validation croisée (5 plis) : {result.in_scope} phrases dans le périmètre, "
        f"{result.out_of_scope} hors périmètre"
    )
    print(
        f"  intention juste {result.accuracy:.3f}, hors périmètre rejeté {result.rejection:.3f} "
        f"(seuil {REJECT_BELOW})"
    )
    print(f"  calibration actuelle : {CALIBRATION}")
    print(f"  calibration estimée  : {result.weights}")


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    content = load_content(settings.prompts_dir)
    if args.calibrate:
        calibrate(content)
        return 0
    understander = Understander(content)
    items = load_eval(Path(args.eval) if args.eval else DEFAULT_EVAL)
    normalize.cache_clear()  # measure each utterance as new
    report, timings = evaluate(understander, items)
    base, base_timings = baseline(content, items)

    whole = [
        (e, line.id)
        for line in content.lines.values()
        for i in line.intents.values()
        for e in i.examples
    ]
    normalize.cache_clear()
    content_timings = []
    for text, line_id in whole:
        started = time.perf_counter()
        understander.understand(text, line_id, EVAL_TODAY)
        content_timings.append((time.perf_counter() - started) * 1000)

    print(
        f"Jeu d'évaluation : {len(items)} phrases ({report.in_scope} dans le périmètre, "
        f"{report.out_of_scope} hors périmètre)"
    )
    print(f"{'':28} {'voicebot':>10} {'extractOne':>11}")
    print(f"{'intention (dans périmètre)':28} {report.accuracy:>10.3f} {base.accuracy:>11.3f}")
    print(f"{'hors périmètre rejeté':28} {report.rejection:>10.3f} {base.rejection:>11.3f}")
    print(f"{'slots F1':28} {report.slot_f1:>10.3f} {'-':>11}")
    print(
        f"{'latence médiane (ms)':28} {statistics.median(timings):>10.2f} "
        f"{statistics.median(base_timings):>11.2f}"
    )
    print(f"{'latence p95 (ms)':28} {p95(timings):>10.2f} {p95(base_timings):>11.2f}")
    print(
        f"\nTout le contenu ({len(whole)} exemples) : médiane "
        f"{statistics.median(content_timings):.2f} ms, p95 {p95(content_timings):.2f} ms "
        "par phrase, un cœur"
    )
    if report.errors:
        print("\nConfusions les plus fréquentes (attendu → obtenu) :")
        for (gold, got), count in report.errors.most_common(12):
            print(f"  {count:3} × {gold} → {got}")
    print(
        f"\nintent_accuracy={report.accuracy:.3f} oos_rejection={report.rejection:.3f} "
        f"slot_f1={report.slot_f1:.3f} p95_ms={p95(content_timings):.2f}"
    )
    return 0
