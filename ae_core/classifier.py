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

from . import engine, precision
from .data import Digits, load_mnist, to_float
from .device import resolve
from .infer import outputs
from .models import DigitCNN  # noqa: F401 - re-exported: the classifier's network lives with the others
from .registry import build

KEY = "digit_cnn"


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, prec: str = "fp32") -> tuple[torch.Tensor, torch.Tensor]:
    """(labels (N,), confidences (N,)) for images (N, 1, 28, 28) in [0, 1]."""
    if not len(x):
        return torch.zeros(0, dtype=torch.long), torch.zeros(0)
    probs = F.softmax(outputs(model, x, prec=prec), 1)  # (N, 10); channels_last and split across cores for large N
    conf, label = probs.max(1)
    return label, conf


def accuracy(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predict(model, x)[0] == labels).float().mean())


def train_classifier(
    data: Digits, epochs: int = 4, lr: float = 2e-3, seed: int = 0, device: str = "auto", prec: str = "auto"
) -> nn.Module:
    """Train through the autoencoders' engine: data on the device, one-cycle Adam, batch 128."""
    dev = resolve(device)
    model = build(KEY, seed).to(dev)
    images, labels = data.images.to(dev), data.labels.to(dev)  # (n, 28, 28) uint8, (n,)
    shifts = torch.Generator().manual_seed(seed)  # on the host: drawing them never waits for the device

    def batch(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Light random shifts make it robust to the small misplacements of drawn digits.
        dx, dy = torch.randint(-2, 3, (2,), generator=shifts).tolist()
        return torch.roll(to_float(images[idx]), (dy, dx), (2, 3)), labels[idx]  # (B, 1, 28, 28), (B,)

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(data) / 128)
    loop = engine.Loop(
        model=model,
        opt=opt,
        sched=torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps),
        batch=batch,
        loss=F.cross_entropy,
        n=len(data),
        batch_size=128,
        epochs=epochs,
        device=dev,
        precision=precision.resolve(prec, dev, cuda_gain=False),  # one-cycle: eager steps
        gen=torch.Generator(device=dev).manual_seed(seed),
        lr=lr,
    )
    _, weights = engine.fit(loop)
    model.load_state_dict(weights)
    return model.cpu().eval()


def main(argv: list[str] | None = None) -> int:
    from . import store
    from .device import configure_cuda, configure_threads

    p = argparse.ArgumentParser(prog="python -m ae_core.classifier", description=__doc__)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--out", default=str(store.WEIGHTS_DIR))
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    a = p.parse_args(argv)
    try:
        prec = precision.resolve(a.precision, resolve(a.device), cuda_gain=False)  # a missing GPU is a usage error
    except ValueError as e:
        p.error(str(e))
    configure_threads()
    configure_cuda()
    t0 = time.perf_counter()
    train_set, test = load_mnist(train=True), load_mnist(train=False)
    model = train_classifier(train_set, a.epochs, device=a.device, prec=a.precision)
    acc = accuracy(model, to_float(test.images), test.labels)
    meta = {
        "recipe": f"Adam one-cycle 2e-3, {a.epochs} epochs, batch 128, ±2 px shifts, {prec}",
        "dataset": train_set.source,
        "test_accuracy": acc,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    store.save(KEY, model, meta, store.Path(a.out))
    print(f"test accuracy {acc:.4f}")
    return 0 if acc >= 0.99 else 1


if __name__ == "__main__":
    sys.exit(main())
