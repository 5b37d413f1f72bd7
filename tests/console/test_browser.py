"""The console in a real headless Chromium: live queue over SSE, claiming with the full
context, roles, keyboard-only use, and axe-core on every page."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.console.browser import (
    PageProblems,
    axe_source,
    chromium,
    log_in_page,
    serious_violations,
)
from tests.console.harness import Console, handed_over_call, resolved_call, serving
from voicebot.calls.record import CallRecord, Turn
from voicebot.store import Store

ANNOUNCED = (
    "Nouvel appel en attente : Accueil téléphonique de la mairie, motif : "
    "L'appelant a demandé un conseiller."
)


def test_a_handover_appears_live_is_announced_and_claimed(console: Console, tmp_path: Path) -> None:
    other_instance = Store.open(f"sqlite:///{tmp_path / 'console.db'}")
    with serving(console.app) as base, chromium(tmp_path / "profil") as browser:
        page = browser.new_page()
        problems = PageProblems(page)
        page.goto(f"{base}/console/queue")
        expect(page).to_have_url(re.compile(r"/console/login\?next=%2Fconsole%2Fqueue$"))
        log_in_page(page, base, "agent")
        expect(page.get_by_text("Personne n'attend pour l'instant.")).to_be_visible()
        expect(page.locator("[data-queue-count]")).to_have_text("0")
        page.evaluate("window.sameDocument = true")

        handed_over_call(other_instance)  # the bot, on another instance, hands a call over

        row = page.locator("tr[data-handover-id]")
        expect(row).to_have_count(1, timeout=10_000)
        assert page.evaluate("window.sameDocument") is True  # no reload
        expect(page.locator("#annonces")).to_have_text(ANNOUNCED)
        expect(page.locator("[data-queue-count]")).to_have_text("1")
        expect(row).to_contain_text("une carte d'identité ou un passeport")
        expect(row).to_contain_text(re.compile(r"Situation\s*:\s*renouvellement"))
        waited = row.locator("[data-waited-s]")
        first = waited.inner_text()
        expect(waited).not_to_have_text(first, timeout=3_000)  # the wait ticks

        row.get_by_role("button", name=re.compile("Prendre l'appel")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Appel de 0199001020 — Accueil téléphonique de la mairie"
        )
        context = page.get_by_role("region", name="Ce que le robot a compris")
        expect(context).to_contain_text("une carte d'identité ou un passeport")
        expect(context).to_contain_text("Document")
        expect(context).to_contain_text("passeport")
        conversation = page.get_by_role("region", name="Conversation avec le robot")
        expect(conversation).to_contain_text("je voudrais refaire mon passeport")
        expect(conversation).to_contain_text("Je vous passe un conseiller.")
        assert not serious_violations(page, axe_source())

        page.get_by_label("Résolution (obligatoire)").fill("Rendez-vous pris pour le passeport")
        page.get_by_role("button", name="Marquer traité").click()
        expect(page.get_by_text("L'appel est marqué traité.")).to_be_visible()
        expect(page.locator("[data-queue-count]")).to_have_text("0")

        refused = page.goto(f"{base}/console/users")
        assert refused is not None and refused.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("Accès refusé")
        expect(page.get_by_role("alert")).to_contain_text("Votre rôle ne donne pas accès")
        assert not serious_violations(page, axe_source())
        assert problems.messages == []
    other_instance.close()


def focus_by_tab(page: Page, wanted: str, presses: int = 40) -> None:
    """Press Tab until the focused element matches the CSS selector ``wanted``."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", wanted):
            return
    raise AssertionError(f"{wanted} never received the focus")


def outline_of_focused(page: Page) -> str:
    return str(page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle"))


def test_keyboard_only_from_login_to_handled(console: Console, tmp_path: Path) -> None:
    handed_over_call(console.store)
    with serving(console.app) as base, chromium(tmp_path / "profil") as browser:
        page = browser.new_page()
        problems = PageProblems(page)
        page.goto(f"{base}/console/login")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
        assert page.locator(".skip-link").is_visible() and outline_of_focused(page) != "none"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "contenu"
        focus_by_tab(page, "#username")
        page.keyboard.type("agent")
        page.keyboard.press("Tab")
        page.keyboard.type("une phrase de passe solide")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/console/queue$"))

        focus_by_tab(page, "button[id^='prendre-']")
        assert outline_of_focused(page) == "solid"  # the focus is visible
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/console/handovers/\d+\?ok=claimed$"))
        focus_by_tab(page, "#resolution")
        page.keyboard.type("Renseigné au téléphone")
        focus_by_tab(page, "button[type=submit]:not(.button-secondary)")
        assert page.evaluate("document.activeElement.textContent") == "Marquer traité"
        page.keyboard.press("Enter")
        expect(page.get_by_text("L'appel est marqué traité.")).to_be_visible()
        assert problems.messages == []


def seed(console: Console) -> None:
    """Something on every page: waiting, claimed and handled calls, one in progress,
    history, not-understood phrases, audit entries."""
    store = console.store
    handed_over_call(store, "attente", caller="0199001020")
    handed_over_call(store, "pris", caller="0199001021", reason="not_understood")
    handed_over_call(store, "traite", caller="0199001022", reason="keypad_0")
    _, claimed, handled = store.queue()
    store.claim(claimed.id, console.agent)
    store.claim(handled.id, console.agent)
    store.mark_handled(handled.id, console.agent, "Rappel prévu demain")
    for index in range(30):
        resolved_call(store, f"r{index}", "quels sont les horaires", caller=f"01990030{index:02d}")
    resolved_call(store, "incompris", "euh le machin pour la cantine", intent=None)
    live = CallRecord("en-cours", "rh", caller="0199001050")
    store.call_started(live, "instance-a")
    store.turn_added("en-cours", Turn("caller", "c'est pour mes congés", intent="rh_conges"))
    store.audit(console.admin, "role_changed", "agent", "Agent → Agent")


def test_axe_finds_no_serious_violation_on_any_page(console: Console, tmp_path: Path) -> None:
    seed(console)
    handover_id = console.store.queue()[0].id
    source = axe_source()
    with serving(console.app) as base, chromium(tmp_path / "profil") as browser:
        page = browser.new_page()
        problems = PageProblems(page)
        found: dict[str, list[str]] = {}
        for path in ("/console/login", "/console/accessibilite"):
            page.goto(base + path)
            found[path] = serious_violations(page, source)
        log_in_page(page, base, "admin")
        for path in (
            "/console/queue",
            "/console/live",
            f"/console/handovers/{handover_id}",
            "/console/calls/pris",
            "/console/history",
            "/console/history?outcome=resolved&page=2",
            "/console/analytics",
            "/console/users",
            "/console/audit",
            "/console/privacy",
            "/console/accessibilite",
        ):
            page.goto(base + path)
            expect(page.locator("main h1")).to_have_count(1)
            found[path] = serious_violations(page, source)
        missing = page.goto(f"{base}/console/calls/inconnu")
        assert missing is not None and missing.status == 404
        found["404"] = serious_violations(page, source)
        page.goto(f"{base}/console/privacy")
        page.get_by_label("Numéro de téléphone (obligatoire)").last.fill("0199001020")
        page.get_by_role("button", name="Effacer…").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Confirmer l'effacement")
        found["effacement"] = serious_violations(page, source)
        assert {path: v for path, v in found.items() if v} == {}
        assert problems.messages == []
