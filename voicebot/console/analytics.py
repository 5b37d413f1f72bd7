"""Statistics over a period, and turning not-understood phrases into examples."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import Response

from voicebot.console.auth import Viewer
from voicebot.console.charts import Chart, column_chart, row_chart
from voicebot.console.context import Console
from voicebot.console.labels import outcome_label, reason_label
from voicebot.console.learned import add_example, learned_phrases, normalize
from voicebot.console.period import Period, parse_period
from voicebot.console.templating import see_other
from voicebot.errors import ContentError
from voicebot.store import Analytics


def hourly(
    per_hour: list[tuple[str, int]], zone: ZoneInfo, period: Period
) -> tuple[str, list[tuple[str, int]]]:
    """Over one or two days, hour by hour; over longer periods, the day's profile (0 h-23 h)."""
    parsed = []
    for key, count in per_hour:
        try:
            parsed.append((datetime.fromisoformat(key).astimezone(zone), count))
        except ValueError:
            continue
    if (period.last - period.first).days < 2:
        pattern = "%Hh" if period.first == period.last else "%d/%m %Hh"
        return "Appels par heure", [(at.strftime(pattern), count) for at, count in parsed]
    profile = [0] * 24
    for at, count in parsed:
        profile[at.hour] += count
    title = "Appels selon l'heure de la journée (cumul sur la période)"
    return title, [(f"{hour}h", count) for hour, count in enumerate(profile)]


def charts(stats: Analytics, zone: ZoneInfo, period: Period) -> list[Chart]:
    hours_title, hours = hourly(stats.calls_per_hour, zone, period)
    reasons = sorted(stats.handovers_by_reason.items(), key=lambda item: -item[1])
    outcomes = sorted(stats.outcomes.items(), key=lambda item: -item[1])
    return [
        row_chart(
            "motifs",
            "Transferts à un agent par motif",
            [(reason_label(reason), count) for reason, count in reasons],
            "transferts",
        ),
        row_chart(
            "issues",
            "Issue des appels",
            [(outcome_label(outcome), count) for outcome, count in outcomes],
            "appels",
        ),
        column_chart("heures", hours_title, hours, "appels"),
    ]


NOTICES = {
    "example_added": "La phrase est ajoutée comme exemple. Elle sera prise en compte au "
    "prochain démarrage du service.",
    "example_known": "Cette phrase était déjà un exemple de cette intention.",
}


def add_analytics_routes(router: APIRouter, console: Console) -> None:
    pages = console.pages
    supervisor = Depends(console.guard.at_least("supervisor"))
    supervisor_posting = Depends(console.guard.posting("supervisor"))

    def page(
        request: Request,
        since: str,
        until: str,
        notice: str | None = None,
        problem: str | None = None,
        status: int = 200,
    ) -> Response:
        content = console.content()
        zone = ZoneInfo(content.service.timezone)
        period, errors = parse_period(since, until, datetime.now(zone).date())
        if problem:
            errors.append(problem)
        stats = console.store().analytics(*period.bounds(zone))
        learned = learned_phrases(console.prompts_dir, content) if console.prompts_dir else {}
        phrases = [
            (phrase, count, learned.get(normalize(phrase)))
            for phrase, count in stats.not_understood
        ]
        context: dict[str, Any] = {
            "title": "Statistiques",
            "period": period,
            "stats": stats,
            "charts": charts(stats, zone, period),
            "phrases": phrases,
            "lines": sorted(content.lines.values(), key=lambda line: line.name),
            "can_learn": console.prompts_dir is not None,
            "notice": notice,
            "errors": errors,
        }
        return pages.render(request, "analytics.html", context, status)

    @router.get("/analytics")
    def analytics_page(
        request: Request,
        viewer: Viewer = supervisor,
        since: str = "",
        until: str = "",
        ok: str = "",
    ) -> Response:
        return page(request, since[:20], until[:20], NOTICES.get(ok))

    @router.post("/analytics/examples")
    def learn(
        request: Request,
        viewer: Viewer = supervisor_posting,
        phrase: Annotated[str, Form()] = "",
        target: Annotated[str, Form()] = "",
        since: Annotated[str, Form()] = "",
        until: Annotated[str, Form()] = "",
    ) -> Response:
        since, until = since[:20], until[:20]
        if console.prompts_dir is None:
            return page(
                request, since, until, problem="L'ajout d'exemples n'est pas configuré.", status=409
            )
        line_id, _, intent_id = target.partition("/")
        try:
            added = add_example(console.prompts_dir, console.content(), line_id, intent_id, phrase)
        except ContentError as exc:
            return page(
                request, since, until, problem=f"Phrase non ajoutée : {exc.message}.", status=400
            )
        if added:
            console.store().audit(viewer.user, "example_added", target, " ".join(phrase.split()))
        ok = "example_added" if added else "example_known"
        return see_other("/analytics", since=since, until=until, ok=ok)
