"""A class on one server: many sessions at once against a real `streamlit run`, over Streamlit's own protocol.

Sessions mix Inside reruns, Scoreboard scoring at new noise settings, playground slider moves and digit switches,
moves through the latent explorer's plane, a lesson link, two weight uploads at the same moment and a training job.
Every playground and explorer output must be bit-identical to the same request made alone, and each uploader must see
its own weights' scores, never the other's.
"""

from __future__ import annotations

import io
import json
import random
import re
import threading
import time
from collections import Counter

import pyarrow as pa
import pytest

from ae_core import data, evaluate, store
from harness import browser, stclient
from tests.conftest import ROOT, needs_mnist

pytestmark = [pytest.mark.slow, needs_mnist]

SECONDS = 45  # the looping sessions act until every count below is met, or for this long at most
NEEDED = {"slider": 30, "inside": 5, "explorer": 10, "lesson": 5, "scoreboard": 4, "upload": 4}  # actions, at least
IMG = re.compile(r'src="(data:image/png;base64,[^"]+)"')


def table(s: stclient.Session) -> dict[str, dict]:
    """The Scoreboard's first table as {row name: its scores}."""
    df = pa.ipc.open_stream(io.BytesIO(s.of_kind("dataframe")[0].arrow_data.data)).read_all().to_pandas()
    return {r["denoiser"]: r for r in df.to_dict("records")}


def shifted_dense(shift: float):
    """Valid Dense DAE weights that differ from the shipped ones (and from each other) by a decoder bias shift."""
    _, m = store.load_model("dense_dae")
    with __import__("torch").no_grad():
        m.decoder.bias += shift
    blob, sidecar = store.to_bytes("dense_dae", m, {"name": "dense_dae"})
    return m, blob, json.dumps(sidecar).encode()


class Class:
    """What the sessions did and saw, gathered under one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.finished = False  # the trainer's run finished
        self.kinds: Counter = Counter()
        self.failures: list[str] = []
        self.outputs: dict[tuple, set[tuple[str, ...]]] = {}  # playground settings -> output images seen
        self.places: dict[tuple, set[tuple[str, ...]]] = {}  # explorer place (z1, z2) -> decoded digits seen

    def over(self, stop: float) -> bool:
        """The class has done what the test checks (every count met, the run finished), or its time is up."""
        with self.lock:
            met = self.finished and all(self.kinds[k] >= n for k, n in NEEDED.items())
        return met or time.monotonic() >= stop

    def check(self, who: str, kind: str, run: stclient.Run) -> bool:
        """Count the action; False (and a recorded failure) if the page showed an error."""
        with self.lock:
            self.kinds[kind] += 1
            if not run.ok or run.errors:
                self.failures.append(f"{who} {kind}: {run.status} {run.exceptions[:1]} {run.errors[:1]}")
                return False
            return True

    def has(self, who: str, what: str, found: list) -> bool:
        """A page element that every successful run draws is there; a session that stops drawing it fails."""
        if not found:
            with self.lock:
                self.failures.append(f"{who}: no {what} after a successful run")
        return bool(found)


def settings(s: stclient.Session) -> tuple:
    q = dict(p.split("=", 1) for p in s.query.split("&") if "=" in p)
    return q.get("digit"), q.get("noise"), q.get("factor"), q.get("seed")


def playground(url: str, cls: Class, who: str, seed: int, stop: float) -> None:
    rng = random.Random(seed)
    with stclient.Session(url) as s:
        cls.check(who, "open", s.open())
        while not cls.over(stop):
            r = rng.random()
            if r < 0.6:
                run, kind = s.set("pg_factor", round(0.05 * rng.randrange(21), 2)), "slider"
            elif r < 0.8:
                run, kind = s.set("pg_class", rng.randrange(10)), "digit switch"
            else:
                run, kind = s.click("Random digit"), "digit switch"
            if not cls.check(who, kind, run):
                s.open()  # what a student does after an error box: reload
                continue
            row = s.html('class="ae-row"')
            if not cls.has(who, "output row", row):
                continue
            with cls.lock:
                cls.outputs.setdefault(settings(s), set()).add(tuple(IMG.findall(row[0])))
            time.sleep(rng.uniform(0.05, 0.3))


def inside(url: str, cls: Class, who: str, seed: int, stop: float) -> None:
    rng = random.Random(seed)
    with stclient.Session(url) as s:
        cls.check(who, "open", s.open("inside"))
        while not cls.over(stop):
            if rng.random() < 0.5:
                run = s.set("in_fm_noisy", not s.widget("in_fm_noisy").value)
            else:
                run = s.set("in_lm_factor", round(0.05 * rng.randrange(21), 2))
            if not cls.check(who, "inside", run):
                s.open("inside")  # reload after an error box


def explorer(url: str, cls: Class, who: str, seed: int, stop: float) -> None:
    rng = random.Random(seed)
    with stclient.Session(url) as s:
        cls.check(who, "open", s.open("explorer"))
        while not cls.over(stop):
            run = s.set(rng.choice(["ex_z1", "ex_z2"]), round(0.05 * rng.randrange(-40, 41), 2))
            if not cls.check(who, "explorer", run):
                s.open("explorer")
                continue
            row = s.html("ae-ex-row")
            if not cls.has(who, "explorer row", row):
                continue
            place = (s.widget("ex_z1").value[0], s.widget("ex_z2").value[0])
            with cls.lock:
                cls.places.setdefault(place, set()).add(tuple(IMG.findall(row[0])))
            time.sleep(rng.uniform(0.05, 0.3))


LESSON = "source=mnist&factor=0.3&show=basic_ae,conv_dae&baselines=none&hide=factor,models,baselines,retrain"


def lesson(url: str, cls: Class, who: str, seed: int, stop: float) -> None:
    """A student in a lesson link: the hidden factor and models stay as the link set them, whatever they do."""
    rng = random.Random(seed)
    with stclient.Session(url) as s:
        cls.check(who, "open", s.open(query=LESSON))
        while not cls.over(stop):
            run = s.click("Random digit") if rng.random() < 0.5 else s.set("pg_seed", rng.randrange(1000))
            if cls.check(who, "lesson", run):
                text = " ".join(s.texts())
                if "Set for this lesson: Gaussian noise at 0.3" not in text or "pg_factor" in s.keys():  # noqa: SIM118 - a Session, not a dict
                    with cls.lock:
                        cls.failures.append(f"{who}: the lesson lost its set-up")
                row = s.html('class="ae-row"')
                if cls.has(who, "lesson row", row) and ("Dense DAE" in row[0] or len(IMG.findall(row[0])) != 4):
                    with cls.lock:
                        cls.failures.append(f"{who}: the lesson shows other models")
            time.sleep(rng.uniform(0.1, 0.4))


def scoreboard(url: str, cls: Class, who: str, stop: float) -> None:
    with stclient.Session(url) as s:
        cls.check(who, "scoreboard", s.open("scoreboard"))
        for factor in (0.35, 0.65, 0.15, 0.85):  # new noise settings: each one is scored afresh
            cls.check(who, "scoreboard", s.set("sb_factor", str(factor)))
            if cls.over(stop):
                break


def uploader(url: str, cls: Class, who: str, files, barrier: threading.Barrier, seen: dict) -> None:
    blob, sidecar = files
    with stclient.Session(url) as s:
        cls.check(who, "open", s.open("train"))
        barrier.wait(60)  # both upload at the same moment
        run = s.upload(
            "tr_upload",
            [
                ("dense_dae-mine.safetensors", blob, "application/octet-stream"),
                ("dense_dae.json", sidecar, "text/json"),
            ],
        )
        cls.check(who, "upload", run)
        assert any("Loaded upload" in t for t in s.texts()), s.texts()
        cls.check(who, "upload", s.click("Use these weights"))
        cls.check(who, "scoreboard", s.switch_page("scoreboard"))
        seen[who] = table(s)["Dense DAE"]["PSNR (dB)"]


def trainer(url: str, cls: Class, who: str, stop: float, result: dict) -> None:
    with stclient.Session(url) as s:
        cls.check(who, "open", s.open("train"))
        cls.check(who, "train", s.set("rt_model", "Basic AE"))
        cls.check(who, "train", s.click("Start retraining"))
        while time.monotonic() < stop + 60:
            run = s.rerun()
            cls.check(who, "train poll", run)
            if any("finished" in t for t in s.texts()):
                result["finished"] = cls.finished = True
                return
            time.sleep(1)


def test_a_class_on_one_server(tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    for f in (ROOT / "weights").iterdir():
        if f.suffix in (".json", ".safetensors"):
            (weights / f.name).write_bytes(f.read_bytes())
    env = {
        "AE_LAB_WEIGHTS": str(weights),
        "AE_LAB_SWEEP_DIGITS": "200",
        "AE_LAB_ORPHAN_TIMEOUT": "600",  # these clients do not run the sidebar's polling fragment
        "AE_LAB_THREADS": "1",
    }
    (model_a, *files_a), (model_b, *files_b) = shifted_dense(0.4), shifted_dense(-0.6)
    log = tmp_path / "server.log"
    cls, seen, trained = Class(), {}, {}
    with browser.streamlit_server(env=env, log_path=log) as url:
        with stclient.Session(url) as warm:  # the first run loads the data and models for everyone
            assert warm.open().ok
        stop = time.monotonic() + SECONDS
        barrier = threading.Barrier(2)
        jobs = [
            *(threading.Thread(target=playground, args=(url, cls, f"pg{i}", i, stop)) for i in range(3)),
            *(threading.Thread(target=inside, args=(url, cls, f"in{i}", i, stop)) for i in range(2)),
            *(threading.Thread(target=explorer, args=(url, cls, f"ex{i}", i, stop)) for i in range(2)),
            threading.Thread(target=lesson, args=(url, cls, "lesson", 0, stop)),
            threading.Thread(target=scoreboard, args=(url, cls, "sb", stop)),
            threading.Thread(target=uploader, args=(url, cls, "upA", files_a, barrier, seen)),
            threading.Thread(target=uploader, args=(url, cls, "upB", files_b, barrier, seen)),
            threading.Thread(target=trainer, args=(url, cls, "tr", stop, trained)),
        ]
        errors = []

        def guarded(t: threading.Thread):
            def run():
                try:
                    t._target(*t._args)  # noqa: SLF001
                except Exception as e:  # noqa: BLE001 - collected and asserted below
                    errors.append(f"{type(e).__name__}: {e}")

            return threading.Thread(target=run)

        threads = [guarded(t) for t in jobs]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        elapsed = time.monotonic() - t0

    # The same playground requests, made alone on a fresh server (its caches empty: every row is computed again).
    compared = 0
    with browser.streamlit_server(env=env, log_path=tmp_path / "alone.log") as url:
        for (digit, noise, factor, seed), seen_imgs in sorted(cls.outputs.items(), key=str)[:30]:
            with stclient.Session(url) as alone:  # a new visitor opening the shared link
                assert alone.open(query=f"digit={digit}&noise={noise}&factor={factor}&seed={seed}").ok
                solo = tuple(IMG.findall(alone.html('class="ae-row"')[0]))
            assert seen_imgs == {solo}, f"outputs differ for digit {digit}, factor {factor}"
            compared += 1
        places = 0
        with stclient.Session(url) as alone:  # the explorer's places, visited alone
            assert alone.open("explorer").ok
            for (z1, z2), seen_imgs in sorted(cls.places.items())[:15]:
                assert alone.set("ex_z1", z1).ok and alone.set("ex_z2", z2).ok
                solo = tuple(IMG.findall(alone.html("ae-ex-row")[0]))
                assert seen_imgs == {solo}, f"explorer outputs differ at ({z1}, {z2})"
                places += 1

    report = {"sessions": len(jobs), "seconds": round(elapsed, 1), **cls.kinds, "compared": compared, "places": places}
    print(json.dumps(report))
    assert not cls.failures, cls.failures[:5]  # error boxes first: a broken page also breaks the session's script
    assert not errors, errors
    assert all(cls.kinds[k] >= n for k, n in NEEDED.items()) and cls.kinds["upload"] == 4, dict(cls.kinds)
    assert compared >= 10 and places >= 5 and trained.get("finished")
    # Each uploader sees its own weights' scores.
    digits = data.test_digits()
    for who, model in (("upA", model_a), ("upB", model_b)):
        expected = evaluate.evaluate({"dense_dae": model}, "gaussian", 0.5, 0, digits).summary()["dense_dae"]["psnr"]
        assert seen[who] == pytest.approx(expected, abs=1e-3), who
    assert abs(seen["upA"] - seen["upB"]) > 0.1  # the two uploads score apart, so the check above can tell them apart
    text = log.read_text()
    assert "Traceback" not in text and "Error" not in text, text[-3000:]
