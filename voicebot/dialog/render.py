"""Turn content templates into what the bot says: facts, slot values, live figures."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from voicebot.content.loader import PLACEHOLDER
from voicebot.content.model import Content, Line, Service
from voicebot.nlu.slots import MONTHS

MONTH_NAMES = {number: name for name, number in MONTHS.items()}
MONTH_NAMES.update({2: "février", 8: "août", 12: "décembre"})
DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def spoken_value(line: Line, slot_name: str, value: str) -> str:
    """A slot value as the bot says it."""
    slot = line.slots.get(slot_name)
    kind = slot.kind if slot else "text"
    if kind == "vocabulary" and slot is not None:
        return slot.label_of(value)
    if kind == "date":
        day = date.fromisoformat(value)
        first = "1er" if day.day == 1 else str(day.day)
        return f"le {DAY_NAMES[day.weekday()]} {first} {MONTH_NAMES[day.month]}"
    if kind == "time":
        hours, minutes = value.split(":")
        spoken = f"{int(hours)} heures"
        return spoken + (f" {int(minutes)}" if int(minutes) else "")
    if kind == "dossier":
        return " ".join(value)
    if kind == "month":
        return MONTH_NAMES.get(int(value), value)
    return value


def render(
    template: str,
    line: Line,
    service: Service,
    slots: Mapping[str, str],
    live: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """Fill ``{fact}``, ``{slot:x}``, ``{label:x}`` and ``{live:x}``; unknown ones become empty."""
    fields = dict(service.facts)
    for name, value in slots.items():
        fields[f"slot:{name}"] = spoken_value(line, name, value)
        fields[f"label:{name}"] = spoken_value(line, name, value)
    for name, value in (live or {}).items():
        fields[f"live:{name}"] = value
    fields.update(extra or {})
    text = PLACEHOLDER.sub(lambda match: fields.get(match.group(1), ""), template)
    return " ".join(text.split())


def fixed_prompts(content: Content) -> list[str]:
    """Every prompt whose words do not depend on the call (no caller's choice in it): what
    the service renders once, before callers need it."""
    return [
        render(template, line, content.service, {})
        for line in content.lines.values()
        for template in line.prompts.values()
        if "{label}" not in template
    ]
