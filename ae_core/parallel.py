"""Bulk work on several cores without touching process-wide settings.

torch.set_num_threads is process-global: flipping it from one request races with every other session and training
job. Instead a large batch is cut into one chunk per core and the chunks run in worker threads; torch kernels and
scipy filters release the GIL, so the chunks run in parallel. Per-image results do not depend on the chunking.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch

MIN_CHUNK = 256  # smaller batches run in the caller's thread: a thread hand-off would cost more than it saves


def cores() -> int:
    """The cores this process may run on (os.cpu_count ignores affinity and cgroup cpusets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def join(parts: list):
    """Chunks' results joined back along the batch: tensors, tuples and dicts of them."""
    first = parts[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(parts)
    if isinstance(first, tuple):
        return tuple(join(list(p)) for p in zip(*parts, strict=True))
    if isinstance(first, dict):
        return {k: join([p[k] for p in parts]) for k in first}
    raise TypeError(f"cannot join chunks of {type(first).__name__}")


def split_map(fn: Callable, *xs: torch.Tensor, workers: int | None = None):
    """fn(*xs) computed on chunks of the batch dimension in parallel; tensors, tuples and dicts are joined back."""
    n = len(xs[0])
    k = min(workers or cores(), n // MIN_CHUNK)
    if k <= 1:
        return fn(*xs)
    bounds = [n * i // k for i in range(k + 1)]
    grad = torch.is_grad_enabled()
    inference = torch.is_inference_mode_enabled()

    def one(i: int):
        # Autograd and inference mode are per thread: carry the caller's into the worker.
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            return fn(*(x[bounds[i] : bounds[i + 1]] for x in xs))

    with ThreadPoolExecutor(k, thread_name_prefix="ae-lab-bulk") as pool:
        return join(list(pool.map(one, range(k))))
