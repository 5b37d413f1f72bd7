"""learned.yaml (examples added from the console) is merged into the line's intents."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from voicebot.config import PROJECT_ROOT
from voicebot.content import load_content
from voicebot.content.model import OUT_OF_SCOPE
from voicebot.errors import ContentError


def with_learned(tmp_path: Path, body: str) -> Path:
    root = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", root)
    (root / "mairie" / "learned.yaml").write_text(body, encoding="utf-8")
    return root


def test_learned_examples_join_their_intents(tmp_path: Path) -> None:
    shipped = load_content(PROJECT_ROOT / "prompts").line("mairie")
    root = with_learned(
        tmp_path,
        "examples:\n"
        "  dechets: [le truc des poubelles, les bacs jaunes, les bacs jaunes]\n"
        f"  {OUT_OF_SCOPE}: [je voudrais commander une pizza]\n"
        f"  horaires: [{shipped.intents['horaires'].examples[0]}]\n",
    )
    line = load_content(root).line("mairie")
    dechets = line.intents["dechets"].examples
    assert (
        dechets[: len(shipped.intents["dechets"].examples)] == shipped.intents["dechets"].examples
    )
    assert dechets[-2:] == ("le truc des poubelles", "les bacs jaunes")
    assert line.intents[OUT_OF_SCOPE].examples[-1] == "je voudrais commander une pizza"
    assert line.intents["horaires"].examples == shipped.intents["horaires"].examples  # a repeat


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("examples: [bonjour]\n", "doit associer des intentions à des listes de phrases"),
        ("examples:\n  dechets: bonjour\n", "doit être une liste de textes"),
        ("examples: {dechets: [\n", "YAML invalide"),
    ],
)
def test_a_broken_learned_file_names_its_problem(tmp_path: Path, body: str, problem: str) -> None:
    root = with_learned(tmp_path, body)
    with pytest.raises(ContentError) as caught:
        load_content(root)
    problems = caught.value.problems  # type: ignore[attr-defined]
    assert any("learned.yaml" in p and problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("body", "warning", "skipped"),
    [
        # intents.yaml renamed an intent after the console learned examples for it
        (
            "examples:\n  paie_des_agents: [la paie des agents]\n"
            "  dechets: [le truc des poubelles]\n",
            "examples.paie_des_agents: intention inconnue « paie_des_agents » : ces exemples "
            "sont ignorés ; rattachez-les à une intention de intents.yaml",
            "la paie des agents",
        ),
        # intents.yaml took a learned phrase as an example of another intent
        (
            "examples:\n  dechets: [quels sont les horaires de la mairie, le truc des poubelles]\n",
            "examples.dechets: l'exemple « quels sont les horaires de la mairie » est aussi sous "
            "« horaires » : il est ignoré",
            "quels sont les horaires de la mairie",
        ),
    ],
)
def test_a_stale_learned_entry_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, body: str, warning: str, skipped: str
) -> None:
    root = with_learned(tmp_path, body)
    with caplog.at_level(logging.WARNING, logger="voicebot.content.loader"):
        content = load_content(root)  # the service starts
    learned = root / "mairie" / "learned.yaml"
    assert content.warnings and all(w.startswith(f"{learned}: ") for w in content.warnings)
    assert any(warning in w for w in content.warnings), content.warnings
    assert any(warning in r.getMessage() for r in caplog.records)
    line = content.line("mairie")
    assert line.intents["dechets"].examples[-1] == "le truc des poubelles"  # the rest loads
    assert skipped not in line.intents["dechets"].examples
    shipped = load_content(PROJECT_ROOT / "prompts")
    assert shipped.warnings == ()
