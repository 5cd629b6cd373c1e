"""The article's invitation to try other hidden-layer sizes: python -m ae_core.codesize [--weights DIR] [--check].

Basic AEs (784-h-784) with codes of 2 to 128 units, all trained with one short recipe on the same digits, saved
together in weights/code_sizes.safetensors with their test-set scores, so the Tutorial compares them at once. The
shipped Basic AE (64 units, 20 epochs) is not among them: every size here has the same, shorter training, so only
the code's size differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import safetensors.torch
import torch
from torch import nn

from .config import TrainConfig
from .data import Digits
from .registry import build

FILENAME = "code_sizes.safetensors"
MAX_BYTES = 4 * 1024 * 1024  # 254 units x 2 x 784 float32 weights is 1.6 MB
SIZES = (2, 4, 8, 16, 32, 64, 128)  # powers of two around the tutorial's 64
# One short recipe for every size: 5 epochs of ae-lab's one-cycle schedule on all 60,000 clean training digits
# (about 10 s a size on 2 cores). Longer training moves every size up by about the same amount.
RECIPE = TrainConfig(epochs=5, lr=3e-3, noise_factor=0.0, schedule="onecycle", val_split=0.0, precision="fp32")


@dataclass(frozen=True)
class CodeSizes:
    models: dict[int, nn.Module]  # hidden units -> a trained BasicAE(hidden), eval mode; shared: never trained again
    scores: dict[int, dict[str, float]]  # hidden units -> mean test-set bce, mse, psnr, ssim on clean digits
    losses: dict[int, list[float]]  # hidden units -> training loss per epoch
    recipe: dict  # the TrainConfig every size was trained with


def train_all(data: Digits | None = None, recipe: TrainConfig = RECIPE, sizes=SIZES, log=None) -> dict[int, tuple]:
    """{hidden: (model, losses)} for each size, trained with the same recipe and seed."""
    from .train import train

    out = {}
    for h in sizes:
        r = train("basic_ae", recipe, data=data, variant={"hidden": h})
        out[h] = (r.model, [round(s.train_loss, 6) for s in r.history])
        if log:
            log(f"hidden {h:>3}: loss {out[h][1][-1]:.4f}")
    return out


def score(models: dict[int, nn.Module], digits: Digits) -> dict[int, dict[str, float]]:
    """Each size's mean scores on clean test digits (no noise: the Basic AE's own task)."""
    from .evaluate import evaluate

    ev = evaluate({str(h): m for h, m in models.items()}, "gaussian", 0.0, 0, digits)
    return {h: ev.summary()[str(h)] for h in models}


def to_bytes(found: CodeSizes) -> bytes:
    tensors = {f"h{h}.{k}": v.contiguous() for h, m in found.models.items() for k, v in m.state_dict().items()}
    meta = {
        "sizes": json.dumps(sorted(found.models)),
        "scores": json.dumps({str(h): s for h, s in found.scores.items()}),
        "losses": json.dumps({str(h): v for h, v in found.losses.items()}),
        "recipe": json.dumps(found.recipe),
    }
    return safetensors.torch.save(tensors, metadata=meta)


def load(directory: Path) -> CodeSizes | None:
    """The saved sizes, or None when the file is missing or is anything but those networks with finite weights."""
    path = Path(directory) / FILENAME
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        blob = path.read_bytes()
        header = json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")])["__metadata__"]
        scores, losses = json.loads(header["scores"]), json.loads(header["losses"])
        recipe = json.loads(header["recipe"])
        tensors = safetensors.torch.load(blob)
    except Exception:  # noqa: BLE001 - unreadable, truncated, not safetensors or no metadata: not this file
        return None
    if not isinstance(recipe, dict):
        return None
    models = {}
    for h in SIZES:
        m = build("basic_ae", hidden=h)
        want = {f"h{h}.{k}": v for k, v in m.state_dict().items()}
        got = {k: tensors.get(k) for k in want}
        if any(t is None or t.shape != want[k].shape or t.dtype != want[k].dtype for k, t in got.items()):
            return None
        if not all(torch.isfinite(t).all() for t in got.values()):
            return None
        m.load_state_dict({k.split(".", 1)[1]: t for k, t in got.items()})
        models[h] = m.eval()
    try:
        sc = {h: {k: float(scores[str(h)][k]) for k in ("bce", "mse", "psnr", "ssim")} for h in SIZES}
        ls = {h: [float(v) for v in losses[str(h)]] for h in SIZES}
    except (KeyError, TypeError, ValueError):
        return None
    return CodeSizes(models, sc, ls, recipe)


def main(argv: list[str] | None = None) -> int:
    from . import store
    from .data import load_mnist, test_digits
    from .store import _write_atomic

    p = argparse.ArgumentParser(prog="python -m ae_core.codesize", description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", type=Path, default=store.WEIGHTS_DIR, help="weights folder (default: weights/)")
    p.add_argument("--check", action="store_true", help="re-score the saved sizes and compare; write nothing")
    a = p.parse_args(argv)
    digits = test_digits()
    if not digits.full:
        print("error: the full MNIST test set is needed (set MNIST_DIR)", file=sys.stderr)
        return 2
    if a.check:
        found = load(a.weights)
        if found is None:
            print(f"{FILENAME} is missing or damaged", file=sys.stderr)
            return 1
        fresh = score(found.models, digits)
        bad = [h for h in SIZES if abs(fresh[h]["psnr"] - found.scores[h]["psnr"]) > 1e-3]
        print("matches a fresh scoring" if not bad else f"sizes {bad} differ from a fresh scoring")
        return 1 if bad else 0
    trained = train_all(load_mnist(train=True), log=print)
    models = {h: m for h, (m, _) in trained.items()}
    found = CodeSizes(models, score(models, digits), {h: v for h, (_, v) in trained.items()}, asdict(RECIPE))
    for h in SIZES:
        print(f"hidden {h:>3}: PSNR {found.scores[h]['psnr']:.2f} dB, SSIM {found.scores[h]['ssim']:.3f}")
    _write_atomic(a.weights / FILENAME, to_bytes(found))
    print(f"wrote {FILENAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
