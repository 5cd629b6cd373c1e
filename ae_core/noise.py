"""Corruptions applied to clean digits. Every function takes an explicit generator or seed."""

from __future__ import annotations

import torch

from .config import NOISE_TYPES
from .messages import N_


def _gen(rng: torch.Generator | int) -> torch.Generator:
    return rng if isinstance(rng, torch.Generator) else torch.Generator().manual_seed(int(rng))


def gaussian(x: torch.Tensor, factor: float, rng: torch.Generator | int) -> torch.Tensor:
    """The tutorial's clip(x + f * N(0, 1), 0, 1)."""
    g = _gen(rng)
    # In place on the fresh noise tensor: no temporaries (the training loop calls this once per batch).
    return torch.randn(x.shape, generator=g, device=g.device).to(x.device).mul_(factor).add_(x).clamp_(0, 1)


def salt_pepper(x: torch.Tensor, factor: float, rng: torch.Generator | int) -> torch.Tensor:
    """A fraction `factor` of pixels set to 0 or 1, half each."""
    g = _gen(rng)
    u = torch.rand((2, *x.shape), generator=g, device=g.device).to(x.device)
    hit = u[0] < factor
    return torch.where(hit, (u[1] < 0.5).to(x.dtype), x)


def masking(x: torch.Tensor, factor: float, rng: torch.Generator | int) -> torch.Tensor:
    """A fraction `factor` of pixels set to 0."""
    g = _gen(rng)
    keep = torch.rand(x.shape, generator=g, device=g.device).to(x.device) >= factor
    return x * keep


_FUNCS = {"gaussian": gaussian, "salt_pepper": salt_pepper, "masking": masking}
LABELS = {"gaussian": N_("Gaussian"), "salt_pepper": N_("Salt & pepper"), "masking": N_("Masking")}
assert tuple(_FUNCS) == NOISE_TYPES


def apply(kind: str, x: torch.Tensor, factor: float, rng: torch.Generator | int) -> torch.Tensor:
    """Corrupt x (any shape, values in [0, 1]); factor 0 returns an unchanged copy."""
    if kind not in _FUNCS:
        raise ValueError(f"unknown noise type {kind!r}; choose one of {', '.join(_FUNCS)}")
    if factor <= 0:
        return x.clone()
    return _FUNCS[kind](x, float(factor), rng)
