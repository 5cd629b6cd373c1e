"""Server-wide state: one copy per process, shared by every session and every tab.

Rules for everything in this module:
- immutable after loading (test set, models, classifier) or guarded by its own lock (the job manager, the cache);
- keyed by content (the sha256 of weights, the data's source, the settings), never by a session id or by id();
- nothing here changes process-wide settings (threads, sockets, module patches) from a request.
Per-browser and per-session state lives in ui/session.py.
"""

from __future__ import annotations

import logging
import os
import threading

import streamlit as st

# One torch thread per request: single-digit inference gains nothing from more, and several sessions and training
# jobs share the cores. Bulk scoring splits its batch across worker threads instead (ae_core.parallel). This runs once,
# when the module is first imported, before any session is served. Set AE_LAB_THREADS to override.
os.environ.setdefault("AE_LAB_THREADS", "1")

from ae_core import classifier, data, store  # noqa: E402
from ae_core.device import configure_cuda, configure_threads  # noqa: E402
from ae_core.messages import Message, of  # noqa: E402
from ae_core.registry import MODELS  # noqa: E402
from serve.budget import HEAVY_COST_MB, LIGHT_COST_MB, Budget, Busy, share_mb  # noqa: E402
from serve.cache import ComputeCache  # noqa: E402
from serve.jobs import JobManager  # noqa: E402
from serve.quota import Limits  # noqa: E402
from serve.rowworker import RowWorker  # noqa: E402

configure_threads()
configure_cuda()  # the same seed, the same run on a GPU (a start-up setting, like the threads)
log = logging.getLogger("ae_lab.server")


def _asked_mb(name: str) -> float | None:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else None


@st.cache_resource(show_spinner=False)
def budget() -> Budget:
    """This replica's memory ceiling and the admission of costly work under it (serve/budget.py)."""
    b = Budget()
    log.info("Memory ceiling %d MB; costly work is admitted below %d MB.", b.ceiling >> 20, b.limit >> 20)
    return b


def admit(cost_mb: float, heavy: bool = False):
    """budget().admit for a step of about cost_mb; serve.budget.Busy (a JobRefused) when it does not fit."""
    return budget().admit(int(cost_mb * 2**20), heavy)


def busy_stop(e: Busy) -> None:
    """Tell this visitor the server is busy and end this run here; what they hold stays."""
    from ui.i18n import tr

    log.warning("Refused a costly step: %s.", e.why)
    st.warning(tr(e))
    st.stop()


# One playground comparison at a time in this process. A comparison is ~100 small torch and scipy calls, each of
# which lets go of the GIL; several side by side only hand it back and forth at every call, which cost about 20% more
# server CPU per new row at 8 concurrent sessions (bench/capacity.py --cpu --fresh). Streamlit's own work for other
# sessions still runs while one comparison computes. The Scoreboard's and explorer's bulk jobs are not behind it.
_compare_lock = threading.Lock()


def one_at_a_time(compute):
    """compute() with no other playground comparison running in this process."""
    with _compare_lock:
        return compute()


@st.cache_resource(show_spinner=False)
def row_worker() -> RowWorker | None:
    """The child process that computes playground rows with the saved weights (serve/rowworker.py), started with the
    first page; None when AE_LAB_ROW_WORKER=0."""
    if os.environ.get("AE_LAB_ROW_WORKER", "1").strip().lower() in ("0", "false", "no", "off") or os.name == "nt":
        return None  # off, or Windows, whose pipes select() cannot wait on
    try:
        return RowWorker()
    except OSError as e:  # no child process here: every row is computed in the server, as before
        log.warning("No row worker (%s); rows are computed in the server.", e)
        return None


@st.cache_resource(show_spinner=False)
def test_set() -> data.Digits:
    """The full MNIST test set when available, else the bundled sample; read-only."""
    return data.test_digits()


@st.cache_resource(show_spinner=False, max_entries=32)
def _load(key: str, sha: str, directory: str) -> tuple[dict, object]:
    # Keyed by the sidecar's sha256, so a new default save is picked up and an unchanged one is never reloaded.
    return store.load_model(key, store.Path(directory))


def default_models() -> tuple[dict, dict[str, str]]:
    """({key: (sidecar, model)} for the saved default weights, {key: error message} for any that failed)."""
    ok, errors = {}, {}
    for key in MODELS:
        try:
            sidecar = store.read_sidecar(key, store.WEIGHTS_DIR)
            if sidecar is None:
                errors[key] = Message(
                    "No weights for {model} in weights/. Train them with `make weights`.",
                    model=Message(MODELS[key].name),
                )
                continue
            ok[key] = _load(key, sidecar["sha256"], str(store.WEIGHTS_DIR))
        except store.WeightsError as e:
            errors[key] = Message(
                "{model}: the saved weights were refused ({reason})", model=Message(MODELS[key].name), reason=of(e)
            )
    return ok, errors


def sidecar_of(key: str) -> dict | None:
    loaded, _ = default_models()
    return loaded[key][0] if key in loaded else None


@st.cache_resource(show_spinner=False)
def digit_classifier():
    """The shipped digit classifier as (sidecar, model), or None if its weights are missing or refused."""
    try:
        return store.load(classifier.KEY, store.WEIGHTS_DIR, expect_key=classifier.KEY)
    except store.WeightsError:
        return None


@st.cache_resource(show_spinner=False)
def test_set_sha() -> str:
    """The sha256 of the test digits' pixels and labels: what the shipped results were computed on."""
    from ae_core import results

    return results.digits_sha(test_set())


@st.cache_resource(show_spinner=False)
def _shipped_results(directory: str):
    from ae_core import results

    return results.load(store.Path(directory), test_set())


def shipped_table(models: dict, shas: dict, ntype: str, factor: float, base, digits: data.Digits):
    """The Scoreboard table saved with the shipped weights (weights/results.safetensors: ae_core/results.py) when
    these are exactly those weights, the full test set and those settings; else None (the page computes it)."""
    from ae_core import results

    if digits is not test_set() or not digits.full:
        return None
    settings = results.Settings(ntype, float(factor), 0, tuple(base))
    saved = _shipped_results(str(store.WEIGHTS_DIR))
    return results.lookup(saved, dict(weights_key(models, shas)), test_set_sha(), settings)


@st.cache_resource(show_spinner=False)
def code_sizes():
    """The Tutorial's Basic AEs with codes of 2-128 units (ae_core/codesize.py), or None when their file is missing."""
    from ae_core import codesize

    return codesize.load(store.WEIGHTS_DIR)


def curve_precision() -> str:
    """How the Scoreboard's curves run the networks: bf16 where this server's CPU does it natively (3x faster)."""
    import torch

    from ae_core import precision

    return precision.resolve("auto", torch.device("cpu"))


def sweep_size() -> int:
    """Digits for the curves, the noise matrix and the code spaces (AE_LAB_SWEEP_DIGITS, default 1,000). Read on each
    call, not at import, so a setting made after the first import (a test, a restart with new settings) holds."""
    return int(os.environ.get("AE_LAB_SWEEP_DIGITS", 1000))


def subset() -> data.Digits:
    """A fixed, seeded subset of the test set for sweeps (the same digits for everyone at one size)."""
    return _subset(sweep_size())


@st.cache_resource(show_spinner=False, max_entries=4)
def _subset(n: int) -> data.Digits:
    import torch

    d = test_set()
    if len(d) <= n:
        return d
    g = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(d), generator=g)[:n].sort().values
    return data.Digits(
        d.images[idx], d.labels[idx], Message("{n:,} digits of the {source}", n=n, source=d.source), full=False
    )


@st.cache_resource(show_spinner=False)
def _class_indices(source: str, n: int) -> tuple[tuple[int, ...], ...]:
    d = test_set()
    return tuple(tuple(d.labels.eq(c).nonzero().flatten().tolist()) for c in range(10))


def class_indices(digits: data.Digits) -> tuple[tuple[int, ...], ...]:
    """Test-set indices of each class 0-9 (tuples: shared, so never mutable)."""
    return _class_indices(digits.source, len(digits))


def position_in_class(digits: data.Digits, index: int) -> int:
    return class_indices(digits)[int(digits.labels[index])].index(index)


@st.cache_resource(show_spinner=False)
def manager() -> JobManager:
    """The one job registry of this process; it guards itself."""
    return JobManager(
        max_running=int(os.environ.get("AE_LAB_MAX_JOBS", 2)),
        max_queued=int(os.environ.get("AE_LAB_MAX_QUEUED", 4)),
        orphan_timeout=float(os.environ.get("AE_LAB_ORPHAN_TIMEOUT", 60)),
        keep_finished=int(os.environ.get("AE_LAB_KEEP_RUNS", 20)),
        owner_ttl=float(os.environ.get("AE_LAB_RUN_TTL", 6 * 3600)),
        limits=limits_from_env(),
    )


def limits_from_env() -> Limits:
    """Per-browser caps and the server-wide bound on held runs (README, "Serving a class")."""
    cap = int(os.environ.get("AE_LAB_STUDENT_MAX_IMAGES", 2_000_000))  # every Tutorial-recipe preset fits
    return Limits(
        running_per_owner=int(os.environ.get("AE_LAB_RUNS_PER_BROWSER", 1)),
        queued_per_owner=int(os.environ.get("AE_LAB_QUEUED_PER_BROWSER", 2)),
        max_run_images=cap if cap > 0 else None,
        held_bytes=int(share_mb("runs", budget().ceiling, _asked_mb("AE_LAB_RUNS_MB")) * 2**20),
    )


@st.cache_resource(show_spinner=False)
def results() -> ComputeCache:
    """Scoreboard and Inside results, shared by everyone: one lock per key, so different work never waits."""
    return ComputeCache(int(share_mb("results", budget().ceiling, _asked_mb("AE_LAB_CACHE_MB")) * 2**20))


@st.cache_resource(show_spinner=False)
def rows() -> ComputeCache:
    """The playground's comparisons and output rows, shared by everyone who asks for the same content."""
    return ComputeCache(int(share_mb("rows", budget().ceiling, _asked_mb("AE_LAB_ROW_CACHE_MB")) * 2**20))


def cached(key: tuple, compute, label: str, heavy: bool = True):
    """compute(progress) once per key for the whole server, with a progress bar while this session waits for it.
    `heavy`: a test-set computation, which takes one of the process's few turns (serve/budget.py); a sweep over the
    sweep digits (server.subset) is light and asks the memory budget only."""
    cache = results()
    found, value = cache.peek(key)
    if found:
        return value
    from ui import classroom
    from ui.i18n import _

    if not classroom.may_spend():  # a new computation is costly work: with a class code, only the class starts it
        st.info(_(classroom.NEEDS_CODE))
        st.stop()
    bar = st.progress(0.0, text=label)

    def admitted():  # a new test-set computation: a bounded number at once, under the memory budget
        with admit(HEAVY_COST_MB if heavy else LIGHT_COST_MB, heavy=heavy):
            return compute(lambda frac, text=label: bar.progress(min(max(frac, 0.0), 1.0), text=text))

    try:
        value = cache.get(key, admitted)
    except Busy as e:
        bar.empty()
        busy_stop(e)
    bar.empty()
    return value


def weights_key(models: dict, shas: dict[str, str | None]) -> tuple:
    """What the models are, by content: ((key, sha256 of the weights), ...). Two sessions with the same weights share
    results; two uploads of different weights never do, whatever they are called. shas comes with the models
    (session.active_models); weights without one are hashed here."""
    return tuple((k, weights_sha(k, m, shas.get(k))) for k, m in models.items())


def weights_sha(key: str, model, sha: str | None) -> str:
    """The sha256 that came with the weights, or (rarely: a run caught before it recorded one) hashed now."""
    return sha or store.content_sha(key, model)


def dataset_note() -> str:
    """Why only the bundled sample is in use, and how to provide the full dataset."""
    found, msg = data.dataset_status()
    if found:  # files added while the server runs; the shared caches still hold the sample
        return Message("MNIST is on disk now, but ae-lab started without it: restart the app to use the full test set.")
    return msg
