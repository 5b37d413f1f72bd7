"""`voicebot chat`: the phone dialog in a terminal, with live bike data from a local GBFS feed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dialog.test_policy import SMS_CLAIM
from tests.gbfs_server import gbfs_feed
from voicebot.config import PROJECT_ROOT

OPEN = "2026-11-26T10:00"  # a Thursday morning: agents answer


def chat(
    lines: list[str], prompts: Path | None = None, line: str = "mairie", at: str = OPEN
) -> str:
    env_prompts = {"VOICEBOT_PROMPTS_DIR": str(prompts)} if prompts else {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")} | env_prompts
    result = subprocess.run(
        [sys.executable, "-m", "voicebot", "chat", "--line", line, "--at", at],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def prompts_with_feed(tmp_path: Path, url: str) -> Path:
    root = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", root)
    service = root / "service.yaml"
    text = re.sub(r"(?m)^gbfs_url:.*$", f'gbfs_url: "{url}"', service.read_text("utf-8"))
    service.write_text(text, encoding="utf-8")
    return root


def test_chat_answers_and_ends_resolved() -> None:
    out = chat(["les horaires de la médiathèque", "non merci au revoir"])
    assert out.count("robot") >= 3
    assert "[fin de l'appel : resolved]" in out


def test_chat_keypad_zero_hands_over() -> None:
    out = chat(["0"])
    assert "[transfert vers un conseiller — motif : keypad_0" in out


def test_chat_live_bikes(tmp_path: Path) -> None:
    with gbfs_feed() as feed:
        prompts = prompts_with_feed(tmp_path, feed.url)
        out = chat(["combien de vélos à la station gare centrale", "non merci"], prompts)
    answer = next(line for line in out.splitlines() if "Gare Centrale" in line)
    assert " 0 " in answer and "20" in answer  # 0 bikes, 20 free docks


def test_chat_live_feed_down(tmp_path: Path) -> None:
    with gbfs_feed() as feed:
        feed.down = True
        prompts = prompts_with_feed(tmp_path, feed.url)
        out = chat(["il y a des vélos à la station médiathèque", "non"], prompts)
    assert "disponibilité des vélos" in out and "[fin de l'appel : resolved]" in out


def test_chat_on_a_holiday_has_no_agent() -> None:
    out = chat(["0", "0"], at="2026-12-25T10:00")  # offered to go on, then asked again
    assert "ne sont pas disponibles" in out and "je peux vous renseigner" in out
    assert "[fin de l'appel : closed]" in out


SMS_CANNOT = "Je ne peux pas envoyer de SMS."


@pytest.mark.parametrize(
    "script",
    [
        ["je voudrais refaire ma carte d'identité je l'ai perdue", "envoyez moi ça par texto",
         "non merci au revoir"],
        ["2", "passeport", "vous pouvez m'envoyer ça par sms", "répétez", "au revoir"],
        ["je voudrais prendre rendez vous mardi à dix heures", "par écrit s'il vous plaît", "0"],
    ],
)  # fmt: skip
def test_chat_never_claims_an_sms_and_says_at_once_it_cannot(script: list[str]) -> None:
    """The shipped content says ``sms_enabled: true``; no SMS sender exists."""
    out = chat(script)
    robot = re.findall(r"robot(?: \(vitesse [\d.]+\))? : (.*)", out)
    assert len(robot) == len(script) + 1  # the greeting, then one reply a turn
    assert "[SMS" not in out
    assert not any(SMS_CLAIM.search(text) for text in robot), robot
    # The reply to the request for an SMS is the one that says it cannot.
    asked = next(i for i, turn in enumerate(script) if re.search("sms|texto|écrit", turn))
    assert robot[asked + 1].startswith(SMS_CANNOT), robot[asked + 1]
    if "rendez vous" in script[0]:
        assert "Pour quel jour" not in out and "À quelle heure" not in out
