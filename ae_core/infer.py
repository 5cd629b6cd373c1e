"""Running trained models: one forward pass, no autograd."""

from __future__ import annotations

import torch
from torch import nn


@torch.inference_mode()
def run(model: nn.Module, x: torch.Tensor, batch: int = 2000) -> tuple[torch.Tensor, torch.Tensor]:
    """(images in [0, 1], logits), both (N, 1, 28, 28), for inputs x of that shape. The model is not changed."""
    logits = torch.cat([model(x[i : i + batch]) for i in range(0, len(x), batch)]) if len(x) else x.clone()
    return torch.sigmoid(logits), logits
