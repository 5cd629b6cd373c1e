"""Test-set evaluation: python -m ae_core.evaluate [--weights DIR] [--noise-type T] [--noise-factor F] [--seed S]."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from . import metrics, noise
from .data import Digits, test_digits, to_float
from .infer import run
from .registry import MODELS


@dataclass(frozen=True)
class Evaluation:
    noise_type: str
    factor: float
    seed: int
    n: int
    dataset: str
    scores: dict[str, dict[str, torch.Tensor]]  # row name -> metric -> (N,) per-image values
    labels: torch.Tensor  # (N,)

    def summary(self) -> dict[str, dict[str, float]]:
        return {row: metrics.summarize(s) for row, s in self.scores.items()}

    def to_json(self) -> dict:
        s = self.summary()
        # Rows that are neither a model nor the input: the extra denoisers. Counted by name, not by how many rows
        # there are: an evaluation of fewer than all models still has its baselines.
        extra = {k: v for k, v in s.items() if k not in MODELS and k != "noisy_input"}
        return {
            "noise": {"type": self.noise_type, "factor": self.factor, "seed": self.seed},
            "n": self.n,
            "dataset": self.dataset,
            "models": {k: s[k] for k in s if k in MODELS},
            "noisy_input": s["noisy_input"],
            **({"baselines": extra} if extra else {}),
        }


def noisy_test_set(digits: Digits, noise_type: str, factor: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(clean, noisy) for a whole split, one seeded draw so every model sees identical noise."""
    clean = to_float(digits.images)  # (N, 1, 28, 28)
    return clean, noise.apply(noise_type, clean, factor, seed)


def evaluate(
    models: dict[str, nn.Module],
    noise_type: str = "gaussian",
    factor: float = 0.5,
    seed: int = 0,
    digits: Digits | None = None,
    extra: dict[str, Callable[[torch.Tensor], torch.Tensor]] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Evaluation:
    """Score each model (and each extra denoiser, e.g. a classical baseline) against the clean digits."""
    digits = digits if digits is not None else test_digits()
    clean, noisy = noisy_test_set(digits, noise_type, factor, seed)
    stats = metrics.clean_stats(clean)  # shared by every row's SSIM
    scores = {}
    for key, model in models.items():
        if on_step:
            on_step(key)
        out, logits = run(model, noisy)
        scores[key] = metrics.per_image(clean, out, logits, stats)
    if on_step:
        on_step("noisy_input")
    scores["noisy_input"] = metrics.per_image(clean, noisy, stats=stats)
    for name, fn in (extra or {}).items():
        if on_step:
            on_step(name)
        scores[name] = metrics.per_image(clean, fn(noisy), stats=stats)
    return Evaluation(noise_type, float(factor), int(seed), len(digits), digits.source, scores, digits.labels)


def format_table(summary: dict[str, dict[str, float]]) -> str:
    rows = [f"{'':<14}{'BCE':>9}{'MSE':>9}{'PSNR dB':>9}{'SSIM':>8}"]
    for name, m in summary.items():
        rows.append(f"{name:<14}{m['bce']:>9.4f}{m['mse']:>9.4f}{m['psnr']:>9.2f}{m['ssim']:>8.3f}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    from . import store
    from .config import MAX_SEED, NOISE_TYPES

    p = argparse.ArgumentParser(prog="python -m ae_core.evaluate", description=__doc__)
    p.add_argument("--weights", type=Path, default=store.WEIGHTS_DIR, help="weights folder")
    p.add_argument("--noise-type", choices=NOISE_TYPES, default="gaussian")
    p.add_argument("--noise-factor", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--baselines", nargs="*", default=[], help="classical baselines to score too (median, nl_means, tv)")
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    a = p.parse_args(argv)
    if not 0 <= a.noise_factor <= 1:
        p.error("--noise-factor must be between 0 and 1")
    if not 0 <= a.seed <= MAX_SEED:
        p.error(f"--seed must be between 0 and {MAX_SEED}")
    try:
        models = {k: store.load_model(k, a.weights)[1] for k in a.models}
    except store.WeightsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from .baselines import BASELINES, apply

    unknown = set(a.baselines) - set(BASELINES)
    if unknown:
        p.error(f"unknown baselines: {', '.join(sorted(unknown))}; choose from {', '.join(BASELINES)}")
    extra = {b: (lambda x, b=b: apply(b, x)) for b in a.baselines}
    ev = evaluate(models, a.noise_type, a.noise_factor, a.seed, extra=extra)
    print(f"{ev.dataset}, n={ev.n}, noise {a.noise_type} {a.noise_factor} (seed {a.seed})")
    print(format_table(ev.summary()))
    if a.json:
        a.json.write_text(json.dumps(ev.to_json(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
