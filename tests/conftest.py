import os
import re
import shutil
from pathlib import Path

import pytest

from tests.uistate import st_fake  # noqa: F401 - a fixture for the page logic's plain-function tests

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("AE_LAB_OFFLINE", "1")  # never try a download from the test suite
# One torch thread per process, the app's own default (ui/server.py): `make test` runs two test workers, each with
# its servers, row workers and Chromium, on 2 cores; two threads each only oversubscribed them (the suite part took
# 456 s with 2, 405 s with 1, on this machine).
os.environ.setdefault("AE_LAB_THREADS", "1")
os.environ.setdefault("MNIST_DIR", str(ROOT.parent / "shared" / "mnist"))
# No start-up warm-up in the suite's servers and AppTests: its background work would take CPU from timed browser
# tests and fill the caches that tests count. tests/test_warmup.py turns it on where it is the subject.
os.environ.setdefault("AE_LAB_WARMUP", "0")
# One sweep size for every AppTest and server the suite starts: the in-process AppTests share the server-wide caches,
# so a curve or code space computed once serves every later test (README, "Testing").
os.environ.setdefault("AE_LAB_SWEEP_DIGITS", "200")


def shown(markdown: str) -> str:
    """What a reader sees of escaped plain text (ui/text.plain): escapes resolved, word joiners gone."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def has_full_mnist() -> bool:
    return (Path(os.environ["MNIST_DIR"]) / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()


@pytest.fixture
def full_mnist() -> Path:
    """The full MNIST folder. Missing, it is a failure that says how to get it, never a skip: a suite that passes
    without the dataset would pass without testing what runs on it."""
    root = Path(os.environ["MNIST_DIR"])
    if not has_full_mnist():
        pytest.fail(
            f"The full MNIST is not in MNIST_DIR={root}: this test needs MNIST/raw/*-ubyte there "
            "(`make test` points MNIST_DIR at ../shared/mnist; torchvision.datasets.MNIST(root, download=True) "
            "fetches it where the internet is reachable).",
            pytrace=False,
        )
    return root


needs_mnist = pytest.mark.usefixtures("full_mnist")


def cli_help(main, capsys) -> str:
    """A CLI's --help text (it exits 0), whitespace folded: argparse wraps it to the terminal's width."""
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """One real ae-lab server for the browser tests that can share it (each uses its own browser, so its own
    session and runs). Sweeps use 200 digits, enough for every chart and plane."""
    from harness import browser

    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with browser.streamlit_server(env={"AE_LAB_SWEEP_DIGITS": "200"}, log_path=log) as url:
        yield url


@pytest.fixture
def app_url(app_server):
    """The shared server's URL; the test fails if the server logged an uncaught exception while it ran."""
    from harness import browser

    start = app_server.log.stat().st_size
    yield app_server
    errors = browser.server_errors(app_server, start)
    assert not errors, errors[-3000:]


@pytest.fixture(scope="session")
def sample():
    from ae_core.data import load_sample

    return load_sample()


@pytest.fixture(scope="session")
def shipped_table():
    """The Scoreboard's default table (Gaussian 0.5, seed 0, the median filter) of the shipped weights on the 10,000
    test digits, computed once per test process: the tests that need a fresh evaluation of the shipped weights share
    it (about 8 s each)."""
    from ae_core import results, store
    from ae_core.data import load_mnist
    from ae_core.registry import MODELS

    return results.compute({k: store.load_model(k)[1] for k in MODELS}, load_mnist(train=False))


@pytest.fixture
def poison_loss(monkeypatch):
    """poison_loss(k): the training loss of the k-th batch becomes NaN; returns {"n": losses computed so far}. Adam with BCE-with-logits stays finite for any
    lr the config accepts, so divergence is tested by poisoning the loss directly."""
    import ae_core.train as train_mod

    def at(k: int) -> dict[str, int]:
        calls = {"n": 0}
        real = train_mod.bce

        def poisoned(logits, clean):
            calls["n"] += 1
            loss = real(logits, clean)
            return loss * float("nan") if calls["n"] == k else loss

        monkeypatch.setattr(train_mod, "bce", poisoned)
        return calls

    return at


@pytest.fixture
def weights_copy(tmp_path):
    """A private copy of the shipped weights folder."""
    dst = tmp_path / "weights"
    shutil.copytree(ROOT / "weights", dst, ignore=shutil.ignore_patterns(".save.lock", ".tmp-*"))
    return dst


# Hypothesis: a fixed, derandomised profile by default (CI and `make test`), a random and 10x longer one for `make fuzz`.
from hypothesis import settings as _hyp  # noqa: E402

_hyp.register_profile("ci", derandomize=True, deadline=None, print_blob=True, database=None)
_hyp.register_profile("long", deadline=None, print_blob=True)
_hyp.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# The suite's longest files, longest first, as measured with --durations=0 on 2 cores (setup, call and teardown
# summed; README, "Testing"). `make test` runs files on both cores with --dist loadfile --no-loadscope-reorder: xdist
# hands out files in collection order, so the longest start first and the short ones fill the end on both cores.
# xdist's own order (most tests first) put these last, and one core sat idle through the longest file. A file not
# listed runs after these, in its usual order; a stale list costs time, never a result.
LONGEST_FIRST = (
    "tests/test_browser_a11y.py",  # 155 s
    "tests/test_browser_tutorial.py",  # 63 s
    "tests/reliability/test_multiuser.py",  # 61 s
    "tests/reliability/test_concurrency.py",  # 45 s
    "tests/reliability/test_load_bench.py",  # 40 s
    "tests/test_browser_multiuser.py",  # 39 s
    "tests/test_warmup.py",  # 37 s
    "tests/reliability/test_abuse.py",  # 36 s
    "tests/test_browser_oidc.py",  # 27 s
    "tests/fuzz/test_fuzz_uploads.py",  # 26 s
    "tests/test_scoreboard.py",  # 25 s
    "tests/test_app_widgets.py",  # 25 s
    "tests/reliability/test_deploy.py",  # 24 s
    "tests/test_engine.py",  # 22 s
    "tests/test_browser_security.py",  # 21 s
    "tests/test_browser_explore.py",  # 16 s
    "tests/test_browser_insight.py",  # 15 s
    "tests/test_train.py",  # 12 s
    "tests/test_class_rules.py",  # 11 s
    "tests/test_app_insight.py",  # 10 s
    "tests/test_slider_path.py",  # 10 s
)


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: order within a file kept
