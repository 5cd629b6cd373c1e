"""Test-set comparisons for the Scoreboard page: robustness sweeps, per-class scores, best/worst digits, noise matrix."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from . import baselines, metrics
from .config import NOISE_TYPES
from .data import Digits, to_float
from .evaluate import Evaluation, evaluate, noisy_test_set
from .infer import run

FACTORS = tuple(round(0.1 * i, 1) for i in range(11))
TRAINING_FACTOR = 0.5  # the tutorial's noise level, marked on the curves


def denoisers(
    models: dict[str, nn.Module], baseline_keys=(), prec: str = "fp32"
) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """Every output row as a function noisy -> denoised (models, then classical baselines)."""
    fns: dict[str, Callable] = {k: (lambda x, m=m: run(m, x, prec=prec)[0]) for k, m in models.items()}
    for b in baseline_keys:
        fns[b] = lambda x, b=b: baselines.apply(b, x)
    return fns


def table(models, baseline_keys, noise_type: str, factor: float, seed: int, digits: Digits, on_step=None) -> Evaluation:
    """The scoreboard table: exactly ae_core.evaluate (and so the evaluate CLI) plus the baselines."""
    extra = {b: (lambda x, b=b: baselines.apply(b, x)) for b in baseline_keys}
    return evaluate(models, noise_type, factor, seed, digits, extra=extra, on_step=on_step)


def sweep(
    models: dict[str, nn.Module],
    baseline_keys,
    noise_type: str,
    digits: Digits,
    seed: int = 0,
    factors=FACTORS,
    classifier: nn.Module | None = None,
    on_step: Callable[[float], None] | None = None,
    prec: str = "fp32",
) -> list[dict]:
    """One record per (row, factor): mean PSNR, SSIM and, with a classifier, its accuracy on that row's images.

    Work done once, not per level: the clean images' SSIM statistics, and one classifier pass per level over every
    row's images together. prec "bf16" runs the networks under autocast (~3x faster on CPUs with AMX; means within
    0.01 dB and 0.3% accuracy of fp32, tests/test_scoreboard.py), as these curves are a picture, not the table."""
    from .classifier import predict

    fns = denoisers(models, baseline_keys, prec)
    records = []
    clean = to_float(digits.images)  # (N, 1, 28, 28)
    stats = metrics.clean_stats(clean)
    clean_acc = None if classifier is None else _accuracy(predict(classifier, clean, prec)[0], digits.labels)
    for i, f in enumerate(factors):
        if on_step:
            on_step(i / len(factors))
        _, noisy = noisy_test_set(digits, noise_type, f, seed)
        outs = {"noisy_input": noisy} | {name: fn(noisy) for name, fn in fns.items()}
        if classifier is not None:
            read = predict(classifier, torch.cat(list(outs.values())), prec)[0].view(len(outs), -1)  # (rows, N)
        for r, (name, out) in enumerate(outs.items()):
            sc = metrics.per_image(clean, out, stats=stats)  # on all cores
            rec = {"row": name, "factor": f, "psnr": float(sc["psnr"].mean()), "ssim": float(sc["ssim"].mean())}
            if classifier is not None:
                rec["accuracy"] = _accuracy(read[r], digits.labels)
            records.append(rec)
        if classifier is not None:  # the clean reference does not depend on the noise: a flat line
            records.append({"row": "clean", "factor": f, "psnr": None, "ssim": None, "accuracy": clean_acc})
    return records


def _accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predicted == labels).float().mean())


def per_class(ev: Evaluation, metric: str = "psnr") -> dict[str, list[float]]:
    """Mean of a metric for each digit class 0-9, per row."""
    return {row: [float(s[metric][ev.labels == c].double().mean()) for c in range(10)] for row, s in ev.scores.items()}


def best_worst(ev: Evaluation, row: str, k: int = 8, metric: str = "psnr") -> tuple[list[int], list[int]]:
    """Test indices of the k best and k worst digits for a row by a metric."""
    order = torch.argsort(ev.scores[row][metric], descending=metrics.HIGHER_IS_BETTER[metric])
    return order[:k].tolist(), order[-k:].flip(0).tolist()


def noise_matrix(
    entries: dict[str, nn.Module], factor: float, digits: Digits, seed: int = 0, prec: str = "fp32"
) -> dict[str, dict[str, float]]:
    """Mean PSNR of each (label -> model) on each test noise type at one factor (prec: as for sweep)."""
    out = {label: {} for label in entries}
    for t in NOISE_TYPES:
        clean, noisy = noisy_test_set(digits, t, factor, seed)
        for label, model in entries.items():
            out[label][t] = float(metrics.psnr(clean, run(model, noisy, prec=prec)[0]).mean())
    return out
