"""Searching calls: filters, pages, and text that is only ever text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect

from tests.store.conftest import T0, ended_call
from voicebot.store import CallSummary, Store

HOSTILE = [
    "'; DROP TABLE calls; --",
    "' OR '1'='1",
    '" OR 1=1 --',
    "x') UNION SELECT id, id FROM users --",
    "\\",
    "%%",
    "[a-z]",
]


@pytest.fixture
def calls(store: Store) -> Store:
    texts = {
        "pct": "c'est 100% sûr",
        "under": "le dossier a_b",
        "plain": "le dossier axb",
        "quote": "l'état civil",
        "upper": "Je Voudrais Un PASSEPORT",
    }
    for index, (call_id, phrase) in enumerate(texts.items()):
        ended_call(
            store,
            call_id,
            started_at=T0 + timedelta(hours=index),
            phrases=(phrase,),
            outcome="resolved" if index % 2 else "handed_over",
            reason=None if index % 2 else "asked_for_agent",
            line="rh" if call_id == "upper" else "mairie",
            caller=f"+3361234567{index}",
        )
    return store


def ids(result: tuple[list[CallSummary], int]) -> set[str]:
    return {summary.call_id for summary in result[0]}


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_inert(calls: Store, text: str) -> None:
    page, total = calls.search_calls(text=text)
    assert (page, total) == ([], 0)
    assert {"calls", "users", "turns"} <= set(inspect(calls.engine).get_table_names())
    assert calls.search_calls()[1] == 5


def test_wildcards_are_literal(calls: Store) -> None:
    assert ids(calls.search_calls(text="%")) == {"pct"}
    assert ids(calls.search_calls(text="_")) == {"under"}
    assert ids(calls.search_calls(text="a_b")) == {"under"}
    assert ids(calls.search_calls(text="a%b")) == set()
    assert ids(calls.search_calls(text="axb")) == {"plain"}
    assert ids(calls.search_calls(text="l'état")) == {"quote"}


def test_text_is_matched_whatever_the_case(calls: Store) -> None:
    assert ids(calls.search_calls(text="passeport")) == {"upper"}
    assert ids(calls.search_calls(text="DOSSIER")) == {"under", "plain"}


def test_filters_and_pages(calls: Store) -> None:
    assert ids(calls.search_calls(line="rh")) == {"upper"}
    assert ids(calls.search_calls(outcome="resolved")) == {"under", "quote"}
    assert ids(calls.search_calls(reason="asked_for_agent")) == {"pct", "plain", "upper"}
    assert ids(calls.search_calls(caller="0")) == {"pct"}
    assert ids(calls.search_calls(caller="%")) == set()
    since, until = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    assert ids(calls.search_calls(since=since, until=until)) == {"under", "plain"}

    first, total = calls.search_calls(limit=2)
    second, _ = calls.search_calls(limit=2, offset=2)
    assert total == 5 and [s.call_id for s in first] == ["upper", "quote"]
    assert [s.call_id for s in second] == ["plain", "under"]
    assert first[0].turn_count == 3 and first[0].last_text == "Bien noté."
