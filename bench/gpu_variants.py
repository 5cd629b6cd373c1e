"""The measurement behind the CUDA defaults (README, "Training speed"): each model's training images/s at batch 128
with captured steps, per precision, memory format (Conv DAE) and cuDNN's deterministic mode, and how far two runs
with the same seed drift apart (relative difference of their train losses after one epoch of 10,800 digits).

One JSON line per variant, then the ops that torch names as nondeterministic on CUDA in an eager Conv DAE step.
About a minute on an H200. Usage: python bench/gpu_variants.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from ae_core import data  # noqa: E402
from ae_core import train as train_mod  # noqa: E402
from ae_core.registry import MODELS, build  # noqa: E402


def run(key, digits, prec, channels_last, deterministic, **cfg_changes):
    cfg = MODELS[key].recipe.replace(device="cuda", precision=prec, val_split=0.0, **cfg_changes)
    real = train_mod._channels_last
    train_mod._channels_last = lambda k, d: channels_last and k == "conv_dae"
    try:
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=deterministic, allow_tf32=True):
            return train_mod.train(key, cfg, data=digits)
    finally:
        train_mod._channels_last = real


def nondeterministic_ops() -> list[str]:
    model = build("conv_dae").cuda()
    x = torch.rand(128, 1, 28, 28, device="cuda")
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            train_mod.bce(model(x), x).backward()
    finally:
        torch.use_deterministic_algorithms(False)
    return sorted({str(w.message).split(" does not have")[0] for w in caught})


def main() -> int:
    digits = data.load_mnist(train=True)
    for key in MODELS:
        formats = (False, True) if key == "conv_dae" else (False,)
        for prec in ("fp32", "bf16"):
            for cl in formats:
                for det in (False, True) if key == "conv_dae" else (False,):
                    res = run(key, digits, prec, cl, det, epochs=4, train_size=60_000)
                    rate = statistics.median(e.images_per_s for e in res.history[1:])
                    a, b = (run(key, digits, prec, cl, det, epochs=1, train_size=12_000) for _ in range(2))
                    drift = abs(a.history[0].train_loss - b.history[0].train_loss) / a.history[0].train_loss
                    line = {"model": key, "precision": prec, "channels_last": cl, "cudnn_deterministic": det}
                    line |= {"images_per_s": round(rate), "cuda_graph": res.cuda_graph, "same_seed_rel_diff": drift}
                    print(json.dumps(line), flush=True)
    print(json.dumps({"nondeterministic_ops_conv_dae": nondeterministic_ops()}), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("AE_LAB_OFFLINE", "1")
    sys.exit(main())
