"""A reply's latency split by stage, from the instants the turn passed them."""

from __future__ import annotations

import pytest

from voicebot.calls.record import stages


@pytest.mark.parametrize(
    ("marks", "first_audio", "expected"),
    [
        # Every stage passed: each one's share, from the one before.
        (
            {"endpoint": 10.2, "transcript": 10.25, "understanding": 10.26},
            10.3,
            {"endpoint": 200, "transcript": 50, "understanding": 10, "first_audio": 40},
        ),
        # A reply to a turn whose transcript never came (a silence): its time counts in
        # the next stage passed.
        ({"endpoint": 10.8}, 11.0, {"endpoint": 800, "first_audio": 200}),
        # The words were the turn before it ended (a complete partial): the transcript
        # came before the endpoint; no stage is negative.
        (
            {"endpoint": 10.2, "transcript": 10.1, "understanding": 10.21},
            10.22,
            {"endpoint": 200, "transcript": 0, "understanding": 10, "first_audio": 10},
        ),
    ],
)
def test_stages_add_up_to_the_latency(
    marks: dict[str, float], first_audio: float, expected: dict[str, float]
) -> None:
    shares = stages(10.0, marks, first_audio)
    assert shares == pytest.approx(expected)
    assert sum(shares.values()) == pytest.approx((first_audio - 10.0) * 1000)
