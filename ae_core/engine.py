"""The training loop shared by the autoencoders and the digit classifier, with its data kept on the training device.

The training set lives on the device as uint8; shuffling, batch indexing and noise run there from a generator seeded
on that device. The loss stays on the device too: it is read every `sync_every` batches and at the end of an epoch,
so a GPU is never stalled by a per-batch host sync, yet a NaN is still caught within `sync_every` batches.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from . import graphs
from . import precision as prec
from .messages import Message


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
    val_loss: float | None  # None when there is no validation set
    seconds: float
    images_per_s: float


@dataclass
class Loop:
    """Everything one run needs. `batch` turns indices into (input, target); `loss` scores (output, target)."""

    model: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler | None
    batch: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]  # (B,) indices on the device
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # -> scalar mean loss
    n: int  # training examples
    batch_size: int
    epochs: int
    device: torch.device
    precision: str  # resolved: "fp32" or "bf16"
    gen: torch.Generator  # on the device: shuffling (and whatever `batch` draws from it)
    lr: float  # named in the divergence message
    validate: Callable[[], float | None] | None = None  # None = stopped during validation
    sync_every: int = 10  # batches between host reads of the loss (progress and NaN checks)
    graphs: bool = False  # replay full batches as one CUDA graph where graphs.usable (the optimizer is capturable)

    @property
    def batches(self) -> int:
        return math.ceil(self.n / self.batch_size)


def update(loop: Loop, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Forward, loss, backward and the optimiser step on one batch; its mean loss (the part a CUDA graph captures)."""
    if loop.precision == "bf16":
        with prec.autocast(loop.device, loop.precision):
            out = loop.model(x).float()  # the loss in fp32
    else:
        out = loop.model(x)  # no autocast context: it costs ~5% of a dense-model step on CPU
    loss = loop.loss(out, target)
    loop.opt.zero_grad(set_to_none=True)
    loss.backward()
    loop.opt.step()
    return loss


def step(loop: Loop, idx: torch.Tensor) -> torch.Tensor:
    """One optimiser step on the examples `idx`; returns the batch's summed loss, still on the device."""
    loss = update(loop, *loop.batch(idx))
    if loop.sched is not None:
        loop.sched.step()
    return loss.detach() * len(idx)


def stepper(loop: Loop) -> Callable[[torch.Tensor], torch.Tensor]:
    """The run's step function, idx -> summed loss: a captured CUDA graph where the loop allows it, else `step`."""
    if loop.graphs and graphs.usable(loop.device, loop.sched):
        return graphs.CapturedStep(loop, update)
    return lambda idx: step(loop, idx)


def _check(value: float, loop: Loop, epoch: int, first: int, last: int) -> None:
    if not math.isfinite(value):
        where = Message("batch {n}", n=last) if first == last else Message("batches {a}-{b}", a=first, b=last)
        raise TrainingDiverged(
            Message(
                "The loss became {value} at epoch {epoch}, {where}. The learning rate ({lr:g}) is probably too high: "
                "try 0.001-0.01.",
                value=value,
                epoch=epoch,
                where=where,
                lr=loop.lr,
            )
        )


def epoch(
    loop: Loop, number: int, started: float, on_progress=None, stop: StopFlag | None = None, run_step=None
) -> float | None:
    """Train one epoch (the run began at perf_counter `started`); its mean loss, or None when stopped part-way.
    `run_step` is the run's `stepper`, kept across epochs so that a captured graph is captured once."""
    run_step = run_step if run_step is not None else stepper(loop)
    loop.model.train()
    perm = torch.randperm(loop.n, generator=loop.gen, device=loop.device)  # (n,)
    total, window = 0.0, torch.zeros((), device=loop.device)
    done, synced = 0, 0  # examples this epoch; batches already read back
    for b in range(loop.batches):
        if stop is not None and stop.is_set():
            return None
        idx = perm[b * loop.batch_size : (b + 1) * loop.batch_size]
        window += run_step(idx)
        done += len(idx)
        if (b + 1) % loop.sync_every == 0 or b + 1 == loop.batches:
            value = float(window)  # the one host sync per window
            _check(value, loop, number, synced + 1, b + 1)
            total, window, synced = total + value, torch.zeros((), device=loop.device), b + 1
            if on_progress is not None:
                on_progress(_progress(loop, number, b + 1, total / done, started, done))
    return total / loop.n


def _progress(loop: Loop, number: int, batch: int, mean: float, started: float, done: int) -> Progress:
    seen = (number - 1) * loop.n + done  # images trained on so far in the run
    rate = seen / max(time.perf_counter() - started, 1e-9)
    return Progress(number, loop.epochs, batch, loop.batches, mean, rate, (loop.epochs * loop.n - seen) / rate)


def fit(
    loop: Loop,
    on_progress: Callable[[Progress], None] | None = None,
    on_epoch: Callable[[EpochStats, nn.Module], None] | None = None,
    stop: StopFlag | None = None,
) -> tuple[list[EpochStats], dict[str, torch.Tensor]]:
    """Run the epochs; (the completed epochs' stats, the weights after the last completed epoch)."""
    history: list[EpochStats] = []
    last_good = _snapshot(loop.model)
    started = time.perf_counter()
    run_step = stepper(loop)
    for number in range(1, loop.epochs + 1):
        t0 = time.perf_counter()
        train_loss = epoch(loop, number, started, on_progress, stop, run_step)
        if train_loss is None:
            break
        loop.model.eval()
        val = loop.validate() if loop.validate is not None else None
        if loop.validate is not None and val is None:
            break  # stopped during validation: this epoch does not count
        secs = time.perf_counter() - t0
        stats = EpochStats(number, train_loss, val, secs, loop.n / secs)
        history.append(stats)
        last_good = _snapshot(loop.model)
        if on_epoch is not None:
            on_epoch(stats, loop.model)
    return history, last_good


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
