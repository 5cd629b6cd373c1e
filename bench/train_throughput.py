"""Training images/s of ae-lab's engine against a tutorial-style loop, measured in one run on this machine.

Tutorial style: torchvision MNIST with a ToTensor transform, DataLoader(batch_size=128, shuffle=True), the same model,
Adam, Gaussian noise and BCE. Prints one JSON line per model: ours in fp32 and with precision "auto" (bf16 where the
CPU runs it natively), each as a ratio to the tutorial loop, and for conv_dae the achieved GFLOP/s next to a large
fp32 matmul's.
Usage: python bench/train_throughput.py [--images N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from ae_core import data, precision  # noqa: E402
from ae_core.device import configure_threads  # noqa: E402
from ae_core.registry import MODELS, build  # noqa: E402
from ae_core.train import bce, train  # noqa: E402

# (fp32, auto) ratio targets on a 2-core CPU with AVX512-BF16 (issue 12); None = no target.
TARGETS = {"basic_ae": (4.0, None), "dense_dae": (5.0, None), "conv_dae": (1.8, 3.0)}


def tutorial_loop(key: str, n_images: int, device: str = "cpu") -> float:
    """The way the tutorial (and most PyTorch ports of it) feed data: per-sample PIL -> ToTensor, each batch copied
    to the device."""
    from torchvision import datasets, transforms

    root = next(r for r in data._candidate_roots() if data._has_raw(r, True))
    ds = datasets.MNIST(str(root), train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(ds, batch_size=128, shuffle=True)
    model = build(key).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    factor = MODELS[key].recipe.noise_factor
    seen, t0 = 0, None
    for i, (x, _) in enumerate(loader):
        x = x.to(device)
        if i == 2:
            _sync(device)  # the warm-up batches finished
            t0, seen = time.perf_counter(), 0  # skip warm-up batches
        noisy = (x + factor * torch.randn_like(x)).clamp(0, 1)
        loss = bce(model(noisy), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(x)
        if t0 is not None and seen >= n_images:
            break
    _sync(device)
    return seen / (time.perf_counter() - t0)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def ours(key: str, n_images: int, prec: str) -> float:
    # Two epochs, timing the second: steady state, as the tutorial loop skips its warm-up batches.
    cfg = MODELS[key].recipe.replace(epochs=2, train_size=n_images, val_split=0.0, device="cpu", precision=prec)
    res = train(key, cfg, data=data.load_mnist(train=True))
    return res.history[-1].images_per_s


def conv_gflops_per_image() -> float:
    model, x = build("conv_dae"), torch.rand(128, 1, 28, 28)
    with FlopCounterMode(display=False) as fc:
        bce(model(x), x).backward()
    return fc.get_total_flops() / 128 / 1e9


def matmul_gflops(n: int = 2048, reps: int = 10) -> float:
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=0, help="images per measurement (default: 20k dense, 3k conv)")
    a = ap.parse_args()
    threads = configure_threads()
    for key in MODELS:
        n = a.images or (3_000 if key == "conv_dae" else 20_000)
        t = tutorial_loop(key, n)
        o = ours(key, n, "fp32")
        auto = ours(key, n, "auto")
        line = {
            "model": key,
            "ours_img_s": round(o, 1),
            "tutorial_img_s": round(t, 1),
            "ratio": round(o / t, 2),
            "target_ratio": TARGETS[key][0],
            "ours_auto_img_s": round(auto, 1),
            "auto_precision": precision.resolve("auto", torch.device("cpu")),
            "auto_ratio": round(auto / t, 2),
            "target_auto_ratio": TARGETS[key][1],
            "threads": threads,
        }
        if key == "conv_dae":
            gf = conv_gflops_per_image()
            line |= {
                "train_gflop_per_image": round(gf, 4),
                "achieved_gflop_s": round(gf * o, 1),
                "achieved_auto_gflop_s": round(gf * auto, 1),
                "matmul_fp32_gflop_s": round(matmul_gflops(), 1),
            }
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("AE_LAB_OFFLINE", "1")
    sys.exit(main())
