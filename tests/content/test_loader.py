"""The shipped content is valid, and broken content is refused with the file and the entry."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.cli import run_cli
from voicebot.config import PROJECT_ROOT
from voicebot.content import load_content
from voicebot.errors import ContentError

PROMPTS = PROJECT_ROOT / "prompts"
Edit = Callable[[dict], None]  # type: ignore[type-arg]


def test_shipped_content_covers_the_service() -> None:
    content = load_content(PROMPTS)
    assert set(content.lines) == {"mairie", "rh"}
    mairie = content.line("mairie")
    assert {
        "horaires",
        "titre_identite",
        "rendez_vous",
        "etat_civil",
        "suivi_dossier",
        "elections",
        "dechets",
        "signalement",
        "ecole",
        "aides_sociales",
        "urbanisme",
        "stationnement",
        "velo_disponibilite",
        "sms",
        "conseiller",
        "repeter",
        "oui",
        "non",
        "au_revoir",
    } <= set(mairie.intents)
    assert {"rh_conges", "rh_paie", "rh_formation"} <= set(content.line("rh").intents)
    for line in content.lines.values():
        for intent in line.intents.values():
            assert len(intent.examples) >= 15, intent.id
    assert mairie.slots["document"].values and mairie.slots["numero_dossier"].kind == "dossier"


def broken_copy(tmp_path: Path, file: str, edit: Edit) -> Path:
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS, root)
    path = root / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


def assert_refused(tmp_path: Path, file: str, edit: Edit, *wanted: str) -> None:
    """Content whose ``file`` is edited is refused, with a problem that says all of ``wanted``."""
    root = broken_copy(tmp_path, file, edit)
    with pytest.raises(ContentError) as caught:
        load_content(root)
    problems: list[str] = caught.value.problems  # type: ignore[attr-defined]
    assert any(all(text in p for text in wanted) for p in problems), problems


def _unknown_slot(data: dict) -> None:  # type: ignore[type-arg]
    data["intents"]["titre_identite"]["slots"].append("pointure")


def _no_default_answer(data: dict) -> None:  # type: ignore[type-arg]
    data["intents"]["dechets"]["answers"] = [
        a for a in data["intents"]["dechets"]["answers"] if a.get("when")
    ]


def _not_canonical(data: dict) -> None:  # type: ignore[type-arg]
    data["intents"]["titre_identite"]["answers"][0]["when"] = {"document": "permis"}


def _same_example_twice(data: dict) -> None:  # type: ignore[type-arg]
    data["intents"]["dechets"]["examples"].append(data["intents"]["horaires"]["examples"][0])


def _unknown_fact(data: dict) -> None:  # type: ignore[type-arg]
    data["intents"]["horaires"]["answers"][-1]["text"] += " {numero_du_maire}"


def _missing_control(data: dict) -> None:  # type: ignore[type-arg]
    del data["intents"]["conseiller"]


def _example_without_its_need(data: dict) -> None:  # type: ignore[type-arg]
    data["intents"]["au_revoir"]["examples"].append("je m'en vais")


@pytest.mark.parametrize(
    ("edit", "entry", "problem"),
    [
        (_unknown_slot, "intents.titre_identite.slots", "« pointure » absent de slots.yaml"),
        (_no_default_answer, "intents.dechets", "réponse par défaut manquante"),
        (_not_canonical, "intents.titre_identite.answers[1]", "valeur « permis » non canonique"),
        (_same_example_twice, "intents.dechets", "est aussi sous « horaires »"),
        (_unknown_fact, "intents.horaires.answers", "fait inconnu {numero_du_maire}"),
        (_missing_control, "intents", "intention de contrôle « conseiller » manquante"),
        (_example_without_its_need, "intents.au_revoir.examples", "aucun des mots de needs"),
    ],
)
def test_broken_content_names_file_and_entry(
    tmp_path: Path, edit: Edit, entry: str, problem: str
) -> None:
    file = "mairie/intents.yaml"
    assert_refused(tmp_path, file, edit, str(tmp_path / "prompts" / file), entry, problem)


def _holidays_not_a_boolean(data: dict) -> None:  # type: ignore[type-arg]
    data["closed_on_public_holidays"] = "oui"


def _hours_past_midnight(data: dict) -> None:  # type: ignore[type-arg]
    data["hours"]["lundi"] = ["08:30-24:30"]


@pytest.mark.parametrize(
    ("edit", "entry", "problem"),
    [
        (_holidays_not_a_boolean, "closed_on_public_holidays", "attendu true ou false"),
        (_hours_past_midnight, "hours.lundi", "heure impossible"),
    ],
)
def test_broken_service_names_the_entry(
    tmp_path: Path, edit: Edit, entry: str, problem: str
) -> None:
    assert_refused(tmp_path, "service.yaml", edit, entry, problem)


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS, root)
    (root / "rh" / "slots.yaml").write_text("slots:\n  type: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"rh/slots.yaml: ligne \d+: YAML invalide"):
        load_content(root)


def test_prompts_check_command(tmp_path: Path) -> None:
    ok = run_cli("prompts", "check")
    assert ok.returncode == 0 and "[ok ] ligne mairie" in ok.stdout
    root = broken_copy(tmp_path, "mairie/intents.yaml", _unknown_slot)
    bad = run_cli("prompts", "check", env={"VOICEBOT_PROMPTS_DIR": str(root)})
    assert bad.returncode == 1
    assert "intents.titre_identite.slots" in bad.stdout and "pointure" in bad.stdout


def test_missing_content_folder(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="VOICEBOT_PROMPTS_DIR"):
        load_content(tmp_path / "nowhere")
