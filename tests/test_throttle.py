"""The teacher key's rules (serve/throttle.py), on a fake clock: the per-browser slow-down, the server-wide rate that
no browser id escapes, and the refusal of guessable keys."""

import threading
import time

import pytest

from serve import throttle as th
from serve.throttle import KeyThrottle, Policy, ServerBusy, ServerRate


class Clock:
    def __init__(self):
        self.t = 1000.0
        self.lock = threading.Lock()

    def __call__(self):
        return self.t

    def sleep(self, s):
        with self.lock:
            self.t += s


def unbounded(c) -> ServerRate:
    """A server-wide rate that never binds: these tests are about one browser's delays."""
    return ServerRate(rate_per_s=1e12, clock=c, sleep=lambda s: None)


def throttle(**kw):
    c = Clock()
    return KeyThrottle(Policy(**kw), clock=c, sleep=c.sleep, server=unbounded(c)), c


def test_the_delay_grows_with_each_failure_and_is_capped():
    p = Policy()
    assert p.delay(0) == 0 and p.delay(1) == 1.0 and p.delay(2) == 1.05 and p.delay(11) == 1.5
    assert p.delay(10_000) == 30.0


def test_thirty_wrong_keys_take_at_least_thirty_seconds_and_the_right_one_elsewhere_is_instant():
    t, c = throttle()
    start = c.t
    for i in range(30):
        assert t.attempt("mallory", lambda: False) == (False, i + 1)
    assert c.t - start >= 30  # 51.75 s of answers
    before = c.t
    assert t.attempt("teacher", lambda: True) == (True, 0)
    assert c.t == before  # another browser waits for nothing


def test_a_right_key_clears_the_browsers_failures():
    t, _ = throttle()
    t.attempt("teacher", lambda: False)
    assert t.failures("teacher") == 1
    assert t.attempt("teacher", lambda: True) == (True, 0)
    assert t.failures("teacher") == 0


def test_failures_are_forgotten_an_hour_after_the_last():
    t, c = throttle()
    t.attempt("x", lambda: False)
    c.t += 3601
    assert t.failures("x") == 0


def test_parallel_attempts_from_one_browser_wait_their_turn():
    t = KeyThrottle(Policy(base_s=0.2, step_s=0.0))
    t.attempt("m", lambda: False)  # one failure: every later attempt of "m" is spaced 0.2 s apart
    checked = []
    threads = [
        threading.Thread(target=t.attempt, args=("m", lambda: checked.append(time.monotonic()) or False))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked.sort()
    gaps = [b - a for a, b in zip(checked, checked[1:], strict=False)]
    assert len(checked) == 4 and min(gaps) >= 0.15, gaps


def test_the_table_is_bounded():
    t, _ = throttle(max_browsers=3)
    for i in range(10):
        t.attempt(f"b{i}", lambda: False)
    assert len(t._fails) == 3 and len(t._next) <= 3 and t.failures("b9") == 1 and t.failures("b0") == 0


class FrozenClock:
    """A clock that only moves when told, and a sleep that records instead of waiting: the exact waits are visible."""

    def __init__(self, t: float = 1000.0):
        self.t, self.slept = t, []

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.slept.append(round(s, 6))


def test_attempts_sent_at_once_queue_behind_each_other():
    """Three wrong attempts from one browser sent at the same moment: the first is answered after 1 s, the second
    waits for its turn (1 s) and is answered after 1.05 s, the third waits 2 s for its turn."""
    c = FrozenClock()
    t = KeyThrottle(Policy(), clock=c, sleep=c.sleep, server=unbounded(c))
    for _ in range(3):
        t.attempt("m", lambda: False)
    assert c.slept == [1.0, 1.0, 1.05, 2.0, 1.1]  # answer, turn, answer, turn, answer
    assert t._next["m"] == 1003.05  # the next turn: after the third, whose turn was at 1002 (+ delay(2))
    t.attempt("m", lambda: True)  # the right key: the browser's tables are emptied
    assert "m" not in t._next and "m" not in t._fails and t.failures("m") == 0


def test_a_short_base_delay_counts_from_the_clock_not_from_zero():
    c = FrozenClock(t=0.0)
    t = KeyThrottle(Policy(base_s=0.1, step_s=0.0), clock=c, sleep=c.sleep, server=unbounded(c))
    t.attempt("m", lambda: False)
    t.attempt("m", lambda: False)
    assert c.slept == [0.1, 0.1, 0.1]  # answer, then a turn 0.1 s after the clock (not 1 s after zero), answer


def test_failures_are_kept_for_exactly_the_forget_time():
    c = FrozenClock()
    t = KeyThrottle(Policy(), clock=c, sleep=c.sleep)
    t.attempt("x", lambda: False)
    c.t += 3600.0
    assert t.failures("x") == 1  # an hour to the second: still remembered
    c.t += 0.001
    assert t.failures("x") == 0 and "x" not in t._fails and "x" not in t._next  # then forgotten, tables and all


def test_the_server_wide_rate_holds_whatever_the_browser_ids():
    """A script that sends each guess from a new browser id escapes the per-browser delays, never the server's turns:
    1,000 guesses from 1,000 fresh ids take at least 1,000 / RATE_PER_S seconds."""
    c = FrozenClock()
    t = KeyThrottle(Policy(), clock=c, sleep=lambda s: None, server=ServerRate(clock=c, sleep=c.sleep))
    checked = 0

    def check():
        nonlocal checked
        checked += 1
        return False

    start = c.t
    for i in range(1000):
        t.attempt(f"fresh-{i}", check)
        c.t = start  # every guess arrives at the same moment: the turns queue
    assert checked == 1000
    assert sum(c.slept) == pytest.approx(sum(i / th.RATE_PER_S for i in range(1000)))  # the i-th waits i turns
    assert 3600 * th.RATE_PER_S <= 360_000  # the README's guesses an hour per replica


def test_a_full_queue_of_attempts_is_refused_unchecked_and_the_next_turn_comes():
    c = FrozenClock()
    rate = ServerRate(rate_per_s=4, max_wait_s=1.0, clock=c, sleep=c.sleep)
    t = KeyThrottle(Policy(), clock=c, sleep=lambda s: None, server=rate)
    for i in range(5):  # turns at +0, +0.25 ... +1.0 s: all within the 1 s wait
        t.attempt(f"id-{i}", lambda: False)
    with pytest.raises(ServerBusy, match="^too many key attempts are waiting$"):
        t.attempt("teacher", lambda: pytest.fail("checked while the queue was full"))
    c.t += 2.0  # the queue has drained: the teacher's next attempt is checked
    assert t.attempt("teacher", lambda: True) == (True, 0)


@pytest.mark.parametrize(
    ("key", "refused"),
    [
        ("fifteen-chars!!", True),  # short
        ("password12345678", True),  # 16 characters, guessable
        ("qwertyuiopasdfgh", True),  # a keyboard row
        ("aaaaaaaaaaaaaaaaaaaaaaaa", True),  # a repeat
        ("mathclass2026spring", True),  # words and a year
        ("correct-horse-battery-staple-42", False),  # four words and a number: about 10^24 guesses
        ("Zo3Vusc-cyIh_zm3ju0yUTKEMA6gctgX", False),  # secrets.token_urlsafe(24), the README's way
    ],
)
def test_guessable_keys_are_refused_not_only_short_ones(key, refused):
    assert (th.key_problem(key) is not None) is refused


@pytest.mark.parametrize("n", [72, 73, 100, 5000])
def test_a_long_random_key_is_accepted_not_an_error(n):
    # zxcvbn raises on more than 72 characters; secrets.token_urlsafe(60) makes 80.
    key = ("Zo3Vusc-cyIh_zm3ju0yUTKEMA6gctgX" * 200)[:n]
    assert th.key_problem(key) is None
    assert th.key_problem("a" * n) is not None  # a long repeat is still guessable


def test_a_first_attempt_at_time_zero_waits_for_nothing():
    c = FrozenClock(0.0)  # a monotonic clock may read 0 (or less) on a fresh machine
    rate = ServerRate(clock=c, sleep=c.sleep)
    rate.turn()
    assert c.slept == []  # no wait, not even a zero one
    rate.turn()
    assert c.slept == [1 / th.RATE_PER_S]


def test_the_throttles_own_server_rate_uses_its_clock_and_sleep():
    c = FrozenClock()
    t = KeyThrottle(Policy(), clock=c, sleep=c.sleep)  # no server given: it makes its own, on the same clock
    for i in range(3):
        t.attempt(f"fresh-{i}", lambda: True)  # right answers: only the server's turns wait
    assert c.slept == [0.01, 0.02]
