"""The one training engine, used by the CLI, the app and the tests. Reports through callbacks, stops through a flag."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from . import engine, graphs, noise
from . import precision as prec
from .config import TrainConfig
from .data import Digits, load_mnist, to_float
from .device import resolve
from .engine import EpochStats, Progress, StopFlag, TrainingDiverged
from .registry import build, spec

__all__ = ["EpochStats", "Progress", "StopFlag", "TrainResult", "TrainingDiverged", "train"]

VAL_NOISE_SEED = 1234  # fixed, so validation loss is comparable across epochs and runs


@dataclass
class TrainResult:
    key: str
    config: TrainConfig
    model: nn.Module  # on the CPU, in eval mode, holding the last completed epoch
    history: list[EpochStats] = field(default_factory=list)
    stopped: bool = False
    device: str = "cpu"
    dataset: str = ""
    precision: str = "fp32"  # what ran: config "auto" resolved on this device
    cuda_graph: bool = False  # whether full batches were replayed as one captured CUDA graph

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


def _optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device, graphed: bool) -> torch.optim.Optimizer:
    # The fused kernel updates every parameter in one pass: fewer launches on GPU, less overhead per step on CPU.
    # A step inside a CUDA graph must keep its step count on the device (capturable).
    Opt = torch.optim.AdamW if cfg.weight_decay > 0 else torch.optim.Adam
    fused = device.type in ("cpu", "cuda")
    return Opt(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused, capturable=graphed)


def _graphed(cfg: TrainConfig, device: torch.device, allowed: bool) -> bool:
    """CUDA graphs for the step: on CUDA, with a constant learning rate (ae_core/graphs.py says why)."""
    return allowed and cfg.schedule == "constant" and graphs.usable(device, None)


def _channels_last(key: str, device: torch.device) -> bool:
    # Measured faster for the conv model on CPU (bench/train_throughput.py) and on CUDA (bench/gpu_variants.py).
    return key == "conv_dae" and device.type in ("cpu", "cuda")


def resolved_precision(key: str, cfg: TrainConfig, device: torch.device, cuda_graphs: bool = True) -> str:
    """What a run of model `key` with `cfg` on `device` trains in: "auto" resolved for the model and its step."""
    return prec.resolve(cfg.precision, device, cuda_gain=spec(key).cuda_bf16 and _graphed(cfg, device, cuda_graphs))


def _denoising_batches(images: torch.Tensor, cfg: TrainConfig, gen: torch.Generator, fmt):
    """idx -> (noisy, clean) from uint8 images (n, 28, 28) on the device, noise drawn on the device."""

    def batch(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        clean = to_float(images[idx]).contiguous(memory_format=fmt)  # (B, 1, 28, 28)
        noisy = noise.apply(cfg.noise_type, clean, cfg.noise_factor, gen).contiguous(memory_format=fmt)
        return noisy, clean

    return batch


def _validator(model: nn.Module, images: torch.Tensor, cfg: TrainConfig, fmt, stop: StopFlag | None):
    """Validation loss on fixed noise (VAL_NOISE_SEED, drawn on the CPU so it is the same on every device)."""
    clean = to_float(images.cpu())  # (n_val, 1, 28, 28)
    noisy = noise.apply(cfg.noise_type, clean, cfg.noise_factor, VAL_NOISE_SEED).to(images.device, memory_format=fmt)
    clean = clean.to(images.device, memory_format=fmt)

    @torch.inference_mode()
    def validate() -> float | None:
        total = torch.zeros((), device=images.device)
        for i in range(0, len(clean), 1000):
            if stop is not None and stop.is_set():
                return None
            total += bce(model(noisy[i : i + 1000]).float(), clean[i : i + 1000]) * len(clean[i : i + 1000])
        return float(total) / len(clean)

    return validate


def train(
    key: str,
    cfg: TrainConfig,
    *,
    data: Digits | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_epoch: Callable[[EpochStats, nn.Module], None] | None = None,
    stop: StopFlag | None = None,
    progress_every: int = 10,
    cuda_graphs: bool = True,
    variant: dict | None = None,
) -> TrainResult:
    """Train model `key` with `cfg`; data defaults to the 60k MNIST training set. `cuda_graphs=False` keeps a CUDA
    run's steps eager (for comparison: bench/gpu.py, tests/test_gpu.py). `variant`: arguments for a variant of the
    network (registry.build), e.g. {"hidden": 8}."""
    spec(key)  # fail fast on an unknown key
    device = resolve(cfg.device)
    data = data if data is not None else load_mnist(train=True)
    tr_idx, va_idx = split(len(data), cfg)
    fmt = torch.channels_last if _channels_last(key, device) else torch.contiguous_format
    model = build(key, cfg.seed, **(variant or {})).to(device, memory_format=fmt)
    images = data.images[tr_idx].to(device)  # (n, 28, 28) uint8, resident for the whole run
    gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)  # shuffling and training noise
    graphed = _graphed(cfg, device, cuda_graphs)
    loop = engine.Loop(
        model=model,
        opt=(opt := _optimizer(model, cfg, device, graphed)),
        sched=_scheduler(opt, cfg, cfg.epochs * math.ceil(len(images) / cfg.batch_size)),
        batch=_denoising_batches(images, cfg, gen, fmt),
        loss=bce,
        n=len(images),
        batch_size=cfg.batch_size,
        epochs=cfg.epochs,
        device=device,
        precision=resolved_precision(key, cfg, device, cuda_graphs),
        gen=gen,
        lr=cfg.lr,
        validate=_validator(model, data.images[va_idx].to(device), cfg, fmt, stop) if len(va_idx) else None,
        sync_every=progress_every,
        graphs=graphed,
    )
    history, last_good = engine.fit(loop, on_progress, on_epoch, stop)
    model.load_state_dict(last_good)
    model = model.to("cpu", memory_format=torch.contiguous_format).eval()
    stopped = len(history) < cfg.epochs
    return TrainResult(key, cfg, model, history, stopped, str(device), data.source, loop.precision, graphed)


def run_meta(result: TrainResult, recipe: str = "custom") -> dict:
    """What a sidecar records about how these weights were made."""
    h = result.history
    return {
        "recipe": recipe,
        "config": result.config.replace(precision=result.precision).to_dict(),  # as resolved on this device
        "dataset": result.dataset,
        "device": result.device,
        "precision": result.precision,
        "epochs_done": result.epochs_done,
        "stopped_early": result.stopped,
        "history": {
            "train_loss": [round(e.train_loss, 6) for e in h],
            "val_loss": [None if e.val_loss is None else round(e.val_loss, 6) for e in h],
            "seconds": round(sum(e.seconds for e in h), 2),
            "images_per_s": round(sum(e.images_per_s for e in h) / max(len(h), 1), 1),
        },
    }


def measure_rate(key: str, cfg: TrainConfig, batches: int = 4, cuda_graphs: bool = True) -> float:
    """Training images/s of the real training step for this model and config here, on one batch of random digits."""
    device = resolve(cfg.device)
    graphed = _graphed(cfg, device, cuda_graphs)
    fmt = torch.channels_last if _channels_last(key, device) else torch.contiguous_format
    model = build(key).to(device, memory_format=fmt)
    gen = torch.Generator(device=device).manual_seed(0)
    images = torch.randint(0, 256, (cfg.batch_size, 28, 28), dtype=torch.uint8, generator=torch.Generator()).to(device)
    loop = engine.Loop(
        model=model,
        opt=_optimizer(model, cfg, device, graphed),
        sched=None,
        batch=_denoising_batches(images, cfg, gen, fmt),
        loss=bce,
        n=cfg.batch_size,
        batch_size=cfg.batch_size,
        epochs=1,
        device=device,
        precision=resolved_precision(key, cfg, device, cuda_graphs),
        gen=gen,
        lr=cfg.lr,
        graphs=graphed,
    )
    idx = torch.arange(cfg.batch_size, device=device)  # (B,)
    run_step = engine.stepper(loop)
    for _ in range(graphs.WARMUP_STEPS + 1 if graphed else 1):
        float(run_step(idx))  # warms up kernels and allocations (and captures the graph)
    t0 = time.perf_counter()
    total = sum(run_step(idx) for _ in range(batches))
    float(total)  # waits for the device
    return batches * cfg.batch_size / (time.perf_counter() - t0)


def measure_scoring_rate(key: str, n: int = 2048) -> float:
    """Test-set scoring images/s here, timed on the job's own last phase (ae_core.evaluate: the model's row and the
    noisy input's, all four metrics, on all cores) over n random digits."""
    from .evaluate import evaluate

    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g)  # (n, 28, 28)
    digits = Digits(images, torch.zeros(n, dtype=torch.long), "random digits", full=False)
    model = build(key).eval()
    evaluate({key: model}, "gaussian", 0.5, 0, Digits(images[:64], digits.labels[:64], "warm-up", False))
    t0 = time.perf_counter()
    evaluate({key: model}, "gaussian", 0.5, 0, digits)
    return n / (time.perf_counter() - t0)


def estimate_seconds(cfg: TrainConfig, images_per_s: float, n_test: int = 0, scoring_per_s: float = 1.0) -> float:
    """Rough wall time of a run: its training images over the measured rate, validation (a forward pass, ~1/3 of a
    training step) and, with n_test, the scoring of n_test test digits that ends every job."""
    n_train = cfg.train_size * (1 - cfg.val_split)
    train_s = cfg.epochs * (n_train / images_per_s + cfg.train_size * cfg.val_split / (3 * images_per_s))
    return train_s + n_test / scoring_per_s


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys
    from pathlib import Path

    from tqdm import tqdm

    from . import store
    from .config import NOISE_TYPES, PRECISIONS, SCHEDULES
    from .data import DatasetUnavailable
    from .device import configure_cuda
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
    configure_cuda()
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
