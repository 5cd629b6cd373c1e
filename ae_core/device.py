"""Device choice and CPU thread settings."""

from __future__ import annotations

import os

import torch


def resolve(name: str = "auto") -> torch.device:
    """'auto' picks cuda, then mps, then cpu; an explicit choice that is missing raises ValueError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but no CUDA GPU is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was requested but Apple MPS is not available")
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {name!r}")
    return torch.device(name)


def available() -> list[str]:
    names = ["auto", "cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        names.append("mps")
    return names


def configure_threads() -> int:
    """Use every core the process may run on (torch's default can ignore cgroup/affinity limits)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 1
    n = int(os.environ.get("AE_LAB_THREADS", n))
    if torch.get_num_threads() != n:
        torch.set_num_threads(max(1, n))
    return n


def configure_cuda() -> None:
    """Start-up setting of a process that may train on a CUDA GPU: cuDNN's deterministic algorithms, so that the same
    seed gives the same run there (with its default ones, two Conv DAE runs drift apart: bench/gpu_variants.py and
    README, "Training speed"). Process-wide, so it is set once at start-up (server, CLI, bench), never by a request.
    It changes nothing on the CPU."""
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False  # its timing-based choice of algorithm would differ between runs
