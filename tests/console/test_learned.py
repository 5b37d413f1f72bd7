"""Phrases turned into examples: appended to learned.yaml, never in a way that breaks a start."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import yaml

from voicebot.config import PROJECT_ROOT
from voicebot.console.learned import add_example, learned_phrases
from voicebot.content import Content, load_content
from voicebot.errors import ContentError


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    root = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", root)
    return root


def learned(prompts: Path, line: str) -> object:
    return yaml.safe_load((prompts / line / "learned.yaml").read_text(encoding="utf-8"))


def test_examples_are_appended_normalised_and_once(prompts: Path) -> None:
    content = load_content(prompts)
    assert add_example(prompts, content, "mairie", "dechets", "  Euh   le TRUC des poubelles ")
    assert not add_example(prompts, content, "mairie", "dechets", "euh le truc des poubelles")
    assert add_example(prompts, content, "mairie", "dechets", "les bacs jaunes")
    assert add_example(prompts, content, "rh", "rh_paie", "mon bulletin est faux")
    assert learned(prompts, "mairie") == {
        "examples": {"dechets": ["euh le truc des poubelles", "les bacs jaunes"]}
    }
    text = (prompts / "mairie" / "learned.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Exemples ajoutés depuis la console")
    assert learned_phrases(prompts, content) == {
        "euh le truc des poubelles": ("mairie", "dechets"),
        "les bacs jaunes": ("mairie", "dechets"),
        "mon bulletin est faux": ("rh", "rh_paie"),
    }
    reloaded = load_content(prompts)
    assert "les bacs jaunes" in reloaded.line("mairie").intents["dechets"].examples
    assert "mon bulletin est faux" in reloaded.line("rh").intents["rh_paie"].examples


def _first_example(content: Content, intent: str) -> str:
    return content.line("mairie").intents[intent].examples[0]


@pytest.mark.parametrize(
    ("line", "intent", "phrase", "problem"),
    [
        ("mairie", "dechets", "   ", "la phrase est vide"),
        ("mairie", "dechets", "mot " * 100, "dépasse 300 caractères"),
        ("guichet", "dechets", "bonjour", "ligne inconnue"),
        ("mairie", "paie", "bonjour", "intention inconnue"),
        ("mairie", "dechets", "<horaires>", "déjà un exemple"),
    ],
)
def test_impossible_additions_are_refused_in_french(
    prompts: Path, line: str, intent: str, phrase: str, problem: str
) -> None:
    content = load_content(prompts)
    if phrase == "<horaires>":
        phrase = _first_example(content, "horaires").upper()
    with pytest.raises(ContentError, match=problem):
        add_example(prompts, content, line, intent, phrase)
    assert not (prompts / "mairie" / "learned.yaml").exists()


def test_a_phrase_learned_for_one_intent_is_refused_for_another(prompts: Path) -> None:
    content = load_content(prompts)
    add_example(prompts, content, "mairie", "dechets", "le truc des poubelles")
    with pytest.raises(ContentError, match="déjà été ajoutée à « dechets »"):
        add_example(prompts, content, "mairie", "horaires", "le truc des poubelles")
    load_content(prompts)  # still starts


def test_concurrent_additions_lose_nothing(prompts: Path) -> None:
    content = load_content(prompts)
    phrases = [f"phrase apprise numéro {index}" for index in range(20)]
    threads = [
        threading.Thread(target=add_example, args=(prompts, content, "mairie", "dechets", p))
        for p in phrases
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    saved = learned(prompts, "mairie")
    assert isinstance(saved, dict)
    assert sorted(saved["examples"]["dechets"]) == sorted(phrases)
