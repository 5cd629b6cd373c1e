"""A LeNet-sized digit classifier, trained on clean MNIST: does denoising make digits recognisable again?

python -m ae_core.classifier [--epochs 4] [--out weights/]   trains it and saves weights/digit_cnn.*
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

from .data import Digits, load_mnist, to_float
from .models import DigitCNN  # noqa: F401 - re-exported: the classifier's network lives with the others
from .registry import build

KEY = "digit_cnn"


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels (N,), confidences (N,)) for images (N, 1, 28, 28) in [0, 1]."""
    probs = torch.cat([F.softmax(model(x[i : i + 2000]), 1) for i in range(0, len(x), 2000)])
    conf, label = probs.max(1)
    return label, conf


def accuracy(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predict(model, x)[0] == labels).float().mean())


def train_classifier(data: Digits, epochs: int = 4, lr: float = 2e-3, seed: int = 0) -> nn.Module:
    model = build(KEY, seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(data) / 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(data), generator=g)
        for i in range(0, len(data), 128):
            idx = perm[i : i + 128]
            x = to_float(data.images[idx])
            # Light random shifts make it robust to the small misplacements of drawn digits.
            dx, dy = torch.randint(-2, 3, (2,), generator=g).tolist()
            x = torch.roll(x, (dy, dx), (2, 3))
            loss = F.cross_entropy(model(x), data.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    from . import store
    from .device import configure_threads

    p = argparse.ArgumentParser(prog="python -m ae_core.classifier", description=__doc__)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--out", default=str(store.WEIGHTS_DIR))
    a = p.parse_args(argv)
    configure_threads()
    t0 = time.perf_counter()
    train_set, test = load_mnist(train=True), load_mnist(train=False)
    model = train_classifier(train_set, a.epochs)
    acc = accuracy(model, to_float(test.images), test.labels)
    meta = {
        "recipe": f"Adam one-cycle 2e-3, {a.epochs} epochs, batch 128, ±2 px shifts",
        "dataset": train_set.source,
        "test_accuracy": acc,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    store.save(KEY, model, meta, store.Path(a.out))
    print(f"test accuracy {acc:.4f}")
    return 0 if acc >= 0.99 else 1


if __name__ == "__main__":
    sys.exit(main())
