"""The one training engine, used by the CLI, the app and the tests. Reports through callbacks, stops through a flag."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn
from torch.nn import functional as F

from . import noise
from .config import TrainConfig
from .data import Digits, load_mnist, to_float
from .device import configure_threads, resolve
from .registry import build, spec

VAL_NOISE_SEED = 1234  # fixed, so validation loss is comparable across epochs and runs


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class Progress:
    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based, within the epoch
    batches: int
    loss: float  # running mean of this epoch's train loss
    images_per_s: float
    eta_s: float  # for the whole run


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    train_loss: float
    val_loss: float | None  # None when val_split is 0
    seconds: float
    images_per_s: float


@dataclass
class TrainResult:
    key: str
    config: TrainConfig
    model: nn.Module  # on the CPU, in eval mode, holding the last completed epoch
    history: list[EpochStats] = field(default_factory=list)
    stopped: bool = False
    device: str = "cpu"
    dataset: str = ""

    @property
    def epochs_done(self) -> int:
        return len(self.history)


def bce(logits: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """The tutorial's loss: sigmoid cross-entropy against the clean image, mean over pixels."""
    return F.binary_cross_entropy_with_logits(logits, clean)


def split(n_avail: int, cfg: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded (train, val) index split of the first train_size images of a shuffle."""
    g = torch.Generator().manual_seed(cfg.seed)
    idx = torch.randperm(n_avail, generator=g)[: min(cfg.train_size, n_avail)]
    n_val = int(len(idx) * cfg.val_split)
    return idx[n_val:], idx[:n_val]


def _scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, steps: int):
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    return None


@torch.inference_mode()
def _val_loss(model, images, noisy_val, device, stop) -> float | None:
    total = 0.0
    for i in range(0, len(images), 1000):
        if stop is not None and stop.is_set():
            return None
        clean = to_float(images[i : i + 1000]).to(device)
        total += bce(model(noisy_val[i : i + 1000].to(device)), clean).item() * len(clean)
    return total / len(images)


def _channels_last(key: str, device: torch.device) -> bool:
    # Measured in bench/train_throughput.py: faster for the conv model on CPU.
    return key == "conv_dae" and device.type == "cpu"


def train(
    key: str,
    cfg: TrainConfig,
    *,
    data: Digits | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_epoch: Callable[[EpochStats, nn.Module], None] | None = None,
    stop: StopFlag | None = None,
    progress_every: int = 10,
) -> TrainResult:
    """Train model `key` with `cfg`; data defaults to the 60k MNIST training set."""
    spec(key)  # fail fast on an unknown key
    device = resolve(cfg.device)
    if device.type == "cpu":
        configure_threads()
    data = data if data is not None else load_mnist(train=True)
    tr_idx, va_idx = split(len(data), cfg)
    tr_images, va_images = data.images[tr_idx], data.images[va_idx]  # (n, 28, 28) uint8
    fmt = torch.channels_last if _channels_last(key, device) else torch.contiguous_format
    model = build(key, cfg.seed).to(device, memory_format=fmt)
    Opt = torch.optim.AdamW if cfg.weight_decay > 0 else torch.optim.Adam
    opt = Opt(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    batches = math.ceil(len(tr_images) / cfg.batch_size)
    sched = _scheduler(opt, cfg, cfg.epochs * batches)
    g = torch.Generator().manual_seed(cfg.seed + 1)  # shuffling and training noise
    noisy_val = noise.apply(cfg.noise_type, to_float(va_images), cfg.noise_factor, VAL_NOISE_SEED)
    result = TrainResult(key, cfg, model, device=str(device), dataset=data.source)
    last_good = {k: v.detach().clone() for k, v in model.state_dict().items()}
    t_run, seen = time.perf_counter(), 0
    total_images = cfg.epochs * len(tr_images)

    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t0, loss_sum, n_sum = time.perf_counter(), 0.0, 0
        perm = torch.randperm(len(tr_images), generator=g)
        for b in range(batches):
            if stop is not None and stop.is_set():
                break
            clean = to_float(tr_images[perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]])  # (B, 1, 28, 28)
            noisy = noise.apply(cfg.noise_type, clean, cfg.noise_factor, g)
            clean = clean.to(device, memory_format=fmt)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
                loss = bce(model(noisy.to(device, memory_format=fmt)).float(), clean)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            lv = loss.item()
            if not math.isfinite(lv):
                raise TrainingDiverged(
                    f"The loss became {lv} at epoch {epoch}, batch {b + 1}. The learning rate ({cfg.lr:g}) is "
                    "probably too high: try 0.001-0.01."
                )
            opt.step()
            if sched is not None:
                sched.step()
            loss_sum, n_sum, seen = loss_sum + lv * len(clean), n_sum + len(clean), seen + len(clean)
            if on_progress is not None and ((b + 1) % progress_every == 0 or b + 1 == batches):
                rate = seen / max(time.perf_counter() - t_run, 1e-9)
                on_progress(
                    Progress(epoch, cfg.epochs, b + 1, batches, loss_sum / n_sum, rate, (total_images - seen) / rate)
                )
        else:
            model.eval()
            val = _val_loss(model, va_images, noisy_val, device, stop) if len(va_images) else None
            if val is None and len(va_images):
                break  # stopped during validation: this epoch does not count
            secs = time.perf_counter() - t0
            stats = EpochStats(epoch, loss_sum / n_sum, val, secs, n_sum / secs)
            result.history.append(stats)
            last_good = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if on_epoch is not None:
                on_epoch(stats, model)
            continue
        break  # the inner loop was stopped

    result.stopped = len(result.history) < cfg.epochs
    model.load_state_dict(last_good)
    result.model = model.to("cpu", memory_format=torch.contiguous_format).eval()
    return result


def run_meta(result: TrainResult, recipe: str = "custom") -> dict:
    """What a sidecar records about how these weights were made."""
    h = result.history
    return {
        "recipe": recipe,
        "config": result.config.to_dict(),
        "dataset": result.dataset,
        "device": result.device,
        "epochs_done": result.epochs_done,
        "stopped_early": result.stopped,
        "history": {
            "train_loss": [round(e.train_loss, 6) for e in h],
            "val_loss": [None if e.val_loss is None else round(e.val_loss, 6) for e in h],
            "seconds": round(sum(e.seconds for e in h), 2),
            "images_per_s": round(sum(e.images_per_s for e in h) / max(len(h), 1), 1),
        },
    }


def measure_rate(key: str, cfg: TrainConfig, batches: int = 3) -> float:
    """Training images/s for this model and config on this machine, from a few batches of random data."""
    device = resolve(cfg.device)
    fmt = torch.channels_last if _channels_last(key, device) else torch.contiguous_format
    model = build(key).to(device, memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand((cfg.batch_size, 1, 28, 28), generator=torch.Generator().manual_seed(0)).to(
        device, memory_format=fmt
    )
    t0 = 0.0
    for i in range(batches + 1):
        if i == 1:
            t0 = time.perf_counter()  # the first batch warms up kernels and allocations
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
            loss = bce(model(x).float(), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return batches * cfg.batch_size / (time.perf_counter() - t0)


def estimate_seconds(cfg: TrainConfig, images_per_s: float) -> float:
    """Rough wall time of a run: its training images over the measured rate, plus validation."""
    n_train = cfg.train_size * (1 - cfg.val_split)
    return cfg.epochs * (n_train / images_per_s + cfg.train_size * cfg.val_split / (3 * images_per_s))


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys
    from pathlib import Path

    from tqdm import tqdm

    from . import store
    from .config import NOISE_TYPES, PRECISIONS, SCHEDULES
    from .data import DatasetUnavailable
    from .evaluate import evaluate
    from .registry import MODELS

    p = argparse.ArgumentParser(prog="python -m ae_core.train", description="Train one of ae-lab's autoencoders.")
    p.add_argument("--model", required=True, choices=list(MODELS))
    p.add_argument(
        "--recipe",
        choices=["tutorial", "ae-lab"],
        default="tutorial",
        help="tutorial: the article's recipe; ae-lab: the one-cycle recipe of the shipped weights",
    )
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--noise-type", choices=NOISE_TYPES)
    p.add_argument("--noise-factor", type=float)
    p.add_argument("--train-size", type=int)
    p.add_argument("--val-split", type=float)
    p.add_argument("--schedule", choices=SCHEDULES)
    p.add_argument("--precision", choices=PRECISIONS)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", default=None)
    p.add_argument("--out", type=Path, default=store.WEIGHTS_DIR, help="weights folder to save into")
    p.add_argument("--name", help="save under this name instead of the model key")
    a = p.parse_args(argv)
    s = MODELS[a.model]
    base = s.recipe if a.recipe == "tutorial" else s.improved
    overrides = {k: v for k, v in vars(a).items() if v is not None and k in TrainConfig.__dataclass_fields__}
    try:
        cfg = base.replace(**overrides)
        resolve(cfg.device)  # a missing GPU is a usage error, found before any work starts
        if a.name is not None:
            store.safe_name(a.name)
    except ValueError as e:  # WeightsError is a ValueError too
        p.error(str(e))
    if a.out.exists() and not a.out.is_dir():
        p.error(f"--out {a.out} is not a folder")
    bar = tqdm(total=cfg.epochs, unit="epoch", desc=s.name)

    def on_progress(pr: Progress) -> None:
        bar.set_postfix(batch=f"{pr.batch}/{pr.batches}", loss=f"{pr.loss:.4f}", img_s=f"{pr.images_per_s:.0f}")

    def on_epoch(st: EpochStats, _model) -> None:
        bar.update(1)
        bar.write(
            f"epoch {st.epoch}: train {st.train_loss:.4f}"
            + (f" val {st.val_loss:.4f}" if st.val_loss else "")
            + f" ({st.seconds:.1f}s, {st.images_per_s:.0f} img/s)"
        )

    try:
        result = train(a.model, cfg, on_progress=on_progress, on_epoch=on_epoch)
    except (DatasetUnavailable, TrainingDiverged, ValueError) as e:
        bar.close()
        print(f"error: {e}", file=sys.stderr)
        return 2
    bar.close()
    ev = evaluate({a.model: result.model}, cfg.noise_type, cfg.noise_factor, seed=0)
    meta = run_meta(result, a.recipe)
    meta["test_metrics"] = {"noise": ev.to_json()["noise"], "n": ev.n, **ev.summary()[a.model]}
    sidecar = store.save(a.model, result.model, meta, a.out, a.name)
    print(
        f"saved {a.out / sidecar['tensor_file']}; test at {cfg.noise_type} {cfg.noise_factor}: "
        f"PSNR {meta['test_metrics']['psnr']:.2f} dB, SSIM {meta['test_metrics']['ssim']:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
