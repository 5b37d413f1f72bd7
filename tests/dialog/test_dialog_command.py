"""`voicebot dialog --jsonl`: the phone's dialog on scripted calls, run as a user runs it.

Every test runs the real command in a subprocess, with the shipped content and a
local GBFS feed in the real format (the public feed is out of reach here).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import assert_clean_error, run_cli
from tests.dialog.test_chat import SMS_CANNOT, chat, prompts_with_feed
from tests.dialog.test_policy import SMS_CLAIM
from tests.gbfs_server import gbfs_feed
from voicebot.config import PROJECT_ROOT

HERE = Path(__file__).parent
OPEN = "2026-12-07T10:15:00+01:00"  # a Monday morning: agents answer (prompts/service.yaml)
NIGHT = "2026-12-07T22:30:00+01:00"
SUNDAY = "2026-12-06T10:15:00+01:00"
CONTRACT_KEYS = {
    "bot", "outcome", "handover_reason", "intents", "slots", "sms", "appointment",
}  # fmt: skip


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The shipped content, its bike feed served locally."""
    with gbfs_feed() as feed:
        prompts = prompts_with_feed(tmp_path_factory.mktemp("content"), feed.url)
        yield {"VOICEBOT_PROMPTS_DIR": str(prompts)}


def run_dialog(lines: list[str], env: dict[str, str], tmp: Path) -> list[dict[str, Any]]:
    """Each line (a JSON text, well formed or not) as one line of the input file."""
    script = tmp / "calls.jsonl"
    script.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    result = run_cli("dialog", "--jsonl", str(script), env=env, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def call(turns: list[str], at: str = OPEN, **fields: str) -> str:
    return json.dumps({"at": at, **fields, "turns": turns}, ensure_ascii=False)


# ---------------------------------------------------------------- scripted calls
# name, the call, then outcome, hand-over reason, intents, slots (exactly) expected.
SCRIPTED: list[tuple[str, str, str | None, str | None, list[str], dict[str, str]]] = [
    ("key 0 in agents' hours", call(["#0"]), "handed_over", "keypad_0", [], {}),
    ("key 0 on a weeknight", call(["#0", "#0"], NIGHT), "closed", None, [], {}),
    ("key 0 on Sunday", call(["#0", "non merci"], SUNDAY), "closed", None, [], {}),
    ("a question answered, then goodbye",
     call(["euh les horaires de la piscine", "non merci au revoir"]),
     "resolved", None, ["horaires"], {"service": "piscine"}),
    ("three misunderstandings",
     call(["quel temps fera-t-il demain", "je voudrais commander une pizza",
           "euh les résultats du foot"]),
     "handed_over", "not_understood", [], {}),
    ("three silences", call(["", "", ""]), "handed_over", "no_input", [], {}),
    ("still going after the last turn",
     call(["bonjour euh"]), None, None, [], {}),
    ("turns after the end are ignored",
     call(["#0", "les horaires de la mairie", "au revoir"]), "handed_over", "keypad_0", [], {}),
    ("the same intent twice counts once",
     call(["les horaires de la mairie", "oui", "les horaires de la piscine", "non merci"]),
     "resolved", None, ["horaires"], {"service": "piscine"}),
    ("two intents, in order",
     call(["les horaires de la mairie", "oui", "et pour un passeport", "non merci"]),
     "resolved", None, ["horaires", "titre_identite"],
     {"service": "mairie", "document": "passeport"}),
    ("canonical slots",
     call(["j'ai perdu ma carte d'identité", "non merci"]),
     "resolved", None, ["titre_identite"], {"document": "cni", "situation": "perte"}),
    ("a caller in national form",
     call(["#0"], caller="06 12 34 56 78"), "handed_over", "keypad_0", [], {}),
    ("a withheld caller",
     call(["#0"], caller="anonymous"), "handed_over", "keypad_0", [], {}),
    ("the rh line",
     call(["il me reste combien de rtt", "au revoir"], line="rh"),
     "resolved", None, ["rh_conges"], {"type": "rtt"}),
    ("live bikes", call(["il reste des vélos à la gare centrale", "non merci"]),
     "resolved", None, ["velo_disponibilite"], {"station": "Gare Centrale"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def scripted(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """All the scripted calls in one run of the command: one output line each, in order."""
    out = run_dialog([c[1] for c in SCRIPTED], env, tmp_path_factory.mktemp("scripted"))
    assert len(out) == len(SCRIPTED)
    return out


@pytest.mark.parametrize(
    ("index", "outcome", "reason", "intents", "slots"),
    [pytest.param(i, *c[2:], id=c[0]) for i, c in enumerate(SCRIPTED)],
)
def test_scripted_call(
    scripted: list[dict[str, Any]],
    index: int,
    outcome: str | None,
    reason: str | None,
    intents: list[str],
    slots: dict[str, str],
) -> None:
    result = scripted[index]
    assert set(result) == CONTRACT_KEYS
    assert (result["outcome"], result["handover_reason"]) == (outcome, reason), result["bot"]
    assert result["intents"] == intents
    assert result["slots"] == slots
    assert result["sms"] == [] and result["appointment"] is None
    assert result["bot"] and all(isinstance(text, str) and text for text in result["bot"])
    assert result["bot"][0].startswith("Bonjour")


def test_closed_hours_say_so(scripted: list[dict[str, Any]]) -> None:
    night = scripted[1]["bot"]
    assert "ne sont pas disponibles" in night[0]  # the greeting says it at once
    assert "Aucun agent n'est disponible" in night[-1]


def test_turns_after_the_end_change_nothing(scripted: list[dict[str, Any]]) -> None:
    assert scripted[7] == scripted[0]


def test_callers_do_not_change_the_dialog(scripted: list[dict[str, Any]]) -> None:
    assert scripted[11] == scripted[0] and scripted[12] == scripted[0]


def test_the_live_figures_are_said(scripted: list[dict[str, Any]]) -> None:
    answer = scripted[14]["bot"][1]
    assert "Gare Centrale" in answer and " 0 " in answer and "20" in answer


# ---------------------------------------------------------------- malformed lines
MALFORMED = [
    (call(["#0"]), None),
    ("{not json", "JSON invalide"),
    (call(["#x"]), "'#x' n'est pas une touche"),
    (call(["#12"]), "n'est pas une touche"),
    (call(["#0"], line="accueil"), "ligne téléphonique inconnue 'accueil'"),
    (call(["#0"], at="lundi matin"), "n'est pas une date et heure"),
    ('{"at": 1700000000, "turns": []}', "« at » n'est pas un texte"),
    ('{"turns": "bonjour"}', "« turns »"),
    ('{"caller": 612345678, "turns": []}', "« caller »"),
    ('["bonjour"]', "un objet JSON est attendu"),
    (call(["au revoir"]), None),
]


def test_malformed_lines_each_give_one_error_and_the_rest_goes_on(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = run_dialog([line for line, _ in MALFORMED], env, tmp_path)
    assert len(out) == len(MALFORMED)
    for number, ((_, problem), result) in enumerate(zip(MALFORMED, out, strict=True), start=1):
        if problem is None:
            assert set(result) == CONTRACT_KEYS, result
        else:
            assert list(result) == ["error"], result
            assert result["error"].startswith(f"ligne {number} : "), result
            assert problem in result["error"], result
    assert out[0]["outcome"] == "handed_over" and out[-1]["outcome"] == "resolved"


def test_blank_lines_are_no_calls_and_line_numbers_count_them(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = run_dialog([call(["#0"]), "", "   ", "oops"], env, tmp_path)
    assert len(out) == 2
    assert out[1] == {"error": "ligne 4 : JSON invalide (Expecting value)"}


def test_defaults_line_mairie_and_now(env: dict[str, str], tmp_path: Path) -> None:
    (result,) = run_dialog(['{"turns": ["les horaires de la médiathèque"]}'], env, tmp_path)
    assert result["intents"] == ["horaires"] and result["outcome"] is None
    assert "Saint-Exemple" in result["bot"][0]


def test_stdin(env: dict[str, str]) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")} | env
    result = subprocess.run(
        [sys.executable, "-m", "voicebot", "dialog", "--jsonl", "-"],
        input=f"{call(['#0'])}\n{call(['#0', '#0'], NIGHT)}\n",
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["outcome"] for o in out] == ["handed_over", "closed"]


def test_a_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    assert_clean_error(
        run_cli("dialog", "--jsonl", str(tmp_path / "absent.jsonl")), "impossible de lire"
    )


# ---------------------------------------------------------------- SMS
SMS_SCRIPTS = [
    ["je voudrais refaire ma carte d'identité je l'ai perdue", "envoyez moi ça par texto",
     "non merci au revoir"],
    ["#2", "passeport", "vous pouvez m'envoyer ça par sms", "répétez", "au revoir"],
    ["les jours de collecte des poubelles", "par sms s'il vous plaît", "#0"],
]  # fmt: skip


def test_no_sms_is_sent_nor_claimed(env: dict[str, str], tmp_path: Path) -> None:
    out = run_dialog([call(s, caller="+33612345678") for s in SMS_SCRIPTS], env, tmp_path)
    for script, result in zip(SMS_SCRIPTS, out, strict=True):
        assert result["sms"] == []
        assert not any(SMS_CLAIM.search(text) for text in result["bot"]), result["bot"]
        asked = next(i for i, turn in enumerate(script) if re.search("sms|texto", turn))
        assert result["bot"][asked + 1].startswith(SMS_CANNOT), result["bot"]


# ---------------------------------------------------------------- one runner
CHAT_SCRIPTS = [
    ["les horaires de la piscine", "", "répétez", "plus lentement", "#*", "#0"],
    ["", "", "#2", "passeport", "non merci"],
    ["il y a des vélos à la station médiathèque", "oui", "quel temps fait il", "au revoir"],
]


@pytest.mark.parametrize("script", CHAT_SCRIPTS)
def test_chat_and_dialog_say_the_same(
    script: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    at = "2026-12-07T10:15"
    (result,) = run_dialog([call(script, at)], env, tmp_path)
    keyboard = [turn.removeprefix("#") for turn in script]  # the chat's key: the key alone
    out = chat(keyboard, Path(env["VOICEBOT_PROMPTS_DIR"]), at=at)
    robot = re.findall(r"robot(?: \(vitesse [\d.]+\))? : (.*)", out)
    assert robot == result["bot"]
    assert len(robot) >= len(script)


# ---------------------------------------------------------------- the conversation set
CALLS = HERE / "calls.jsonl"
SET = [json.loads(line) for line in CALLS.read_text("utf-8").splitlines() if line.strip()]
KNOWN_FAILURES: dict[str, str] = {}


@pytest.fixture(scope="module")
def conversation_set(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    out = run_dialog(
        [line for line in CALLS.read_text("utf-8").splitlines() if line.strip()],
        env,
        tmp_path_factory.mktemp("set"),
    )
    assert len(out) == len(SET)
    return out


def test_the_set_is_large_and_every_call_runs(conversation_set: list[dict[str, Any]]) -> None:
    assert len(SET) >= 20
    assert len({c["id"] for c in SET}) == len(SET)
    assert all(set(result) == CONTRACT_KEYS for result in conversation_set)
    assert set(KNOWN_FAILURES) <= {c["id"] for c in SET}


@pytest.mark.parametrize(
    "index",
    [
        pytest.param(
            i,
            id=c["id"],
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[c["id"]])]
            if c["id"] in KNOWN_FAILURES
            else [],
        )
        for i, c in enumerate(SET)
    ],
)
def test_conversation(conversation_set: list[dict[str, Any]], index: int) -> None:
    """Outcome, reason and intents exactly; the expected slots (others may be known too)."""
    expect = SET[index]["expect"]
    result = conversation_set[index]
    assert result["outcome"] == expect["outcome"], result["bot"]
    assert result["handover_reason"] == expect["handover_reason"], result["bot"]
    assert result["intents"] == expect["intents"]
    assert {k: result["slots"].get(k) for k in expect["slots"]} == expect["slots"]
    assert result["sms"] == [] and result["appointment"] is None
    assert not any(SMS_CLAIM.search(text) for text in result["bot"])
    said = " ".join(result["bot"])
    for fact in expect.get("says", []):
        assert fact in said, (fact, result["bot"])
    # For the ear: the greeting (with the closed-hours notice) and every later utterance.
    lengths = [len(re.findall(r"[\w'-]+", text)) for text in result["bot"]]
    assert lengths[0] <= 70 and all(n <= 60 for n in lengths[1:]), lengths
