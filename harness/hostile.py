"""A hostile class against one real server, at the protocol level (issue 27's soak; tests/ and bench/ share it).

Attackers use a fresh browser id for every request: canvas bombs, uploads at the size limit, weights uploads with new
content, Scoreboard settings nobody asked for, teacher-key guesses, run spam and streams of new noise seeds. Meanwhile honest students (each their
own browser, with the class code) move the playground's noise slider, a few of them train Quick runs, and the teacher
unlocks once the attack is under way. A sampler reads the resident memory of the server and its children throughout.
Every refusal must be a message: an error box (an uncaught exception) anywhere is counted as a failure.
"""

from __future__ import annotations

import base64
import io
import json
import random
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from harness import browser, procs, stclient

FACTORS = [round(0.05 * i, 2) for i in range(1, 21)]


def _cookie() -> dict[str, str]:
    return {"ae_lab_browser": secrets.token_urlsafe(24)}  # what the page's cookie holds: a fresh id costs nothing


def bomb_state(side: int = 13_000) -> dict:
    """The canvas's state with a mostly black side x side PNG (a small message that would decode to side² x 4 bytes)."""
    b = io.BytesIO()
    Image.new("L", (side, side)).save(b, "PNG")
    return {
        "drawing": {"raw": {"objects": []}, "data": "data:image/png;base64," + base64.b64encode(b.getvalue()).decode()}
    }


def big_png(side: int = 4096) -> bytes:
    """An upload at the pixel limit: a 4096 x 4096 digit-like image (a few hundred KB)."""
    a = np.zeros((side, side), np.uint8)
    a[side // 5 : -side // 5, side // 2 - side // 20 : side // 2 + side // 20] = 255
    b = io.BytesIO()
    Image.fromarray(a).save(b, "PNG")
    return b.getvalue()


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    moves: list[float] = field(default_factory=list)  # honest slider moves, seconds each
    actions: dict[str, int] = field(default_factory=dict)  # attacker actions done, by kind
    error_boxes: list[str] = field(default_factory=list)  # uncaught exceptions seen anywhere (must stay empty)
    failures: list[str] = field(default_factory=list)  # anything else that went wrong for an honest user
    rss_mb: list[float] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)  # trainer -> what became of its run
    teacher_s: float | None = None
    key_found: bool = False

    def add(self, kind: str, run: stclient.Run) -> None:
        with self.lock:
            self.actions[kind] = self.actions.get(kind, 0) + 1
            self.error_boxes += [f"{kind}: {e}" for e in run.exceptions]


class Soak:
    """`seconds` of it, or less once `enough(tally)` holds (every count a test checks is met: the class has been under
    attack for as long as its checks need)."""

    def __init__(self, url: str, key: str, class_code: str, rss_mb, seconds: float, honest: int, trainers: int,
                 attackers: int, enough=None) -> None:  # fmt: skip
        self.url, self.key, self.code, self.rss_mb = url, key, class_code, rss_mb
        self.seconds, self.honest, self.trainers, self.attackers = seconds, honest, trainers, attackers
        self.enough = enough or (lambda tally: False)
        self.t = Tally()
        self.stop = threading.Event()
        self._bomb, self._big = bomb_state(), big_png()

    # --- honest users -------------------------------------------------------------------------------------------
    def _enter_code(self, s: stclient.Session) -> None:
        s.widget("class_typed").value = self.code
        run = s.click("Enter")
        self.t.add("class code", run)

    def student(self, i: int) -> None:
        rng = random.Random(i)
        try:
            with stclient.Session(self.url, cookies=_cookie()) as s:
                s.open("")
                while not self.stop.is_set():
                    run = s.set("pg_factor", rng.choice(FACTORS))
                    with self.t.lock:
                        self.t.moves.append(run.seconds)
                        self.t.error_boxes += run.exceptions
                        if not run.ok:
                            self.t.failures.append(f"student {i}: {stclient.describe(run)}")
                    self.stop.wait(rng.uniform(0.5, 1.5))  # a student moves the slider every second or so
        except stclient.ProtocolError as e:
            self.t.failures.append(f"student {i}: {e}")

    def trainer(self, i: int) -> None:
        name = f"trainer {i}"
        try:
            with stclient.Session(self.url, cookies=_cookie()) as s:
                s.open("")
                self._enter_code(s)
                s.set("rt_model", ["Basic AE", "Dense DAE", "Basic AE"][i % 3])
                s.set("rt_preset", "Quick (1 epoch, 10k images)")
                run = s.click("Start retraining")
                if run.errors:
                    self.t.runs[name] = "refused: " + " ".join(run.errors)
                    return
                self.t.runs[name] = "started"
                deadline = time.monotonic() + self.seconds + 240
                while time.monotonic() < deadline:
                    run = s.rerun()
                    self.t.error_boxes += run.exceptions
                    texts = " ".join(s.texts())
                    if "free memory for the class" in texts:
                        self.t.runs[name] = "evicted"
                        return
                    if "finished" in texts:
                        self.t.runs[name] = "finished"
                        return
                    time.sleep(2.0)
                self.t.runs[name] = "still running"
        except stclient.ProtocolError as e:
            self.t.runs[name] = f"protocol error: {e}"

    def teacher(self) -> None:
        t0 = time.monotonic()  # once the attack is under way: a dozen attacks done, or half the soak
        while (
            sum(self.t.actions.values()) < 12 and not self.stop.wait(0.5) and time.monotonic() - t0 < self.seconds / 2
        ):
            pass
        try:
            with stclient.Session(self.url, cookies=_cookie()) as s:
                s.open("train")
                s.widget("teacher_typed").value = self.key
                t0 = time.monotonic()
                run = s.click("Unlock")
                while "Leave teacher mode" not in s.buttons and time.monotonic() - t0 < 60:
                    if any("Many key attempts" in w for w in s.texts()):  # the queue was full: try again
                        s.widget("teacher_typed").value = self.key
                        run = s.click("Unlock")
                    else:
                        run = s.rerun()
                self.t.error_boxes += run.exceptions
                if "Leave teacher mode" in s.buttons:
                    self.t.teacher_s = time.monotonic() - t0
        except stclient.ProtocolError as e:
            self.t.failures.append(f"teacher: {e}")

    # --- attackers ----------------------------------------------------------------------------------------------
    def attacker(self, i: int) -> None:
        rng = random.Random(1000 + i)
        kinds = [
            self.canvas_bomb,
            self.big_upload,
            self.weights_upload,
            self.new_scoreboard,
            self.guess,
            self.run_spam,
            self.seed_stream,
        ]
        while not self.stop.is_set():
            act = kinds[rng.randrange(len(kinds))]
            try:
                with stclient.Session(self.url, cookies=_cookie(), timeout=60) as s:
                    act(s, rng)
            except (stclient.ProtocolError, KeyError) as e:
                with self.t.lock:
                    self.t.actions["dropped"] = self.t.actions.get("dropped", 0) + 1
                    self.t.failures.append(f"attacker {act.__name__}: {type(e).__name__}: {e}"[:300])

    def canvas_bomb(self, s: stclient.Session, rng) -> None:
        s.open("")
        s.set("pg_source", "Draw")
        self.t.add("canvas bomb", s.set_component("canvas-0", self._bomb))

    def big_upload(self, s: stclient.Session, rng) -> None:
        s.open("")
        s.set("pg_source", "Upload")
        self.t.add("4096-pixel upload", s.upload("pg_upload", [("big.png", self._big, "image/png")]))

    def weights_upload(self, s: stclient.Session, rng) -> None:
        s.open("train")
        sidecar = {"model_key": "dense_dae", "tensor_file": "x.safetensors", "sha256": secrets.token_hex(32)}
        files = [("x.safetensors", secrets.token_bytes(200_000), "application/octet-stream"),
                 ("x.json", json.dumps(sidecar).encode(), "application/json")]  # fmt: skip
        self.t.add("weights upload", s.upload("tr_upload", files))

    def new_scoreboard(self, s: stclient.Session, rng) -> None:
        s.open("scoreboard")
        self.t.add("new Scoreboard setting", s.set("sb_factor", str(rng.choice(FACTORS))))

    def guess(self, s: stclient.Session, rng) -> None:
        s.open("train")
        s.widget("teacher_typed").value = secrets.token_urlsafe(rng.randint(12, 40))
        run = s.click("Unlock")
        if "Leave teacher mode" in s.buttons:
            self.t.key_found = True
        self.t.add("key guess", run)

    def seed_stream(self, s: stclient.Session, rng) -> None:
        """New noise seeds nobody asked for: each one a playground row computed afresh."""
        s.open("")
        for _ in range(10):
            self.t.add("new seed", s.set("pg_seed", rng.randrange(2**31 - 1)))

    def run_spam(self, s: stclient.Session, rng) -> None:
        s.open("")
        s.set("rt_preset", "Tutorial recipe (all 60k images)")
        self.t.add("run spam", s.click("Start retraining"))

    # --- the whole soak -----------------------------------------------------------------------------------------
    def sample(self) -> None:
        while not self.stop.is_set():
            self.t.rss_mb.append(self.rss_mb())
            self.stop.wait(0.5)

    def run(self) -> Tally:
        threads = [threading.Thread(target=self.sample)]
        threads += [threading.Thread(target=self.student, args=(i,)) for i in range(self.honest)]
        threads += [threading.Thread(target=self.trainer, args=(i,)) for i in range(self.trainers)]
        threads += [threading.Thread(target=self.attacker, args=(i,)) for i in range(self.attackers)]
        threads.append(threading.Thread(target=self.teacher))
        for t in threads:
            t.start()
            time.sleep(0.05)  # a class arrives over a few seconds, not in one instant
        deadline = time.monotonic() + self.seconds
        while not self.stop.wait(0.5) and time.monotonic() < deadline:
            with self.t.lock:
                if self.enough(self.t):
                    break
        self.stop.set()
        for t in threads:
            t.join(300)
        return self.t


def summary(t: Tally, ceiling_mb: float) -> dict:
    moves = sorted(t.moves)
    pct = lambda q: round(moves[min(len(moves) - 1, int(q * len(moves)))] * 1000) if moves else None  # noqa: E731
    return {
        "ceiling_mb": ceiling_mb,
        "max_rss_mb": round(max(t.rss_mb), 1) if t.rss_mb else None,
        "slider_moves": len(moves),
        "slider_p50_ms": pct(0.5),
        "slider_p95_ms": pct(0.95),
        "attacker_actions": t.actions,
        "runs": t.runs,
        "teacher_unlock_s": None if t.teacher_s is None else round(t.teacher_s, 2),
        "key_found": t.key_found,
        "error_boxes": len(t.error_boxes),
        "failures": t.failures[:10],
    }


KEY = "the-teacher-" + secrets.token_urlsafe(24)
CODE = "class-" + secrets.token_urlsafe(9)


def soak(seconds: float, honest: int, trainers: int, attackers: int, ceiling_mb: float, log: Path, enough=None) -> dict:
    """A real server in classroom mode with a teacher key, a class code and this memory ceiling, under the Soak (for
    `seconds`, or until `enough(tally)`); "seconds" in the result is how long it ran."""
    env = {
        "AE_LAB_CLASSROOM": "1",
        "AE_LAB_TEACHER_KEY": KEY,
        "AE_LAB_CLASS_CODE": CODE,
        "AE_LAB_MEMORY_MB": str(ceiling_mb),
        "AE_LAB_THREADS": "1",
        "AE_LAB_WARMUP": "1",  # as shipped: the warm-up child's memory counts too
    }
    with browser.streamlit_server(env=env, log_path=log) as url:
        from serve.budget import tree_rss_bytes

        pid = procs.server_pids([int(url.rsplit(":", 1)[1])])[0]
        run = Soak(url, KEY, CODE, lambda: tree_rss_bytes(pid) / 2**20, seconds, honest, trainers, attackers, enough)
        t0 = time.monotonic()
        tally = run.run()
        seconds = round(time.monotonic() - t0, 1)
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as r:
            alive = r.status == 200
        out = summary(tally, ceiling_mb) | {"server_alive": alive, "seconds": seconds}
        out["server_log_tracebacks"] = log.read_text().count("Traceback")
        return out
