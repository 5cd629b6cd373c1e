"""The sidebar's time estimate against the real job: for each model's Quick preset, the estimate the sidebar shows
(ae_core.train.estimate_seconds from this machine's measured rates) and the wall time of that very job from submit
to finish (training on the real 60k set, validation, scoring the test set). Prints one JSON line per model with
their ratio; the target is within 2x either way (README, "Train"). A timing, so it lives here and not in the tests.
Usage: python bench/estimate.py [--models dense_dae conv_dae]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ae_core.data import load_mnist, test_digits  # noqa: E402
from ae_core.device import configure_threads  # noqa: E402
from ae_core.train import estimate_seconds, measure_rate, measure_scoring_rate  # noqa: E402
from serve.jobs import JobManager  # noqa: E402
from ui.jobs import preset_config  # noqa: E402


def once(key: str) -> dict:
    cfg = preset_config(key, "quick")
    n_test = len(test_digits())
    estimate = estimate_seconds(cfg, measure_rate(key, cfg), n_test, measure_scoring_rate(key))
    manager = JobManager()
    load_mnist(True), load_mnist(False)  # warm: both sets read and cached, as on a server that has served a page
    t0 = time.perf_counter()
    job = manager.wait(manager.submit(key, cfg, owner="bench").id)
    measured = time.perf_counter() - t0
    if job.state != "done":
        raise SystemExit(f"{key}: the job ended {job.state}")
    ratio = estimate / measured
    return {"model": key, "estimate_s": round(estimate, 1), "measured_s": round(measured, 1),
            "ratio": round(ratio, 2), "within_2x": 0.5 <= ratio <= 2.0}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["dense_dae", "conv_dae"])
    args = ap.parse_args()
    configure_threads()
    for key in args.models:
        print(json.dumps(once(key)), flush=True)


if __name__ == "__main__":
    main()
