"""Running trained models: one forward pass, no autograd."""

from __future__ import annotations

import copy

import torch
from torch import nn

from .parallel import split_map
from .precision import autocast

BULK = 256  # from this batch size on, conv models run on a channels_last copy (~1.8x faster on CPU)


def _fast_copy(model: nn.Module) -> nn.Module:
    # A copy, because cached models are shared by every session and must never change under them.
    return copy.deepcopy(model).to(memory_format=torch.channels_last)


@torch.inference_mode()
def outputs(model: nn.Module, x: torch.Tensor, batch: int = 128, prec: str = "fp32") -> torch.Tensor:
    """The model's raw outputs (fp32) for inputs x (N, 1, 28, 28), in chunks of `batch` (small chunks stay in the
    CPU's cache: ~1.5x faster than 1000), across the cores; the model is not changed. prec "bf16" runs it under
    autocast: for approximate bulk work (the Scoreboard's curves), never for the exact table."""
    bulk = len(x) >= BULK and x.device.type == "cpu" and any(isinstance(m, nn.Conv2d) for m in model.modules())
    if bulk:
        model = _fast_copy(model)

    def forward(xs: torch.Tensor) -> torch.Tensor:
        parts = []
        for i in range(0, len(xs), batch):
            xb = xs[i : i + batch]
            with autocast(xb.device, prec):
                out = model(xb.contiguous(memory_format=torch.channels_last) if bulk else xb)
            parts.append(out.float().contiguous())
        return torch.cat(parts)

    return split_map(forward, x) if x.device.type == "cpu" else forward(x)  # one chunk per core


def run(model: nn.Module, x: torch.Tensor, batch: int = 128, prec: str = "fp32") -> tuple[torch.Tensor, torch.Tensor]:
    """(images in [0, 1], logits), both (N, 1, 28, 28), for inputs x of that shape. The model is not changed."""
    if not len(x):
        return x.clone(), x.clone()
    logits = outputs(model, x, batch, prec)
    return torch.sigmoid(logits), logits
