"""Slows online guessing of the teacher key, per browser, without ever slowing anyone else (no Streamlit here).

Each browser's wrong attempts make its own next answers slower: the n-th wrong attempt is answered after
`delay(n)` seconds (1 s, growing by 0.05 s per failure, at most 30 s), and attempts sent in parallel from one browser
wait for their turn. A browser with no failures is never delayed, so a student can slow only their own browser and
can never lock the teacher out. Failures are forgotten an hour after the last one. The table is bounded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    base_s: float = 1.0  # the answer to a first wrong attempt
    step_s: float = 0.05  # added per earlier failure: 30 wrong attempts take about 52 s in all
    cap_s: float = 30.0  # the slowest answer: about 120 guesses an hour per browser
    forget_s: float = 3600.0  # failures older than this (since the last one) are forgotten
    max_browsers: int = 10_000  # browsers remembered; the idlest go first

    def delay(self, failures: int) -> float:
        """Seconds before answering, for a browser with this many failures so far (0: at once)."""
        return 0.0 if failures <= 0 else min(self.cap_s, self.base_s + self.step_s * (failures - 1))


class KeyThrottle:
    def __init__(self, policy: Policy | None = None, clock=time.monotonic, sleep=time.sleep) -> None:
        self.policy = policy or Policy()
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._fails: OrderedDict[str, tuple[int, float]] = OrderedDict()  # browser -> (failures, last failure)
        self._next: dict[str, float] = {}  # browser -> earliest time its next attempt is checked

    def failures(self, who: str) -> int:
        with self._lock:
            return self._current(who)

    def attempt(self, who: str, check) -> tuple[bool, int]:
        """Wait for this browser's turn, run check() (True: the key was right) and, when it was wrong, answer only
        after the growing delay. Returns (right?, failures so far)."""
        with self._lock:
            now = self._clock()
            turn = max(now, self._next.get(who, now))
            gap = self.policy.delay(self._current(who))
            if gap:
                self._next[who] = turn + gap  # parallel attempts from one browser queue up
        if turn > now:
            self._sleep(turn - now)
        if check():
            with self._lock:
                self._fails.pop(who, None)
                self._next.pop(who, None)
            return True, 0
        with self._lock:
            n = self._current(who) + 1
            self._fails[who] = (n, self._clock())
            self._fails.move_to_end(who)
            wait = self.policy.delay(n)
            self._next[who] = max(self._next.get(who, 0.0), self._clock() + wait)
            while len(self._fails) > self.policy.max_browsers:
                old, _ = self._fails.popitem(last=False)
                self._next.pop(old, None)
        self._sleep(wait)
        return False, n

    def _current(self, who: str) -> int:  # with the lock held
        n, last = self._fails.get(who, (0, 0.0))
        if n and self._clock() - last > self.policy.forget_s:
            self._fails.pop(who, None)
            self._next.pop(who, None)
            return 0
        return n
