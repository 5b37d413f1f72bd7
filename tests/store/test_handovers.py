"""The hand-over queue: the order, taking a call once, closing it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.store.conftest import T0, Clock, ended_call
from voicebot.errors import StoreError
from voicebot.store import Store, User

PASSWORD = "une phrase de passe"


def handed_over(store: Store, call_id: str, minutes: int) -> int:
    ended_call(
        store,
        call_id,
        started_at=T0 + timedelta(minutes=minutes),
        outcome="handed_over",
        reason="not_understood",
    )
    [view] = [h for h in store.queue(include_handled=True) if h.call_id == call_id]
    return view.id


@pytest.fixture
def agents(store: Store) -> tuple[User, User, User]:
    return (
        store.create_user("alice", PASSWORD, "agent", "Alice"),
        store.create_user("bruno", PASSWORD, "agent", "Bruno"),
        store.create_user("chef", PASSWORD, "supervisor", "Chloé"),
    )


def test_claiming_twice_is_refused(store: Store, agents: tuple[User, User, User]) -> None:
    alice, bruno, _ = agents
    handover_id = handed_over(store, "c1", 0)
    claimed = store.claim(handover_id, alice)
    assert (claimed.status, claimed.claimed_by) == ("claimed", "alice")
    assert claimed.claimed_at is not None
    again = store.claim(handover_id, alice)  # the same agent: no change
    assert again.claimed_at == claimed.claimed_at

    with pytest.raises(StoreError, match="déjà pris en charge par alice") as refused:
        store.claim(handover_id, bruno)
    assert refused.value.exit_code == 10
    with pytest.raises(StoreError, match="déjà pris en charge"):
        store.mark_handled(handover_id, bruno, "rappelé")
    view = store.handover(handover_id)
    assert view is not None and view.claimed_by == "alice"


def test_handled_is_final(store: Store, agents: tuple[User, User, User]) -> None:
    alice, bruno, _ = agents
    handover_id = handed_over(store, "c1", 0)
    store.claim(handover_id, alice)
    done = store.mark_handled(handover_id, alice, "  Rendez-vous pris pour le 12.  ")
    assert done.status == "handled" and done.resolution == "Rendez-vous pris pour le 12."
    assert done.handled_at is not None
    with pytest.raises(StoreError, match="déjà traité"):
        store.claim(handover_id, bruno)
    with pytest.raises(StoreError, match="déjà traité"):
        store.mark_handled(handover_id, alice, "encore")
    with pytest.raises(StoreError, match="Transfert inconnu"):
        store.claim(9999, alice)


def test_a_supervisor_closes_any_and_an_agent_closes_a_waiting_one(
    store: Store, agents: tuple[User, User, User]
) -> None:
    alice, bruno, chef = agents
    first = handed_over(store, "c1", 0)
    second = handed_over(store, "c2", 1)
    store.claim(first, alice)
    closed = store.mark_handled(first, chef, "traité par la responsable")
    assert closed.claimed_by == "alice" and closed.status == "handled"
    direct = store.mark_handled(second, bruno, "renseigné")
    assert direct.claimed_by == "bruno" and direct.claimed_at is not None


def test_queue_order_and_waits(store: Store, clock: Clock, agents: tuple[User, User, User]) -> None:
    alice, _, _ = agents
    old = handed_over(store, "old", 0)
    new = handed_over(store, "new", 10)
    taken = handed_over(store, "taken", 5)
    done = handed_over(store, "done", 2)
    clock.now = T0 + timedelta(minutes=20)
    store.claim(taken, alice)
    store.mark_handled(done, alice, "ok")
    clock.advance(minutes=1)

    queue = store.queue()
    assert [h.call_id for h in queue] == ["old", "new", "taken"]
    assert [h.status for h in queue] == ["waiting", "waiting", "claimed"]
    created = {h.call_id: h.created_at for h in queue}
    assert queue[0].waited_s == pytest.approx((clock.now - created["old"]).total_seconds())
    assert queue[2].waited_s == pytest.approx(
        (T0 + timedelta(minutes=20) - created["taken"]).total_seconds()
    )
    everything = store.queue(include_handled=True)
    assert [h.call_id for h in everything] == ["old", "new", "taken", "done"]
    assert {old, new} == {h.id for h in queue if h.status == "waiting"}


def test_two_agents_claiming_at_once_one_wins(
    store: Store, agents: tuple[User, User, User]
) -> None:
    alice, bruno, _ = agents
    ids = [handed_over(store, f"c{n}", n) for n in range(5)]

    def claim(args: tuple[int, User]) -> str:
        handover_id, user = args
        try:
            return store.claim(handover_id, user).claimed_by or ""
        except StoreError:
            return "refused"

    with ThreadPoolExecutor(max_workers=4) as pool:
        for handover_id in ids:
            results = sorted(pool.map(claim, [(handover_id, alice), (handover_id, bruno)]))
            assert results in (["alice", "refused"], ["bruno", "refused"])
