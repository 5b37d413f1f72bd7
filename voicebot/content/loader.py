"""Read `prompts/` and check it; every problem names its file and its entry.

All problems are collected before failing, so an author fixes them in one go.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import date, time
from pathlib import Path
from typing import Any, get_args

import yaml

from voicebot.content.model import (
    OUT_OF_SCOPE,
    REQUIRED_PROMPTS,
    WEEKDAYS,
    Answer,
    Content,
    Intent,
    IntentKind,
    Line,
    Opening,
    PublicHolidays,
    Redirection,
    Service,
    Slot,
    SlotKind,
    SlotValue,
)
from voicebot.dialog.hours import countries, subdivision_code, subdivisions
from voicebot.errors import ContentError
from voicebot.nlu.normalize import fold

log = logging.getLogger(__name__)
CONTROL_INTENTS = ("oui", "non", "repeter", "conseiller", "au_revoir")
LEARNED_FILE = "learned.yaml"
"""Examples added from the supervision console: ``examples: {intent_id: [phrases]}``."""
_PERIOD = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_LIVE_FIELDS = {"bikes", "docks"}


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.warnings: list[str] = []

    def add(self, file: Path, entry: str, problem: str) -> None:
        self.items.append(f"{file}: {entry}: {problem}")

    def warn(self, file: Path, entry: str, problem: str) -> None:
        """Something skipped that does not stop the service (the rest loads)."""
        self.warnings.append(f"{file}: {entry}: {problem}")


def load_content(root: Path) -> Content:
    """Load and validate everything; raise :class:`ContentError` listing every problem."""
    if not (root / "service.yaml").is_file():
        raise ContentError(
            f"contenu introuvable : {root / 'service.yaml'} manque",
            hint="vérifiez VOICEBOT_PROMPTS_DIR (le dossier prompts/ du projet)",
        )
    problems = _Problems()
    service = _load_service(root / "service.yaml", problems)
    lines = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / "intents.yaml").exists()):
        line = _load_line(folder, service, problems)
        if line is not None:
            lines[line.id] = line
    if not lines:
        problems.add(root, "lignes", "aucun dossier de ligne (avec intents.yaml)")
    if problems.items:
        error = ContentError(
            f"{len(problems.items)} problème(s) dans le contenu : " + problems.items[0],
            hint="lancez `voicebot prompts check` pour la liste complète",
        )
        error.problems = problems.items  # type: ignore[attr-defined]
        raise error
    for warning in problems.warnings:
        log.warning("%s", warning)
    return Content(service=service, lines=lines, warnings=tuple(problems.warnings))


def _read_yaml(path: Path, problems: _Problems) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.add(path, "fichier", "manquant")
        return {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"ligne {mark.line + 1}" if mark is not None else "fichier"
        problems.add(path, where, f"YAML invalide ({getattr(exc, 'problem', exc)})")
        return {}
    except UnicodeDecodeError:
        problems.add(path, "fichier", "n'est pas en UTF-8")
        return {}
    if not isinstance(data, dict):
        problems.add(path, "fichier", "doit contenir un dictionnaire YAML")
        return {}
    return data


def _text(
    data: dict[str, Any],
    key: str,
    path: Path,
    entry: str,
    problems: _Problems,
    required: bool = True,
) -> str:
    value = data.get(key)
    if value is None:
        if required:
            problems.add(path, entry, f"« {key} » manque")
        return ""
    if not isinstance(value, str | int | float) or not str(value).strip():
        problems.add(path, entry, f"« {key} » doit être un texte non vide")
        return ""
    return str(value).strip()


def _check_needs(
    needs: tuple[str, ...], examples: tuple[str, ...], path: Path, entry: str, problems: _Problems
) -> None:
    """Each example must say one of the words the intent needs, or it could never match."""
    for example in examples:
        if needs and not _says_a_need(example, needs):
            problems.add(
                path,
                f"{entry}.examples",
                f"« {example} » ne contient aucun des mots de needs : ajoutez-en un à needs, "
                "ou retirez l'exemple",
            )


def _says_a_need(phrase: str, needs: tuple[str, ...]) -> bool:
    said = f" {fold(phrase)} "
    return any(f" {fold(need)} " in said for need in needs)


def _str_list(value: Any, path: Path, entry: str, problems: _Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        problems.add(path, entry, "doit être une liste de textes")
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())


def _weekly(
    raw: Any, path: Path, entry: str, problems: _Problems
) -> dict[int, tuple[tuple[time, time], ...]]:
    """``{lundi: ["08:30-12:00", ...], ...}`` → weekday (0 = Monday) → periods."""
    hours: dict[int, tuple[tuple[time, time], ...]] = {}
    raw = raw or {}
    if not isinstance(raw, dict):
        problems.add(path, entry, "doit associer des jours à des plages")
        return hours
    for day, periods in raw.items():
        where = f"{entry}.{day}"
        if day not in WEEKDAYS:
            problems.add(path, where, f"jour inconnu (attendu : {', '.join(WEEKDAYS)})")
            continue
        parsed = []
        for period in _str_list(periods, path, where, problems):
            match = _PERIOD.match(period)
            if not match:
                problems.add(path, where, f"plage « {period} » : attendu HH:MM-HH:MM")
                continue
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            try:
                # "24:00" closes a period at the end of the day.
                start = time(h1, m1)
                end = time.max if (h2, m2) == (24, 0) else time(h2, m2)
            except ValueError:
                problems.add(path, where, f"plage « {period} » : heure impossible")
                continue
            if start >= end:
                problems.add(path, where, f"plage « {period} » : début après la fin")
                continue
            parsed.append((start, end))
        hours[WEEKDAYS.index(day)] = tuple(parsed)
    return hours


def _load_opening(raw: Any, path: Path, problems: _Problems) -> dict[str, Opening]:
    """``opening_hours``: per service of the ``service`` slot, its public opening hours."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(path, "opening_hours", "doit associer des services à leurs horaires")
        return {}
    opening: dict[str, Opening] = {}
    for key, entry in raw.items():
        where = f"opening_hours.{key}"
        if not isinstance(entry, dict):
            problems.add(path, where, "attendu {name: ..., hours: {...}}")
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.add(path, f"{where}.name", "nom du lieu manquant (« la mairie »)")
            continue
        flags = {}
        for flag, default in (("plural", False), ("feminine", False), ("town_hall", False)):
            value = entry.get(flag, default)
            if not isinstance(value, bool):
                problems.add(path, f"{where}.{flag}", "attendu true ou false")
                value = default
            flags[flag] = value
        opening[str(key)] = Opening(
            name=name.strip(),
            hours=_weekly(entry.get("hours"), path, f"{where}.hours", problems),
            **flags,
        )
    return opening


def _load_service(path: Path, problems: _Problems) -> Service:
    data = _read_yaml(path, problems)
    hours = _weekly(data.get("hours"), path, "hours", problems)
    closed = []
    for raw in _str_list(data.get("closed_dates"), path, "closed_dates", problems):
        try:
            closed.append(date.fromisoformat(raw))
        except ValueError:
            problems.add(path, "closed_dates", f"« {raw} » n'est pas une date AAAA-MM-JJ")
    facts_raw = data.get("facts") or {}
    facts = (
        {str(k): str(v).strip() for k, v in facts_raw.items()}
        if isinstance(facts_raw, dict)
        else {}
    )
    gbfs = data.get("gbfs_url")
    holidays_closed = data.get("closed_on_public_holidays", True)
    if not isinstance(holidays_closed, bool):
        problems.add(path, "closed_on_public_holidays", "attendu true ou false")
        holidays_closed = True
    return Service(
        name=_text(data, "name", path, "name", problems),
        timezone=_text(data, "timezone", path, "timezone", problems, required=False)
        or "Europe/Paris",
        hours=hours,
        closed_dates=tuple(closed),
        closed_on_public_holidays=holidays_closed,
        public_holidays=_load_public_holidays(data.get("public_holidays"), path, problems),
        gbfs_url=str(gbfs).strip() if gbfs else None,
        sms_enabled=data.get("sms_enabled") is True,
        facts=facts,
        opening=_load_opening(data.get("opening_hours"), path, problems),
    )


def _load_public_holidays(raw: Any, path: Path, problems: _Problems) -> PublicHolidays:
    """``{country: FR, subdivision: "57"}``; absent, plain France."""
    entry = "public_holidays"
    if raw is None:
        return PublicHolidays()
    if not isinstance(raw, dict):
        problems.add(path, entry, 'attendu par exemple {country: FR, subdivision: "57"}')
        return PublicHolidays()
    for key in raw:
        if key not in ("country", "subdivision"):
            problems.add(path, f"{entry}.{key}", "clé inconnue (attendu : country, subdivision)")
    country = str(raw.get("country") or "FR").strip().upper()
    if country not in countries():
        problems.add(
            path,
            f"{entry}.country",
            f"pays « {country} » inconnu (attendu : un code ISO 3166-1 à deux lettres, "
            "par exemple FR)",
        )
        return PublicHolidays()
    written = raw.get("subdivision")
    if written is None or str(written).strip() == "":
        return PublicHolidays(country)
    code = subdivision_code(country, str(written).strip())
    if code is None:
        known = subdivisions(country)
        accepted = ", ".join(f"{c} ({n})" if n != c else c for c, n in known.items())
        problems.add(
            path,
            f"{entry}.subdivision",
            f"« {written} » inconnue pour {country} (attendu : {accepted or 'aucune'})",
        )
        return PublicHolidays(country)
    return PublicHolidays(country, code)


def _load_slots(path: Path, problems: _Problems) -> dict[str, Slot]:
    data = _read_yaml(path, problems)
    slots = {}
    kinds = get_args(SlotKind)
    for name, raw in (data.get("slots") or {}).items():
        entry = f"slots.{name}"
        if not isinstance(raw, dict):
            problems.add(path, entry, "doit être un dictionnaire")
            continue
        kind = raw.get("kind", "vocabulary")
        if kind not in kinds:
            problems.add(path, entry, f"kind « {kind} » inconnu (attendu : {', '.join(kinds)})")
            continue
        values = []
        seen: dict[str, str] = {}
        for canonical, spec in (raw.get("values") or {}).items():
            spec = spec or {}
            label = str(spec.get("label") or canonical).strip()
            synonyms = _str_list(spec.get("synonyms"), path, f"{entry}.{canonical}", problems)
            for synonym in synonyms:
                other = seen.setdefault(synonym.lower(), str(canonical))
                if other != canonical:
                    problems.add(
                        path,
                        f"{entry}.{canonical}",
                        f"synonyme « {synonym} » déjà donné pour « {other} »",
                    )
            values.append(SlotValue(str(canonical), label, synonyms))
        if kind == "vocabulary" and not values:
            problems.add(path, entry, "un vocabulaire a besoin de valeurs (values)")
        default = raw.get("default")
        if default is not None and str(default) not in {v.canonical for v in values}:
            problems.add(path, f"{entry}.default", f"« {default} » n'est pas une valeur du slot")
        prompt = _text(raw, "prompt", path, entry, problems)
        slots[str(name)] = Slot(
            str(name), kind, prompt, tuple(values), None if default is None else str(default)
        )
    return slots


PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _placeholders(text: str) -> list[str]:
    if text.count("{") != text.count("}"):
        raise ValueError("accolade ouvrante ou fermante en trop")
    return PLACEHOLDER.findall(text)


def _check_template(
    text: str,
    path: Path,
    entry: str,
    intent_slots: tuple[str, ...],
    service: Service,
    problems: _Problems,
) -> None:
    try:
        fields = _placeholders(text)
    except ValueError as exc:
        problems.add(path, entry, f"accolades mal formées ({exc})")
        return
    for field in fields:
        prefix, _, name = field.partition(":")
        if not name:
            if field not in service.facts:
                problems.add(
                    path, entry, f"fait inconnu {{{field}}} (absent de service.yaml facts)"
                )
        elif prefix in ("slot", "label"):
            if name not in intent_slots:
                problems.add(
                    path, entry, f"{{{field}}} : « {name} » n'est pas un slot de l'intention"
                )
        elif prefix == "live":
            if name not in _LIVE_FIELDS:
                problems.add(path, entry, f"{{{field}}} : donnée en direct inconnue")
        else:
            problems.add(path, entry, f"{{{field}}} : préfixe inconnu (slot, label, live)")


def _load_line(folder: Path, service: Service, problems: _Problems) -> Line | None:
    intents_path = folder / "intents.yaml"
    data = _read_yaml(intents_path, problems)
    slots = _load_slots(folder / "slots.yaml", problems)
    prompts_path = folder / "prompts.yaml"
    prompts_raw = _read_yaml(prompts_path, problems)
    line_id = str(data.get("line") or folder.name)
    prompts = {str(k): str(v).strip() for k, v in prompts_raw.items() if v is not None}
    for key in REQUIRED_PROMPTS:
        if key not in prompts:
            problems.add(prompts_path, key, "message obligatoire manquant")
    if "confirm" in prompts and "{label}" not in prompts["confirm"]:
        problems.add(prompts_path, "confirm", "doit contenir {label}")
    intents = {}
    owner: dict[str, str] = {}
    keypad: dict[str, str] = {}
    kinds = get_args(IntentKind)
    raw_intents = data.get("intents") or {}
    if not isinstance(raw_intents, dict) or not raw_intents:
        problems.add(intents_path, "intents", "aucune intention")
        raw_intents = {}
    for intent_id, raw in raw_intents.items():
        entry = f"intents.{intent_id}"
        if not isinstance(raw, dict):
            problems.add(intents_path, entry, "doit être un dictionnaire")
            continue
        kind = raw.get("kind", "task")
        if kind not in kinds:
            problems.add(intents_path, entry, f"kind « {kind} » inconnu (task ou control)")
            continue
        intent_slots = _str_list(raw.get("slots"), intents_path, f"{entry}.slots", problems)
        for name in intent_slots:
            if name not in slots:
                problems.add(
                    intents_path, f"{entry}.slots", f"slot « {name} » absent de slots.yaml"
                )
        required = _str_list(raw.get("required"), intents_path, f"{entry}.required", problems)
        for name in required:
            if name not in intent_slots:
                problems.add(intents_path, f"{entry}.required", f"« {name} » n'est pas dans slots")
        examples = _str_list(raw.get("examples"), intents_path, f"{entry}.examples", problems)
        if not examples:
            problems.add(intents_path, entry, "aucun exemple de phrase")
        _claim_examples(examples, str(intent_id), owner, intents_path, entry, problems)
        answers = _load_answers(raw, intents_path, entry, intent_slots, slots, service, problems)
        if kind == "task" and not any(not a.when for a in answers):
            problems.add(intents_path, entry, "réponse par défaut manquante (une sans « when »)")
        digit = raw.get("keypad")
        if digit is not None:
            digit = str(digit)
            if digit not in "123456789" or len(digit) != 1:
                problems.add(
                    intents_path, entry, f"touche « {digit} » : attendu un chiffre de 1 à 9"
                )
            elif digit in keypad:
                problems.add(
                    intents_path, entry, f"touche {digit} déjà prise par « {keypad[digit]} »"
                )
            else:
                keypad[digit] = str(intent_id)
        needs = _str_list(raw.get("needs"), intents_path, f"{entry}.needs", problems)
        _check_needs(needs, examples, intents_path, entry, problems)
        intents[str(intent_id)] = Intent(
            id=str(intent_id),
            label=_text(raw, "label", intents_path, entry, problems, required=kind == "task"),
            kind=kind,
            examples=examples,
            keywords=_str_list(raw.get("keywords"), intents_path, f"{entry}.keywords", problems),
            needs=needs,
            slots=intent_slots,
            required=required,
            answers=answers,
            keypad=digit,
        )
    reject = _load_out_of_scope(folder / "out_of_scope.yaml", owner, problems)
    if reject is not None:
        intents[reject.id] = reject
    redirections = _load_redirections(folder / "out_of_scope.yaml", problems)
    _merge_learned(folder / LEARNED_FILE, intents, owner, problems)
    for control in CONTROL_INTENTS:
        if control not in intents:
            problems.add(intents_path, "intents", f"intention de contrôle « {control} » manquante")
    return Line(
        id=line_id,
        name=str(data.get("name") or line_id),
        intents=intents,
        slots=slots,
        prompts=prompts,
        redirections=redirections,
    )


def _load_redirections(path: Path, problems: _Problems) -> tuple[Redirection, ...]:
    """``redirections``: requests for another body, each with its phrases and its answer."""
    if not path.exists():
        return ()
    raw = _read_yaml(path, problems).get("redirections") or {}
    if not isinstance(raw, dict):
        problems.add(path, "redirections", "doit associer des noms à {phrases, answer}")
        return ()
    found = []
    for key, entry in raw.items():
        where = f"redirections.{key}"
        if not isinstance(entry, dict):
            problems.add(path, where, "attendu {phrases: [...], answer: ...}")
            continue
        phrases = _str_list(entry.get("phrases"), path, f"{where}.phrases", problems)
        answer = _text(entry, "answer", path, f"{where}.answer", problems)
        if not phrases:
            problems.add(path, f"{where}.phrases", "au moins une expression est attendue")
            continue
        unless = _str_list(entry.get("except"), path, f"{where}.except", problems)
        found.append(
            Redirection(
                str(key), tuple(fold(p) for p in phrases), answer, tuple(fold(p) for p in unless)
            )
        )
    return tuple(found)


def _claim_examples(
    examples: tuple[str, ...],
    intent: str,
    owner: dict[str, str],
    path: Path,
    entry: str,
    problems: _Problems,
) -> None:
    """Record which intent each example belongs to; the same phrase under two is an error."""
    for example in examples:
        other = owner.setdefault(" ".join(example.lower().split()), intent)
        if other != intent:
            problems.add(path, entry, f"l'exemple « {example} » est aussi sous « {other} »")


def _merge_learned(
    path: Path, intents: dict[str, Intent], owner: dict[str, str], problems: _Problems
) -> None:
    """Add the examples learned from the console to their intents (a repeat is ignored).

    The console checks what it writes, but ``intents.yaml`` may change afterwards: a
    learned example whose intent no longer exists, or that is now an example of another
    intent, is skipped with a warning, and the service starts with the rest.
    """
    if not path.exists():
        return
    raw = _read_yaml(path, problems).get("examples") or {}
    if not isinstance(raw, dict):
        problems.add(path, "examples", "doit associer des intentions à des listes de phrases")
        return
    for intent_id, phrases in raw.items():
        entry = f"examples.{intent_id}"
        intent = intents.get(str(intent_id))
        if intent is None:
            known_ids = ", ".join(sorted(i for i in intents if intents[i].kind != "control"))
            problems.warn(
                path,
                entry,
                f"intention inconnue « {intent_id} » : ces exemples sont ignorés ; "
                f"rattachez-les à une intention de intents.yaml ({known_ids}) "
                "ou supprimez l'entrée",
            )
            continue
        new: dict[str, str] = {}
        known = {" ".join(e.lower().split()) for e in intent.examples}
        for phrase in _str_list(phrases, path, entry, problems):
            key = " ".join(phrase.lower().split())
            other = owner.get(key)
            if other is not None and other != intent.id:
                problems.warn(
                    path,
                    entry,
                    f"l'exemple « {phrase} » est aussi sous « {other} » : il est ignoré ; "
                    "supprimez-le de l'un des deux fichiers",
                )
            elif intent.needs and not _says_a_need(phrase, intent.needs):
                problems.warn(
                    path,
                    entry,
                    f"l'exemple « {phrase} » ne contient aucun des mots de needs de "
                    f"« {intent.id} » : il est ignoré",
                )
            elif key not in known:
                new.setdefault(key, phrase)
        added = tuple(new.values())
        _claim_examples(added, intent.id, owner, path, entry, problems)
        intents[intent.id] = replace(intent, examples=intent.examples + added)


def _load_out_of_scope(path: Path, owner: dict[str, str], problems: _Problems) -> Intent | None:
    """Requests that are not the line's business, so that they are recognised as such."""
    if not path.exists():
        return None
    data = _read_yaml(path, problems)
    examples = _str_list(data.get("examples"), path, "examples", problems)
    _claim_examples(examples, OUT_OF_SCOPE, owner, path, "examples", problems)
    return Intent(id=OUT_OF_SCOPE, label="", kind="reject", examples=examples)


def _load_answers(
    raw: dict[str, Any],
    path: Path,
    entry: str,
    intent_slots: tuple[str, ...],
    slots: dict[str, Slot],
    service: Service,
    problems: _Problems,
) -> tuple[Answer, ...]:
    answers = []
    raw_answers = raw.get("answers") or []
    if not isinstance(raw_answers, list):
        problems.add(path, f"{entry}.answers", "doit être une liste")
        return ()
    for index, spec in enumerate(raw_answers, start=1):
        where = f"{entry}.answers[{index}]"
        if not isinstance(spec, dict):
            problems.add(path, where, "doit être un dictionnaire")
            continue
        text = _text(spec, "text", path, where, problems)
        when_raw = spec.get("when") or {}
        when = []
        for slot_name, value in when_raw.items():
            if slot_name not in intent_slots:
                problems.add(
                    path, where, f"when : « {slot_name} » n'est pas un slot de l'intention"
                )
                continue
            slot = slots.get(slot_name)
            canon = {v.canonical for v in slot.values} if slot else set()
            if canon and str(value) not in canon:
                problems.add(
                    path,
                    where,
                    f"when : valeur « {value} » non canonique pour "
                    f"« {slot_name} » (attendu : {', '.join(sorted(canon))})",
                )
            when.append((str(slot_name), str(value)))
        sms = spec.get("sms")
        for text_entry, template in ((where, text), (f"{where}.sms", sms)):
            if isinstance(template, str):
                _check_template(template, path, text_entry, intent_slots, service, problems)
        answers.append(Answer(text=text, when=tuple(when), sms=str(sms).strip() if sms else None))
    return tuple(answers)
