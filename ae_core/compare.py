"""The playground's comparison: one noisy digit through every model and baseline, scored against the clean one."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from . import baselines, metrics, noise
from .infer import run
from .messages import N_
from .registry import MODELS


@dataclass(frozen=True)
class Panel:
    key: str
    name: str
    kind: str  # "input", "model" or "baseline"
    image: np.ndarray  # (28, 28) float32 in [0, 1]
    psnr: float | None = None  # against the clean digit; None for the clean panel itself
    ssim: float | None = None
    residual: np.ndarray | None = None  # (28, 28) in [-1, 1]: model input minus output, what it removed
    label: int | None = None  # the digit classifier's reading of this image
    confidence: float | None = None


@dataclass(frozen=True)
class Comparison:
    clean: np.ndarray  # (28, 28)
    model_input: np.ndarray  # (28, 28): the noisy digit, or the clean one when feed_clean
    panels: list[Panel]
    settings: dict = field(default_factory=dict)

    def best(self, metric: str) -> str | None:
        """Key of the best scoring output (not the inputs) for 'psnr' or 'ssim'."""
        scored = [p for p in self.panels if p.kind != "input" and getattr(p, metric) is not None]
        return max(scored, key=lambda p: getattr(p, metric)).key if scored else None

    def to_json(self) -> dict:
        return {
            "settings": self.settings,
            "scores": {
                p.key: {"name": p.name, "psnr": p.psnr, "ssim": p.ssim, "reads_as": p.label, "confidence": p.confidence}
                for p in self.panels
                if p.psnr is not None
            },
            "best": {"psnr": self.best("psnr"), "ssim": self.best("ssim")},
        }


def run_model(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Output images (N, 1, 28, 28) of one model."""
    return run(model, x)[0]


def noisy_digit(clean: np.ndarray, noise_type: str, factor: float, seed: int) -> np.ndarray:
    x = torch.from_numpy(np.asarray(clean, np.float32)).reshape(1, 1, 28, 28)
    return noise.apply(noise_type, x, factor, torch.Generator().manual_seed(int(seed)))[0, 0].numpy()


def scores_against(ref: torch.Tensor, stack: torch.Tensor) -> dict[str, torch.Tensor]:
    """PSNR and SSIM (N,) of a stack (N, 1, 28, 28) against one clean digit ref (1, 1, 28, 28): the same values as
    metrics.per_image with ref repeated, but the clean digit's SSIM statistics are filtered once, not once per image
    (each image is filtered on its own, so the bits are the same), and the row's unused BCE and MSE are skipped."""
    refs = ref.expand_as(stack)
    stats = metrics.clean_stats(ref).expand(len(stack), -1, -1, -1)  # (N, 2, 28, 28)
    return {"psnr": metrics.psnr(refs, stack), "ssim": metrics.ssim(refs, stack, stats)}


def compare(
    clean: np.ndarray,
    noise_type: str,
    factor: float,
    seed: int,
    models: dict[str, nn.Module],
    baseline_keys: list[str] = (),
    feed_clean: bool = False,
    classifier: nn.Module | None = None,
) -> Comparison:
    """Every model gets the identical input tensor; all scores are against `clean` (28, 28) in [0, 1]."""
    clean = np.asarray(clean, np.float32).reshape(28, 28)
    noisy = noisy_digit(clean, noise_type, factor, seed)
    model_input = clean if feed_clean else noisy
    x = torch.from_numpy(model_input).reshape(1, 1, 28, 28)  # the one tensor every model receives
    outs: list[tuple[str, str, str, torch.Tensor]] = []
    for key, model in models.items():
        outs.append((key, MODELS[key].name, "model", run(model, x)[0]))
    for key in baseline_keys:
        outs.append((key, baselines.BASELINES[key].name, "baseline", baselines.apply(key, x)))
    ref = torch.from_numpy(clean).reshape(1, 1, 28, 28)
    stack = torch.cat([x] + [o for *_, o in outs])  # (1 + len(outs), 1, 28, 28)
    scores = scores_against(ref, stack)
    labels, confs = [None] * (len(stack) + 1), [None] * (len(stack) + 1)
    if classifier is not None:
        from .classifier import predict

        lab, conf = predict(classifier, torch.cat([ref, stack]))  # the clean digit, the input, then every output
        labels, confs = lab.tolist(), conf.tolist()
    mode = N_("Clean input") if feed_clean else N_("Noisy")
    psnr0, ssim0 = float(scores["psnr"][0]), float(scores["ssim"][0])
    panels = [
        Panel("clean", N_("Clean"), "input", clean, label=labels[0], confidence=confs[0]),
        Panel("input", mode, "input", model_input, psnr0, ssim0, label=labels[1], confidence=confs[1]),
    ]
    for i, (key, name, kind, out) in enumerate(outs, start=1):
        img = out[0, 0].numpy()
        psnr, ssim = float(scores["psnr"][i]), float(scores["ssim"][i])
        panels.append(Panel(key, name, kind, img, psnr, ssim, model_input - img, labels[i + 1], confs[i + 1]))
    settings = {"noise_type": noise_type, "factor": float(factor), "seed": int(seed), "feed_clean": bool(feed_clean)}
    return Comparison(clean, model_input, panels, settings)
