"""Moving through a model's code space: a 2-D PCA plane of its codes, mapped back (inverse PCA) and decoded.

A CodeSpace is built once per model weights and digit pool (the app caches it by content) and is read-only after.
The explorer's coordinates are in standard deviations of each principal component ("z"), so one pair of sliders
means the same relative place in every model's plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .inspect import codes, pca2

TOP_UNITS = 8  # code sliders per model


@dataclass(frozen=True)
class CodeSpace:
    code_shape: tuple[int, ...]  # one code without the batch dimension: (64,), (32,) or (32, 4, 4)
    mean: torch.Tensor  # (D,) float64
    components: torch.Tensor  # (D, 2) float64, orthonormal columns
    std: torch.Tensor  # (2,) standard deviation of the pool along each component
    codes: torch.Tensor  # (N, D) float64: the pool's codes
    points: torch.Tensor  # (N, 2): the pool in the plane
    labels: torch.Tensor  # (N,)
    units: tuple[int, ...]  # the TOP_UNITS code units (dense) or channels (conv) with the largest variance

    def z_of(self, code: torch.Tensor) -> torch.Tensor:
        """Codes (M, *code_shape) -> their places in the plane, in standard deviations: (M, 2)."""
        return (code.reshape(len(code), -1).double() - self.mean) @ self.components / self.std

    def code_at(self, z: torch.Tensor) -> torch.Tensor:
        """Places (M, 2) in standard deviations -> codes (M, *code_shape): inverse PCA, mean + components · point."""
        flat = self.mean + (z.double() * self.std) @ self.components.T  # (M, D)
        return flat.float().reshape(len(z), *self.code_shape)

    def z_range(self) -> tuple[float, float]:
        """The pool's extent in the plane, in standard deviations (both components)."""
        z = self.points / self.std
        return float(z.min()), float(z.max())


def build(model: nn.Module, pool: torch.Tensor, labels: torch.Tensor) -> CodeSpace:
    """The code space of `model` over the digit pool (N, 1, 28, 28)."""
    c = codes(model, pool)  # (N, D)
    with torch.inference_mode():
        shape = tuple(model.encode(pool[:1]).shape[1:])
    p = pca2(c)
    std = p.points.std(0).clamp_min(1e-12)
    return CodeSpace(shape, p.mean, p.components, std, c.double(), p.points, labels.clone(), _top_units(c, shape))


def _top_units(c: torch.Tensor, shape: tuple[int, ...]) -> tuple[int, ...]:
    if len(shape) == 1:  # a dense code: single units
        var = c.double().var(0)
    else:  # a conv code (C, H, W): whole channels, their values over every position and digit
        var = c.double().reshape(len(c), shape[0], -1).transpose(0, 1).reshape(shape[0], -1).var(1)
    return tuple(int(i) for i in var.argsort(descending=True)[:TOP_UNITS])


@torch.inference_mode()
def decode(model: nn.Module, code: torch.Tensor) -> torch.Tensor:
    """Codes (M, *code_shape) -> images (M, 1, 28, 28) in [0, 1]."""
    return torch.sigmoid(model.decode(code.float()))


@torch.inference_mode()
def encode(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Images (M, 1, 28, 28) -> codes (M, *code_shape)."""
    return model.encode(x)


def nearest(space: CodeSpace, code: torch.Tensor, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """The k pool digits whose codes are closest (Euclidean, in the full code space) to one code:
    (indices into the pool (k,), distances (k,)), nearest first."""
    d = torch.cdist(code.reshape(1, -1).double(), space.codes)[0]  # (N,)
    k = min(k, len(d))
    dist, idx = torch.topk(d, k, largest=False)
    return idx, dist


def edit(space: CodeSpace, code: torch.Tensor, values: dict[int, float]) -> torch.Tensor:
    """A copy of one code (1, *code_shape) with code sliders applied: for a dense code, unit -> its new value; for a
    conv code, channel -> a factor that scales the whole channel."""
    out = code.clone()
    for unit, v in values.items():
        if len(space.code_shape) == 1:
            out[0, unit] = v
        else:
            out[0, unit] = code[0, unit] * v
    return out


def walk(za: torch.Tensor, zb: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """A straight line in the plane from za to zb (each (2,)), `steps` places including both ends: (steps, 2)."""
    t = torch.linspace(0, 1, steps, dtype=torch.float64).view(-1, 1)
    return (1 - t) * za.double().view(1, 2) + t * zb.double().view(1, 2)
