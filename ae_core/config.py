"""Typed, frozen configuration for training runs."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

NOISE_TYPES = ("gaussian", "salt_pepper", "masking")
SCHEDULES = ("constant", "onecycle", "cosine")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
MAX_SEED = 2**63 - 1  # torch generators take a signed 64-bit seed


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10  # passes over the training images
    lr: float = 1e-3  # Adam learning rate (the peak, with a schedule)
    batch_size: int = 128  # the tutorial's batch size
    noise_type: str = "gaussian"  # how inputs are corrupted; factor 0 means clean inputs
    noise_factor: float = 0.5  # the tutorial's noise_factor
    train_size: int = 60000  # images used from the 60k training set (the first N of a seeded shuffle)
    val_split: float = 0.1  # fraction of train_size held out for validation loss (0 = none)
    seed: int = 0  # seeds init, shuffling and noise: same seed, same run (on CPU)
    device: str = "auto"  # auto picks cuda, then mps, then cpu
    schedule: str = "constant"  # the tutorial uses a constant lr
    weight_decay: float = 0.0  # AdamW decoupled decay; 0 = plain Adam
    precision: str = "auto"  # bf16 autocast where the device runs it natively (AVX512-BF16/AMX, CUDA sm80+), else fp32

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.epochs <= 500:
            problems.append("epochs must be between 1 and 500")
        if not math.isfinite(self.lr) or not 0 < self.lr <= 10:
            problems.append("lr must be a number in (0, 10]")
        if not 1 <= self.batch_size <= 8192:
            problems.append("batch_size must be between 1 and 8192")
        if self.noise_type not in NOISE_TYPES:
            problems.append(f"noise_type must be one of {', '.join(NOISE_TYPES)}")
        if not 0 <= self.noise_factor <= 1:
            problems.append("noise_factor must be between 0 and 1")
        if not 16 <= self.train_size <= 60000:
            problems.append("train_size must be between 16 and 60000")
        if not 0 <= self.val_split < 0.5:
            problems.append("val_split must be in [0, 0.5)")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {', '.join(SCHEDULES)}")
        if self.device not in DEVICES:
            problems.append(f"device must be one of {', '.join(DEVICES)}")
        if not 0 <= self.weight_decay < 1:
            problems.append("weight_decay must be in [0, 1)")
        if not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            problems.append(f"seed must be a whole number between 0 and {MAX_SEED}")
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {', '.join(PRECISIONS)}")
        if problems:
            raise ValueError("; ".join(problems))

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
