"""Online guessing of the teacher key is hopeless, whatever the browser ids and connections (no Streamlit here).

Three rules, each with its numbers here and quoted by the README's threat model:
- **The key itself** (`key_problem`): at least MIN_KEY_CHARS characters, and at least as hard to guess as that many
  random characters by zxcvbn's estimate (10**MIN_KEY_GUESSES_LOG10 guesses). "password12345678" is refused.
- **Server-wide** (`ServerRate`): every attempt, from any browser, is checked in its turn at most RATE_PER_S a second
  per server process, first come first served. That is at most 360,000 guesses an hour per replica: half of 10**16
  takes over a million years a replica. An attempt that would wait more than MAX_WAIT_S is refused unchecked, so a
  flood cannot pile up threads; the teacher's attempt waits behind at most the attempts already queued
  (under RATE_PER_S x a few seconds of them, unless a flood of many hundred connections is running).
- **Per browser** (`KeyThrottle`, fairness): each browser's wrong attempts make its own next answers slower (1 s,
  growing by 0.05 s per failure, at most 30 s); attempts sent in parallel from one browser wait for their turn. A
  browser with no failures is not delayed by it. Failures are forgotten an hour after the last one; the table is
  bounded. A fresh browser id escapes this one, never the server-wide rate.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

MIN_KEY_CHARS = 16  # the shortest key accepted
MIN_KEY_GUESSES_LOG10 = 16.0  # zxcvbn's estimate must be at least 10**16 guesses: 16 random characters' worth
RATE_PER_S = 100.0  # key checks a second per server process, all browsers together
MAX_WAIT_S = 10.0  # an attempt that would wait longer for its turn is refused unchecked


def key_problem(key: str) -> str | None:
    """Why `key` cannot be the teacher key (for the server log, never shown to visitors), or None when it can."""
    if len(key) < MIN_KEY_CHARS:
        return f"it has {len(key)} characters, fewer than the {MIN_KEY_CHARS} required"
    from zxcvbn import zxcvbn  # only at start-up: 10-30 ms a key

    # zxcvbn refuses more than 72 characters (a ValueError) and is slow on long input: the first 64 decide it.
    guesses = zxcvbn(key[:64])["guesses_log10"]
    if guesses < MIN_KEY_GUESSES_LOG10:
        return f"it is guessable (about 10^{guesses:.0f} guesses; at least 10^{MIN_KEY_GUESSES_LOG10:.0f} required)"
    return None


class ServerBusy(RuntimeError):
    """Too many key attempts are waiting on this server; this one was not checked."""


class ServerRate:
    """First come, first served turns at `rate_per_s` for the whole process; no id or connection gets more."""

    def __init__(
        self, rate_per_s: float = RATE_PER_S, max_wait_s: float = MAX_WAIT_S, clock=time.monotonic, sleep=time.sleep
    ) -> None:
        self.interval, self.max_wait_s = 1.0 / rate_per_s, max_wait_s
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next = 0.0  # the earliest time the next attempt may be checked

    def turn(self) -> None:
        """Wait for this attempt's turn; ServerBusy, at once, when it would wait more than max_wait_s."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            if slot - now > self.max_wait_s:
                raise ServerBusy("too many key attempts are waiting")
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


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
    def __init__(
        self, policy: Policy | None = None, clock=time.monotonic, sleep=time.sleep, server: ServerRate | None = None
    ) -> None:
        self.policy = policy or Policy()
        self._clock, self._sleep = clock, sleep
        self.server = server or ServerRate(clock=clock, sleep=sleep)  # behind every browser's own turn
        self._lock = threading.Lock()
        self._fails: OrderedDict[str, tuple[int, float]] = OrderedDict()  # browser -> (failures, last failure)
        self._next: dict[str, float] = {}  # browser -> earliest time its next attempt is checked

    def failures(self, who: str) -> int:
        with self._lock:
            return self._current(who)

    def attempt(self, who: str, check) -> tuple[bool, int]:
        """Wait for this browser's turn, then for the server's, run check() (True: the key was right) and, when it was
        wrong, answer only after the growing delay. Returns (right?, failures so far); ServerBusy, unchecked, when the
        server's queue of attempts is full."""
        with self._lock:
            now = self._clock()
            turn = max(now, self._next.get(who, now))
            gap = self.policy.delay(self._current(who))
            if gap:
                self._next[who] = turn + gap  # parallel attempts from one browser queue up
        if turn > now:
            self._sleep(turn - now)
        self.server.turn()
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
