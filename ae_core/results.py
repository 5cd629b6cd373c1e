"""The shipped weights' test-set results, saved beside them: python -m ae_core.results [--weights DIR] [--check].

The Scoreboard's first table (every model, the noisy input and the median filter at Gaussian noise 0.5, seed 0, on the
10,000 test digits) takes seconds of CPU, and it is the same for everyone with the shipped weights. `make weights`
(or this command, for weights that exist) saves it as weights/results.safetensors, so a first visit of the Scoreboard
or the Tutorial shows it at once, before any warm-up. The file is keyed by content: the sha256 of each model's weights
and of the test digits. Any other weights (a run, an upload, a new default) or other digits never use it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from .data import Digits
from .evaluate import Evaluation

FILENAME = "results.safetensors"
MAX_BYTES = 8 * 1024 * 1024  # 5 rows x 4 scores x 10,000 float64 digits is 1.6 MB
METRICS = ("bce", "mse", "psnr", "ssim")


@dataclass(frozen=True)
class Settings:
    noise_type: str = "gaussian"  # the tutorial's noise
    factor: float = 0.5  # the tutorial's noise_factor, and the Scoreboard's first view
    seed: int = 0  # the Scoreboard's and evaluate's noise seed
    baselines: tuple[str, ...] = ("median",)  # the Scoreboard's default classical baseline


DEFAULT = Settings()


def digits_sha(digits: Digits) -> str:
    """The sha256 of a split's pixels and labels (about 5 ms for the test set)."""
    h = hashlib.sha256(digits.images.contiguous().numpy().tobytes())
    h.update(digits.labels.to(torch.int64).contiguous().numpy().tobytes())
    return h.hexdigest()


def identity(weights: dict[str, str], data_sha: str, settings: Settings = DEFAULT) -> dict:
    """What a saved table was computed from: [model key, weights sha256] pairs in row order (a list: two dicts in
    another order are equal, two tables are not), the digits, the settings."""
    return {
        "weights": [[k, sha] for k, sha in weights.items()],
        "digits": data_sha,
        "settings": asdict(settings) | {"baselines": list(settings.baselines)},
    }


def to_bytes(ev: Evaluation, ident: dict) -> bytes:
    tensors = {f"{row}/{m}": s[m].contiguous() for row, s in ev.scores.items() for m in METRICS}
    meta = {"identity": json.dumps(ident), "rows": json.dumps(list(ev.scores))}
    return safetensors.torch.save(tensors, metadata=meta)


def save(ev: Evaluation, ident: dict, directory: Path) -> Path:
    from .store import _write_atomic

    path = Path(directory) / FILENAME
    _write_atomic(path, to_bytes(ev, ident))
    return path


def _parse(blob: bytes) -> tuple[dict, list[str], dict[str, torch.Tensor]] | None:
    """(identity, rows, tensors) of a results file, or None for anything else."""
    try:
        header_len = int.from_bytes(blob[:8], "little")
        meta = json.loads(blob[8 : 8 + header_len])["__metadata__"]
        ident, rows = json.loads(meta["identity"]), json.loads(meta["rows"])
        tensors = safetensors.torch.load(blob)
    except Exception:  # noqa: BLE001 - truncated, not safetensors, no metadata, bad JSON: not a results file
        return None
    if not (isinstance(ident, dict) and isinstance(rows, list) and all(isinstance(r, str) for r in rows)):
        return None
    return ident, rows, tensors


def load(directory: Path, digits: Digits) -> tuple[dict, Evaluation] | None:
    """(identity, the saved table) when the folder holds a results file for these digits, else None. A file that is
    missing, damaged, or holds anything but finite (N,) scores for each row is ignored: the table is then computed."""
    path = Path(directory) / FILENAME
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        parsed = _parse(path.read_bytes())
    except OSError:
        return None
    if parsed is None:
        return None
    ident, rows, tensors = parsed
    n = len(digits)
    if ident.get("digits") != digits_sha(digits) or set(tensors) != {f"{r}/{m}" for r in rows for m in METRICS}:
        return None
    for t in tensors.values():
        if t.shape != (n,) or not t.is_floating_point() or not torch.isfinite(t).all():
            return None
    s = ident.get("settings") or {}
    try:
        settings = Settings(s["noise_type"], float(s["factor"]), int(s["seed"]), tuple(s["baselines"]))
    except (KeyError, TypeError, ValueError):
        return None
    scores = {r: {m: tensors[f"{r}/{m}"] for m in METRICS} for r in rows}
    ev = Evaluation(settings.noise_type, settings.factor, settings.seed, n, digits.source, scores, digits.labels)
    return ident, ev


def lookup(
    saved: tuple[dict, Evaluation] | None, weights: dict[str, str], data_sha: str, settings: Settings
) -> Evaluation | None:
    """The saved table when it was computed from exactly these weights (same models, same order), digits and
    settings; else None."""
    if saved is None:
        return None
    ident, ev = saved
    return ev if ident == identity(weights, data_sha, settings) else None


def compute(models: dict, digits: Digits, settings: Settings = DEFAULT, on_step=None) -> Evaluation:
    """The table itself: exactly the Scoreboard's (ae_core.scoreboard.table)."""
    from .scoreboard import table

    return table(models, list(settings.baselines), settings.noise_type, settings.factor, settings.seed, digits, on_step)


def same(a: Evaluation, b: Evaluation, tol: float = 1e-4) -> bool:
    """Whether two tables agree: the same rows, and every digit's scores within tol (relative; other CPUs' kernels
    may differ in the last bits)."""
    if list(a.scores) != list(b.scores):
        return False
    return all(
        torch.allclose(a.scores[r][m].double(), b.scores[r][m].double(), rtol=tol, atol=tol)
        for r in a.scores
        for m in METRICS
    )


def main(argv: list[str] | None = None) -> int:
    from . import store
    from .data import test_digits
    from .registry import MODELS

    p = argparse.ArgumentParser(prog="python -m ae_core.results", description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", type=Path, default=store.WEIGHTS_DIR, help="weights folder (default: weights/)")
    p.add_argument(
        "--check", action="store_true", help="compare the saved file with a fresh computation; write nothing"
    )
    a = p.parse_args(argv)
    digits = test_digits()
    if not digits.full:
        print("error: the full MNIST test set is needed (set MNIST_DIR)", file=sys.stderr)
        return 2
    try:
        loaded = {k: store.load_model(k, a.weights) for k in MODELS}
    except store.WeightsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    weights = {k: sidecar["sha256"] for k, (sidecar, _) in loaded.items()}
    ident = identity(weights, digits_sha(digits))
    fresh = compute({k: m for k, (_, m) in loaded.items()}, digits)
    for row, s in fresh.summary().items():
        print(f"{row:<14} PSNR {s['psnr']:6.2f} dB  SSIM {s['ssim']:.3f}")
    if a.check:
        saved = lookup(load(a.weights, digits), weights, ident["digits"], DEFAULT)
        if saved is None:
            print("the saved results are missing or for other weights", file=sys.stderr)
            return 1
        if not same(saved, fresh):
            print("the saved results differ from a fresh computation", file=sys.stderr)
            return 1
        print(f"{FILENAME} matches a fresh computation")
        return 0
    print(f"wrote {save(fresh, ident, a.weights).name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
