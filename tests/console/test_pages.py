"""The console's pages over HTTP, against a real store: what each role reads and does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import yaml
from starlette.testclient import TestClient

from tests.console.harness import (
    PASSWORD,
    Console,
    csrf_as,
    csrf_of,
    handed_over_call,
    log_in,
    page_as,
    resolved_call,
)
from voicebot.calls.record import CallRecord, Turn
from voicebot.content import load_content


def test_the_queue_gives_the_agent_everything_the_bot_learned(
    console: Console, client: TestClient
) -> None:
    handed_over_call(console.store)
    page = page_as(client, "agent", "/console/queue")
    assert "En attente : 1" in page
    assert "0199001020" in page
    assert "L&#39;appelant a demandé un conseiller" in page
    assert "une carte d&#39;identité ou un passeport" in page  # the intent, by its label
    assert "Document" in page and "passeport" in page and "renouvellement" in page
    assert "Prendre l'appel" in page
    assert 'data-waited-s="' in page  # ticks in the browser


def test_claim_then_mark_handled(console: Console, client: TestClient) -> None:
    handed_over_call(console.store)
    handover = console.store.queue()[0]
    csrf = csrf_as(client, "agent")
    claimed = client.post(f"/console/handovers/{handover.id}/claim", data={"csrf_token": csrf})
    assert claimed.status_code == 200 and claimed.url.path == f"/console/handovers/{handover.id}"
    page = claimed.text
    assert "Vous avez pris l&#39;appel" in page
    assert "je voudrais refaire mon passeport" in page  # the transcript
    assert "confiance 93 %" in page
    assert "Pris en charge" in page and "Marquer traité" in page

    with TestClient(console.app) as other:
        log_in(other, "chef")
        other_csrf = csrf_of(other.get("/console/queue").text)
        late = other.post(
            f"/console/handovers/{handover.id}/claim", data={"csrf_token": other_csrf}
        )
        assert late.status_code == 409 and "déjà pris en charge par agent" in late.text

    empty = client.post(
        f"/console/handovers/{handover.id}/handled", data={"csrf_token": csrf, "resolution": " "}
    )
    assert empty.status_code == 400 and "Décrivez la résolution" in empty.text
    done = client.post(
        f"/console/handovers/{handover.id}/handled",
        data={"csrf_token": csrf, "resolution": "Rendez-vous pris le 3 décembre"},
    )
    assert done.url.path == "/console/queue" and "L&#39;appel est marqué traité." in done.text
    view = console.store.handover(handover.id)
    assert view is not None and view.status == "handled"
    assert view.resolution == "Rendez-vous pris le 3 décembre"
    actions = [(e.action, e.username) for e in console.store.audit_log()]
    assert ("claim", "agent") in actions and ("handled", "agent") in actions


def test_an_agent_cannot_close_a_call_taken_by_someone_else(
    console: Console, client: TestClient
) -> None:
    handed_over_call(console.store)
    handover = console.store.queue()[0]
    console.store.claim(handover.id, console.supervisor)
    csrf = csrf_as(client, "agent")
    page = client.get(f"/console/handovers/{handover.id}")
    assert page.status_code == 403 and "pris en charge par un autre agent" in page.text
    assert "Marquer traité" not in page.text and "0199001020" not in page.text
    refused = client.post(
        f"/console/handovers/{handover.id}/handled", data={"csrf_token": csrf, "resolution": "x"}
    )
    assert refused.status_code == 403
    assert console.store.handover(handover.id).status == "claimed"  # type: ignore[union-attr]


def test_live_calls_show_the_last_turns(console: Console, client: TestClient) -> None:
    record = CallRecord("en-cours", "rh", caller="0199001040")
    console.store.call_started(record, "instance-b")
    for text in ("bonjour", "c'est pour ma fiche de paie", "le mois dernier", "merci", "voilà"):
        console.store.turn_added("en-cours", Turn("caller", text))
    page = page_as(client, "agent", "/console/live")
    assert "1</strong> appel en cours" in page
    assert "Ressources humaines, ligne du personnel" in page and "0199001040" in page
    assert "voilà" in page and "le mois dernier" in page and "bonjour" not in page  # last 4
    assert client.get("/console/fragments/live").text.count("<article") == 1


def test_call_detail_shows_turns_intents_confidences_latencies(
    console: Console, client: TestClient
) -> None:
    handed_over_call(console.store)
    page = page_as(client, "chef", "/console/calls/appel-1")
    assert "Transféré à un agent" in page
    assert "93 %" in page and "480 ms" in page
    assert "<td>Document : passeport ; Situation : renouvellement</td>" in page
    assert '<th scope="col">Latence</th>' in page
    assert client.get("/console/calls/inconnu").status_code == 404


def test_history_filters_and_pages(console: Console, client: TestClient) -> None:
    now = datetime.now(UTC)
    for index in range(30):
        resolved_call(
            console.store,
            f"horaires-{index:02d}",
            "quels sont les horaires",
            caller=f"01990011{index:02d}",
            started_at=now - timedelta(hours=1, minutes=index),
        )
    handed_over_call(console.store, "transfert", started_at=now - timedelta(days=3))
    resolved_call(console.store, "rh-1", "ma fiche de paie", line="rh", intent=None)
    first = page_as(client, "chef", "/console/history")
    assert "Résultats : 32 appels" in first and "page 1 sur 2" in first
    assert first.count('>Voir<span class="visually-hidden">') == 25
    assert 'href="/console/history?page=2"' in first
    second = client.get("/console/history", params={"page": "2"}).text
    assert second.count('>Voir<span class="visually-hidden">') == 7
    by_reason = client.get("/console/history", params={"reason": "caller_request"}).text
    assert "Résultats : 1 appel" in by_reason and "transfert" in by_reason
    by_line = client.get("/console/history", params={"line": "rh"}).text
    assert "Résultats : 1 appel" in by_line
    by_text = client.get("/console/history", params={"text": "PASSEPORT"}).text
    assert "Résultats : 1 appel" in by_text
    by_outcome = client.get("/console/history", params={"outcome": "resolved", "page": "2"}).text
    assert "Résultats : 31 appels" in by_outcome
    assert 'href="/console/history?outcome=resolved"' in by_outcome  # filters kept
    # Days are the service's (Paris): late in the UTC evening, it is already the next one.
    zone = ZoneInfo(console.content.service.timezone)
    day = (now - timedelta(days=3)).astimezone(zone).date().isoformat()
    by_dates = client.get("/console/history", params={"since": day, "until": day}).text
    assert "Résultats : 1 appel" in by_dates
    bad = client.get("/console/history", params={"since": "hier"})
    assert bad.status_code == 200 and "n&#39;est pas une date valide" in bad.text


def test_analytics_figures_and_accessible_charts(console: Console, client: TestClient) -> None:
    handed_over_call(console.store)
    resolved_call(console.store, "r1", "quels sont les horaires")
    resolved_call(console.store, "r2", "euh le truc des poubelles", intent=None)
    resolved_call(console.store, "r3", "euh le truc des poubelles", intent=None)
    page = page_as(client, "chef", "/console/analytics")
    assert "<dt>Appels</dt><dd>4</dd>" in page
    assert "<dt>Taux d'autonomie du robot</dt><dd>75,0 %</dd>" in page
    assert page.count('role="img"') == 4  # the gauge and three charts
    assert '<title id="motifs-titre">Transferts à un agent par motif</title>' in page
    assert "<caption>Issue des appels (total : 4)</caption>" in page
    assert '<th scope="row">Résolu par le robot</th><td>3</td><td>75,0 %</td>' in page
    assert '<th scope="row">euh le truc des poubelles</th>' in page
    assert "Appels selon l&#39;heure de la journée" in page  # a 7-day period: the day's profile
    today = datetime.now(UTC).date().isoformat()
    one_day = client.get("/console/analytics", params={"since": today, "until": today}).text
    assert '<figcaption id="heures-legende">Appels par heure</figcaption>' in one_day


def test_a_not_understood_phrase_becomes_an_example(console: Console, client: TestClient) -> None:
    resolved_call(console.store, "r1", "euh le truc des poubelles", intent=None)
    page = page_as(client, "chef", "/console/analytics")
    csrf = csrf_of(page)
    assert '<option value="mairie/dechets">' in page
    added = client.post(
        "/console/analytics/examples",
        data={
            "csrf_token": csrf,
            "phrase": "euh le truc des poubelles",
            "target": "mairie/dechets",
        },
    )
    assert added.status_code == 200 and "La phrase est ajoutée comme exemple" in added.text
    assert "Déjà ajoutée" in added.text
    learned = yaml.safe_load((console.prompts_dir / "mairie" / "learned.yaml").read_text())
    assert learned == {"examples": {"dechets": ["euh le truc des poubelles"]}}
    reloaded = load_content(console.prompts_dir).line("mairie").intents["dechets"]
    assert "euh le truc des poubelles" in reloaded.examples
    assert any(e.action == "example_added" for e in console.store.audit_log())

    taken = console.content.line("mairie").intents["horaires"].examples[0]
    conflict = client.post(
        "/console/analytics/examples",
        data={"csrf_token": csrf, "phrase": taken, "target": "mairie/dechets"},
    )
    assert conflict.status_code == 400 and "déjà un exemple" in conflict.text
    unknown = client.post(
        "/console/analytics/examples",
        data={"csrf_token": csrf, "phrase": "bonjour", "target": "mairie/inexistante"},
    )
    assert unknown.status_code == 400 and "intention inconnue" in unknown.text
    load_content(console.prompts_dir)  # the file never breaks the start


def test_admin_manages_accounts_and_changes_end_sessions(
    console: Console, client: TestClient
) -> None:
    csrf = csrf_as(client, "admin", "/console/users")
    with TestClient(console.app) as agent:
        log_in(agent, "agent")
        assert agent.get("/console/queue").status_code == 200
        moved = client.post(
            f"/console/users/{console.agent.id}/role",
            data={"csrf_token": csrf, "role": "supervisor"},
        )
        assert "Le rôle est modifié" in moved.text
        assert agent.get("/console/queue", follow_redirects=False).status_code == 303
        log_in(agent, "agent")
        assert agent.get("/console/history").status_code == 200  # now a supervisor
        off = client.post(
            f"/console/users/{console.agent.id}/active", data={"csrf_token": csrf, "active": "0"}
        )
        assert "Le compte est désactivé" in off.text
        assert agent.get("/console/queue", follow_redirects=False).status_code == 303
        assert log_in(agent, "agent").status_code == 401
        client.post(
            f"/console/users/{console.agent.id}/active", data={"csrf_token": csrf, "active": "1"}
        )
        reset = client.post(
            f"/console/users/{console.agent.id}/password",
            data={"csrf_token": csrf, "password": "un tout nouveau secret"},
        )
        assert "Le mot de passe est réinitialisé" in reset.text
        assert log_in(agent, "agent", PASSWORD).status_code == 401
        assert log_in(agent, "agent", "un tout nouveau secret").status_code == 303
    short = client.post(
        f"/console/users/{console.agent.id}/password",
        data={"csrf_token": csrf, "password": "court"},
    )
    assert short.status_code == 400 and "Mot de passe trop court" in short.text
    self_demotion = client.post(
        f"/console/users/{console.admin.id}/role", data={"csrf_token": csrf, "role": "agent"}
    )
    assert self_demotion.status_code == 400
    created = client.post(
        "/console/users",
        data={
            "csrf_token": csrf,
            "username": "d.martin",
            "display_name": "Denise Martin",
            "role": "agent",
            "password": PASSWORD,
        },
    )
    assert "Le compte est créé." in created.text and "Denise Martin" in created.text
    again = client.post(
        "/console/users",
        data={"csrf_token": csrf, "username": "d.martin", "role": "agent", "password": PASSWORD},
    )
    assert again.status_code == 400 and "existe déjà" in again.text
    actions = {e.action for e in console.store.audit_log()}
    assert {"role_changed", "user_deactivated", "user_activated", "password_reset"} <= actions
    assert "user_created" in actions


def test_export_then_erase_one_caller(console: Console, client: TestClient) -> None:
    handed_over_call(console.store, "a1", caller="0199001020")
    resolved_call(console.store, "a2", "les horaires", caller="+33199001020")
    resolved_call(console.store, "b1", "les horaires", caller="0199009999")
    csrf = csrf_as(client, "admin", "/console/privacy")
    export = client.post(
        "/console/privacy/export", data={"csrf_token": csrf, "number": "01 99 00 10 20"}
    )
    assert export.status_code == 200
    assert export.headers["content-disposition"] == 'attachment; filename="export-0199001020.json"'
    data = json.loads(export.text)
    assert sorted(call["call_id"] for call in data["calls"]) == ["a1", "a2"]
    confirm = client.post(
        "/console/privacy/erase", data={"csrf_token": csrf, "number": "0199001020"}
    )
    assert "Confirmer l'effacement" in confirm.text and "<strong>2</strong> appels" in confirm.text
    assert console.store.call_detail("a1") is not None  # nothing erased before confirming
    erased = client.post(
        "/console/privacy/erase",
        data={"csrf_token": csrf, "number": "0199001020", "confirmed": "oui"},
    )
    assert "sont effacées (2 appel(s))" in erased.text
    assert console.store.call_detail("a1") is None and console.store.call_detail("b1") is not None
    entries = [e for e in console.store.audit_log() if e.action.startswith("caller_")]
    assert {e.action for e in entries} == {"caller_exported", "caller_erased"}
    assert all(e.target == "********20" for e in entries)  # the number is not kept in the log
    bad = client.post("/console/privacy/export", data={"csrf_token": csrf, "number": "abc"})
    assert bad.status_code == 400 and "Saisissez un numéro" in bad.text


def test_audit_log_lists_actions_in_french(console: Console, client: TestClient) -> None:
    log_in(client, "agent", "mauvais mot de passe")
    page = page_as(client, "chef", "/console/audit")
    assert "Échec de connexion" in page and "Connexion</td>" in page
    assert "adresse testclient" in page
