"""The console's defences over HTTP: sessions, CSRF, sign-in limits, roles, injection, headers."""

from __future__ import annotations

import httpx2
import pytest
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
from voicebot.store.logins import ACCOUNT_MAX_FAILURES

HOST = "testserver.local"
"""Where the test client keeps the cookies the console sets."""
ADMIN_PAGES = ["/console/users", "/console/privacy"]
SUPERVISOR_PAGES = ["/console/history", "/console/analytics", "/console/audit"]


def test_pages_need_a_session_and_live_endpoints_answer_401(client: TestClient) -> None:
    page = client.get("/console/queue", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=%2Fconsole%2Fqueue"
    assert client.get("/console/fragments/queue").status_code == 401
    assert client.get("/console/events").status_code == 401
    statement = client.get("/console/accessibilite")
    assert statement.status_code == 200 and "Déclaration d'accessibilité" in statement.text


def test_wrong_credentials_get_one_generic_message(console: Console, client: TestClient) -> None:
    unknown = log_in(client, "personne", PASSWORD)
    wrong = log_in(client, "agent", "pas le bon mot de passe")
    for response in (unknown, wrong):
        assert response.status_code == 401
        assert "Identifiant ou mot de passe incorrect." in response.text
        assert "voicebot_console=" not in response.headers.get("set-cookie", "")
    actions = [(e.action, e.target) for e in console.store.audit_log()]
    assert ("login_failed", "agent") in actions and ("login_failed", "personne") in actions


def attempt(console: Console, address: str, username: str, password: str) -> httpx2.Response:
    """A sign-in from another machine (the console sees the client's address)."""
    with TestClient(console.app, client=(address, 50000)) as other:
        return log_in(other, username, password)


def test_five_failures_lock_the_pair_even_for_the_right_password(
    console: Console, client: TestClient
) -> None:
    for _ in range(4):
        assert log_in(client, "agent", "mauvais mot de passe").status_code == 401
    fifth = log_in(client, "agent", "mauvais mot de passe")
    assert fifth.status_code == 429 and "Identifiant ou mot de passe incorrect." in fifth.text
    limited = log_in(client, "agent", PASSWORD)
    assert limited.status_code == 429
    assert "Trop de tentatives de connexion échouées" in limited.text
    assert "demandez à un administrateur de débloquer" in limited.text
    assert "voicebot_console=" not in limited.headers.get("set-cookie", "")
    # Only that pair: another account from the same office, the same account elsewhere.
    assert log_in(client, "chef", PASSWORD).status_code == 303
    assert attempt(console, "192.0.2.44", "agent", PASSWORD).status_code == 303
    # One audit entry when the lock starts, none for the refused attempts.
    locks = [e for e in console.store.audit_log() if e.action == "login_locked"]
    assert [(e.username, e.target) for e in locks] == [("console", "agent")]
    assert "5 échecs depuis l'adresse testclient" in locks[0].detail["note"]
    audit = client.get("/console/audit").text
    assert "Connexion bloquée (trop d&#39;échecs)" in audit


def test_a_lockout_from_elsewhere_does_not_keep_the_owner_out(
    console: Console, client: TestClient
) -> None:
    for _ in range(5):  # one attacker locks their own pair...
        attempt(console, "203.0.113.66", "chef", "devinette")
    for n in range(ACCOUNT_MAX_FAILURES):  # ...and many spread the account-wide limit
        attempt(console, f"198.51.100.{n}", "chef", "devinette")
    assert attempt(console, "203.0.113.66", "chef", PASSWORD).status_code == 429
    assert attempt(console, "198.51.100.1", "chef", PASSWORD).status_code == 429
    # The supervisor at their own desk, with the right password, signs in.
    assert log_in(client, "chef", PASSWORD).status_code == 303
    assert client.get("/console/history").status_code == 200
    starts = [e.detail["note"] for e in console.store.audit_log() if e.action == "login_locked"]
    assert len(starts) == 2 and any("plusieurs adresses" in note for note in starts)


def test_an_admin_unlocks_from_the_accounts_page(console: Console, client: TestClient) -> None:
    for _ in range(5):
        attempt(console, "203.0.113.9", "agent", "mauvais mot de passe")
    assert attempt(console, "203.0.113.9", "agent", PASSWORD).status_code == 429
    page = page_as(client, "admin", "/console/users")
    assert "Bloquée depuis l&#39;adresse 203.0.113.9 (5 échecs)" in page
    url = f"/console/users/{console.agent.id}/unlock"
    assert client.post(url, data={"csrf_token": "x" * 43}).status_code == 403
    assert console.store.login_lock("agent", "203.0.113.9") is not None
    done = client.post(url, data={"csrf_token": csrf_of(page)})
    assert done.status_code == 200 and "La connexion est débloquée" in done.text
    assert "Bloquée depuis" not in done.text
    assert attempt(console, "203.0.113.9", "agent", PASSWORD).status_code == 303
    [entry] = [e for e in console.store.audit_log() if e.action == "login_unlocked"]
    assert (entry.username, entry.target, entry.detail) == (
        "admin",
        "agent",
        {"note": "5 échec(s) effacé(s)"},
    )


def test_only_an_admin_unlocks(console: Console, client: TestClient) -> None:
    for _ in range(5):
        attempt(console, "203.0.113.9", "agent", "mauvais mot de passe")
    for username in ("agent", "chef"):
        csrf = csrf_as(client, username)
        url = f"/console/users/{console.agent.id}/unlock"
        assert client.post(url, data={"csrf_token": csrf}).status_code == 403
    assert console.store.login_lock("agent", "203.0.113.9") is not None


def test_login_form_needs_its_own_token(client: TestClient) -> None:
    client.get("/console/login")
    forged = client.post(
        "/console/login",
        data={"username": "agent", "password": PASSWORD, "csrf_token": "devine"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and "Formulaire refusé" in forged.text


def test_session_fixation_is_impossible(console: Console, client: TestClient) -> None:
    # A token planted before login (made up, or a live one of the attacker's) is never kept.
    client.cookies.set("voicebot_console", "jeton-fixe-de-l-attaquant", domain=HOST)
    response = log_in(client, "agent")
    assert response.status_code == 303
    issued = client.cookies.get("voicebot_console")
    assert issued and issued != "jeton-fixe-de-l-attaquant"

    with TestClient(console.app) as attacker:
        log_in(attacker, "chef")
        planted = attacker.cookies.get("voicebot_console")
        assert planted is not None
        client.cookies.set("voicebot_console", planted, domain=HOST)
        log_in(client, "agent")
        assert client.cookies.get("voicebot_console") != planted
        assert console.store.session(planted) is None  # the attacker's session is gone
        assert attacker.get("/console/queue", follow_redirects=False).status_code == 303


def test_session_cookie_flags_over_http_and_https(console: Console) -> None:
    with TestClient(console.app) as plain:
        cookie = log_in(plain, "agent").headers["set-cookie"]
        assert cookie.startswith("voicebot_console=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    with TestClient(console.app, base_url="https://console.exemple.fr") as secure:
        cookie = log_in(secure, "agent").headers["set-cookie"]
        assert cookie.startswith("__Host-voicebot_console=")
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
        assert secure.get("/console/queue").status_code == 200


def test_posts_without_the_session_csrf_token_are_refused(
    console: Console, client: TestClient
) -> None:
    handed_over_call(console.store)
    log_in(client, "agent")
    handover = console.store.queue()[0]
    url = f"/console/handovers/{handover.id}/claim"
    assert client.post(url, data={}).status_code == 403
    refused = client.post(url, data={"csrf_token": "x" * 43})
    assert refused.status_code == 403 and "Formulaire refusé" in refused.text
    assert console.store.handover(handover.id).status == "waiting"  # type: ignore[union-attr]
    # Another session's token does not work either.
    with TestClient(console.app) as other:
        log_in(other, "chef")
        foreign = csrf_of(other.get("/console/queue").text)
    assert client.post(url, data={"csrf_token": foreign}).status_code == 403
    token = csrf_of(client.get("/console/queue").text)
    assert client.post(url, data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert console.store.handover(handover.id).status == "claimed"  # type: ignore[union-attr]


def test_logout_ends_the_session(console: Console, client: TestClient) -> None:
    log_in(client, "agent")
    token = client.cookies.get("voicebot_console")
    assert token is not None
    assert client.post("/console/logout", data={}).status_code == 403
    csrf = csrf_of(client.get("/console/queue").text)
    out = client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/login?bye=1"
    assert console.store.session(token) is None
    assert any(e.action == "logout" for e in console.store.audit_log())


@pytest.mark.parametrize("path", ADMIN_PAGES + SUPERVISOR_PAGES)
def test_an_agent_is_refused_admin_and_supervisor_pages(client: TestClient, path: str) -> None:
    log_in(client, "agent")
    refused = client.get(path)
    assert refused.status_code == 403
    assert "Accès refusé" in refused.text and 'lang="fr"' in refused.text


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_a_supervisor_is_refused_admin_pages(client: TestClient, path: str) -> None:
    log_in(client, "chef")
    assert client.get(path).status_code == 403
    for allowed in SUPERVISOR_PAGES:
        assert client.get(allowed).status_code == 200


def test_admin_posts_are_refused_to_an_agent_even_with_a_valid_token(
    console: Console, client: TestClient
) -> None:
    csrf = csrf_as(client, "agent")
    data = {"csrf_token": csrf, "username": "intrus", "password": PASSWORD, "role": "admin"}
    assert client.post("/console/users", data=data).status_code == 403
    erase = client.post("/console/privacy/erase", data={"csrf_token": csrf, "number": "0199001020"})
    assert erase.status_code == 403
    assert [u.username for u in console.store.users()] == ["admin", "chef", "agent"]


def test_an_agent_sees_only_the_calls_they_took(console: Console, client: TestClient) -> None:
    handed_over_call(console.store, "appel-1")
    handed_over_call(console.store, "appel-2", caller="0199001021")
    first, second = console.store.queue()
    console.store.claim(second.id, console.supervisor)
    csrf = csrf_as(client, "agent")
    client.post(f"/console/handovers/{first.id}/claim", data={"csrf_token": csrf})
    assert client.get("/console/calls/appel-1").status_code == 200
    assert client.get("/console/calls/appel-2").status_code == 403


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/console/login", "/console/accessibilite", "/console/static/console.js"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-content-type-options"] == "nosniff"
    assert client.get("/console/login").headers["cache-control"] == "no-store"


def test_no_inline_script_or_style_in_pages(console: Console, client: TestClient) -> None:
    handed_over_call(console.store)
    log_in(client, "admin")
    for path in ("/console/queue", "/console/analytics", "/console/users", "/console/history"):
        html = client.get(path).text
        assert "<script>" not in html and "style=" not in html and "onclick" not in html
        assert '<script src="/console/static/console.js?v=' in html


def test_open_redirect_after_login_is_refused(client: TestClient) -> None:
    form = client.get("/console/login?next=//evil.example/")
    response = client.post(
        "/console/login",
        data={
            "username": "agent",
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console/queue"


SQL_INJECTIONS = ["' OR '1'='1", "%", "_", "x'); DROP TABLE calls; --", '" OR 1=1 --']


@pytest.mark.parametrize("attack", SQL_INJECTIONS)
def test_sql_injection_in_search_is_inert(
    console: Console, client: TestClient, attack: str
) -> None:
    resolved_call(console.store, "appel-horaires", "quels sont les horaires de la mairie")
    log_in(client, "chef")
    for field in ("text", "caller", "line", "outcome", "reason"):
        response = client.get("/console/history", params={field: attack})
        assert response.status_code == 200
        assert "Résultats : 0 appel" in response.text
    assert "Résultats : 1 appel" in client.get("/console/history").text


def test_html_injection_is_rendered_as_text(console: Console, client: TestClient) -> None:
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    handed_over_call(console.store, phrase=f"je veux {payload}")
    csrf = csrf_as(client, "admin", "/console/users")
    created = client.post(
        "/console/users",
        data={
            "csrf_token": csrf,
            "username": "dupont",
            "display_name": payload,
            "role": "agent",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    escaped = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"
    assert escaped in client.get("/console/users").text
    with TestClient(console.app) as dupont:
        log_in(dupont, "dupont")
        queue = dupont.get("/console/queue").text
        assert escaped in queue  # the display name in the header, the phrase nowhere raw
        handover = console.store.queue()[0]
        page = dupont.get(f"/console/handovers/{handover.id}").text
        assert escaped in page
        for html in (queue, page):
            assert "<img src=x" not in html and "<script>alert" not in html
    search = client.get("/console/history", params={"text": payload}).text
    assert 'value="&lt;img src=x onerror=&#34;alert(1)&#34;&gt;' in search
    assert "<img src=x" not in search
