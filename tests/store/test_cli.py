"""`voicebot purge | export | erase | users | db`, run as a person would, on both databases."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.store.conftest import ended_call
from voicebot import cli
from voicebot.store import Store


@pytest.fixture
def env(store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("VOICEBOT_DATABASE_URL", store_url)
    monkeypatch.delenv("VOICEBOT_NEW_PASSWORD", raising=False)
    return store


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_db_upgrade(env: Store, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and "révision 0001" in out
    [entry] = env.audit_log()
    assert (entry.username, entry.action, entry.detail) == (
        "cli",
        "db_upgrade",
        {"revision": "0001"},
    )


def test_users_add_and_list(
    env: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, "users", "add", "alice", "--role", "admin")
    assert code == 2 and "VOICEBOT_NEW_PASSWORD" in err  # no terminal to type it in

    monkeypatch.setenv("VOICEBOT_NEW_PASSWORD", "trop court")
    code, _, err = run(capsys, "users", "add", "alice", "--role", "admin")
    assert code == 10
    assert err.startswith("erreur : Mot de passe trop court : 10 caractères")

    monkeypatch.setenv("VOICEBOT_NEW_PASSWORD", "cheval agrafe pile correcte")
    code, out, _ = run(capsys, "users", "add", "Alice", "--role", "admin", "--name", "Alice Martin")
    assert code == 0 and out == "Compte créé : alice (Alice Martin), administrateur.\n"
    assert env.authenticate("alice", "cheval agrafe pile correcte") is not None

    with pytest.raises(SystemExit) as refused:
        cli.main(["users", "add", "bob", "--role", "chef"])
    assert refused.value.code == 2 and "invalid choice" in capsys.readouterr().err

    code, out, _ = run(capsys, "users", "list")
    assert code == 0 and "alice" in out and "administrateur" in out and "actif" in out
    actions = [(e.username, e.action, e.target) for e in env.audit_log()]
    assert actions == [("cli", "users_listed", ""), ("cli", "user_created", "alice")]


def test_purge_prints_its_report(env: Store, capsys: pytest.CaptureFixture[str]) -> None:
    ended_call(env, "old", outcome="resolved")
    code, out, _ = run(capsys, "purge", "--now", "2026-09-02T12:00:00+02:00")  # T0 + 184 days
    assert code == 0
    assert "1 appel(s) anonymisé(s)" in out and "0 appel(s) supprimé(s)" in out
    [entry] = env.audit_log()
    assert entry.action == "purge" and entry.detail["content_cleared"] == 1
    code, _, err = run(capsys, "purge", "--now", "demain")
    assert code == 2 and "date illisible" in err


def test_export_and_erase(env: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ended_call(env, "mine", caller="+33612345678", phrases=("bonjour",), outcome="resolved")
    ended_call(env, "theirs", caller="0698765432", outcome="resolved")

    code, out, _ = run(capsys, "export", "--caller", "0612345678")
    assert code == 0 and [c["call_id"] for c in json.loads(out)["calls"]] == ["mine"]
    target = tmp_path / "export.json"
    code, out, _ = run(capsys, "export", "--caller", "0612345678", "--output", str(target))
    assert code == 0 and "1 appel(s) exporté(s)" in out
    assert json.loads(target.read_text(encoding="utf-8"))["calls"][0]["turns"][1]["text"] == (
        "bonjour"
    )
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    code, _, err = run(capsys, "erase", "--caller", "0612345678")
    assert code == 2 and "--yes" in err
    assert env.call_detail("mine") is not None
    code, out, _ = run(capsys, "erase", "--caller", "0612345678", "--yes")
    assert code == 0 and out.startswith("1 appel(s) du +33612345678 effacé(s)")
    assert env.call_detail("mine") is None and env.call_detail("theirs") is not None

    entries = [(e.action, e.target) for e in env.audit_log()]
    assert entries == [
        ("caller_erased", "*********78"),
        ("caller_exported", "*********78"),
        ("caller_exported", "*********78"),
    ]
    assert all("612345678" not in json.dumps(e.detail) for e in env.audit_log())


REUNION = [
    "0692 12 34 56",
    "0692123456",
    "+262692123456",
    "+262 692 12 34 56",
    "00262 692 12 34 56",
]


@pytest.mark.parametrize("written", REUNION)
def test_an_overseas_caller_is_exported_and_erased_however_written(
    env: Store, capsys: pytest.CaptureFixture[str], written: str
) -> None:
    ended_call(env, "reunion", caller="+262692123456", outcome="resolved")
    ended_call(env, "stored-before", caller="0692123456", outcome="resolved")  # not yet E.164
    ended_call(env, "paris", caller="+33612345678", outcome="resolved")
    ended_call(env, "guadeloupe", caller="+590690001234", outcome="resolved")
    ended_call(env, "masque", caller=None, outcome="resolved")

    code, out, _ = run(capsys, "export", "--caller", written)
    data = json.loads(out)
    assert code == 0 and data["caller"] == "+262692123456"
    assert sorted(c["call_id"] for c in data["calls"]) == ["reunion", "stored-before"]

    code, out, _ = run(capsys, "erase", "--caller", written, "--yes")
    assert code == 0 and out.startswith("2 appel(s) du +262692123456 effacé(s)")
    assert env.call_detail("reunion") is None and env.call_detail("stored-before") is None
    for kept in ("paris", "guadeloupe", "masque"):
        assert env.call_detail(kept) is not None
    assert [e.target for e in env.audit_log()] == ["**********56", "**********56"]


@pytest.mark.parametrize("written", ["anonymous", "0612", "06 12 34 56 7a", ""])
def test_a_number_that_is_none_is_refused_before_anything(
    env: Store, capsys: pytest.CaptureFixture[str], written: str
) -> None:
    ended_call(env, "paris", caller="+33612345678", outcome="resolved")
    for command in (["export", "--caller", written], ["erase", "--caller", written, "--yes"]):
        code, _, err = run(capsys, *command)
        assert code == 2 and "numéro d'appelant illisible" in err
    assert env.call_detail("paris") is not None and env.audit_log() == []


def test_the_cli_knows_the_stores_roles() -> None:
    from voicebot.store import ROLES

    assert cli.ROLES == ROLES
