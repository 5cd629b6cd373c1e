"""Which number format training uses: precision "auto" picks bf16 autocast where the hardware runs it natively.

Measured faster than fp32 where it is native: 2-3x for the Conv DAE on CPUs with AVX512-BF16 (bench/train_throughput.py)
and, on CUDA, 1.5x for the Conv DAE once its step is one captured graph (bench/gpu.py on an H200; README, "Training
speed"). On CUDA it gains nothing for the dense models, nor for an eager step, which is bound by kernel launches:
there "auto" is fp32.
"""

from __future__ import annotations

import torch


def bf16_native(device: torch.device) -> bool:
    """True where bf16 matmuls and convolutions run in hardware, so autocast is a speed-up and not an emulation."""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= (8, 0)  # Ampere and later
    if device.type == "mps":
        mps = torch.backends.mps
        return bool(getattr(mps, "is_macos_or_newer", lambda *_: False)(14, 0))  # bf16 on MPS needs macOS 14
    if device.type == "cpu":
        try:
            caps = torch.cpu.get_capabilities()
        except (AttributeError, RuntimeError):  # older torch: no capability report, so no claim
            return False
        # x86 with AVX512-BF16 or AMX; other CPUs (incl. ARM) would emulate bf16 and run slower than fp32.
        return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))
    return False


def resolve(precision: str, device: torch.device, cuda_gain: bool = True) -> str:
    """'auto' -> 'bf16' where native, else 'fp32'; an explicit 'fp32' or 'bf16' is kept as asked. On CUDA, bf16 only
    where it was measured to gain (`cuda_gain`: a convolutional model whose step runs as a captured graph)."""
    if precision != "auto":
        return precision
    if device.type == "cuda" and not cuda_gain:
        return "fp32"  # an eager CUDA step is launch-bound, and small matmuls gain nothing: bf16 only adds casts
    return "bf16" if bf16_native(device) else "fp32"


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """The forward pass's autocast context for a resolved precision (disabled for fp32). No weight-cast cache on CUDA:
    a captured graph must not keep casts made outside it (torch.cuda.graphs' rule for autocast)."""
    return torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=precision == "bf16", cache_enabled=device.type != "cuda"
    )
