"""Does torch.compile pay for itself in a Quick run of the Conv DAE? Eager against compiled, measured in one run.

For each device (the CPU, and CUDA when present) and precision, prints one JSON line: the compile time (first two
steps), the steady images/s of each, and the seconds a Quick run (1 epoch of 9,000 images) would take each way.
ae-lab trains eagerly unless compiling wins that race. Usage: python bench/compile_conv.py [--steps N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from ae_core import precision  # noqa: E402
from ae_core.device import configure_threads  # noqa: E402
from ae_core.registry import build  # noqa: E402
from ae_core.train import bce  # noqa: E402

QUICK_IMAGES = 9_000  # the sidebar's Quick preset: 10k images, 10% held out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def run(device: torch.device, prec: str, compiled: bool, steps: int, batch: int = 128) -> tuple[float, float]:
    """(seconds for the first two steps, steady images/s) of the Conv DAE's training step."""
    fmt = torch.channels_last if device.type == "cpu" else torch.contiguous_format
    model = build("conv_dae").to(device, memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    fwd = torch.compile(model) if compiled else model
    x = torch.rand(batch, 1, 28, 28, generator=torch.Generator().manual_seed(0)).to(device, memory_format=fmt)
    t0 = time.perf_counter()
    for i in range(steps + 2):
        if i == 2:
            _sync(device)
            first, t1 = time.perf_counter() - t0, time.perf_counter()
        with precision.autocast(device, prec):
            out = fwd(x).float()
        loss = bce(out, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    return first, steps * batch / (time.perf_counter() - t1)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20, help="timed steps after the first two")
    a = ap.parse_args()
    configure_threads()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        for prec in sorted({"fp32", precision.resolve("auto", device)}):
            eager_first, eager = run(device, prec, False, a.steps)
            comp_first, comp = run(device, prec, True, a.steps)
            quick_eager = eager_first + QUICK_IMAGES / eager
            quick_comp = comp_first + QUICK_IMAGES / comp
            line = {
                "device": device.type,
                "precision": prec,
                "eager_img_s": round(eager, 1),
                "compiled_img_s": round(comp, 1),
                "compile_s": round(comp_first - eager_first, 1),
                "quick_run_eager_s": round(quick_eager, 1),
                "quick_run_compiled_s": round(quick_comp, 1),
                "compile_pays": quick_comp < quick_eager,
            }
            print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
