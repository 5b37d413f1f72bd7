"""How fast a call may send events: token buckets, one per call and kind of event.

A person presses a few keys a second (a burst when typing a number they know);
Asterisk sends a handful of control messages a second (one mark per sentence,
a key, flow control). What comes faster is ignored, not queued: a flood costs
the other calls nothing and leaves no trace in the record but one log line.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DTMF_DIGITS = frozenset("0123456789*#ABCD")
"""What a key can be; anything else a transport passes on is not a key."""
KEYPAD_BURST = 12
"""Keys accepted at once: a phone number typed from memory."""
KEYPAD_PER_S = 4.0
"""Keys accepted per second after a burst: faster than anyone types on a phone."""
CONTROL_BURST = 100
"""Control messages accepted at once on the media socket."""
CONTROL_PER_S = 25.0
"""Control messages per second after a burst; Asterisk sends a few at most."""


class TokenBucket:
    """``burst`` events at once, then ``per_s`` a second; counts what it refuses."""

    def __init__(
        self, burst: int, per_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.per_s = per_s
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()
        self.refused = 0

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.per_s)
        self._updated = now

    def allow(self) -> bool:
        """Take one token if there is one; ``False`` (and counted) when there is none."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.refused += 1
        return False

    def next_in_s(self) -> float:
        """Seconds until a token is there."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self.per_s)

    def set_rate(self, per_s: float) -> None:
        """A new rate from now on; the tokens already taken stay taken."""
        self._refill()
        self.per_s = per_s

    @property
    def first_refusal(self) -> bool:
        """Whether the last refusal was the first: the moment to log it, once."""
        return self.refused == 1


def keypad_bucket() -> TokenBucket:
    return TokenBucket(KEYPAD_BURST, KEYPAD_PER_S)


def control_bucket() -> TokenBucket:
    return TokenBucket(CONTROL_BURST, CONTROL_PER_S)
