"""The one registry of models: the app, the CLI and the tests all loop over MODELS."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .config import TrainConfig
from .messages import N_
from .models import BasicAE, ConvDAE, DenseDAE, DigitCNN


@dataclass(frozen=True)
class ModelSpec:
    key: str  # stable id used in files, URLs and the CLI
    name: str  # display name
    cls: type[nn.Module]
    description: str  # two sentences for the UI
    recipe: TrainConfig  # the tutorial's own training recipe (the in-app "Tutorial" preset)
    params: int  # expected parameter count, checked by the tests
    improved: TrainConfig  # ae-lab's recipe for the shipped weights: same net, one-cycle schedule
    # Whether precision "auto" may pick bf16 on CUDA: measured faster than fp32 there (captured step, batch 128, H200:
    # bench/gpu.py) for the convolutions only; the dense models' small matmuls gain nothing (0.94-1.29x, noise).
    cuda_bf16: bool = False


MODELS: dict[str, ModelSpec] = {
    s.key: s
    for s in (
        ModelSpec(
            "basic_ae",
            N_("Basic AE"),
            BasicAE,
            N_(
                "A 784-64-784 dense autoencoder trained to copy clean digits. It never saw noise, so it shows "
                "how much a plain bottleneck alone cleans up."
            ),
            TrainConfig(epochs=20, lr=0.01, noise_factor=0.0),
            101_200,
            TrainConfig(epochs=20, lr=3e-3, noise_factor=0.0, schedule="onecycle", val_split=0.0),
        ),
        ModelSpec(
            "dense_dae",
            N_("Dense DAE"),
            DenseDAE,
            N_(
                "A 784-32-784 dense denoising autoencoder trained to map noisy digits to clean ones. Its tiny "
                "code keeps only the gist of a digit, so outputs are clean but blurry."
            ),
            TrainConfig(epochs=30, lr=0.001, noise_factor=0.5),
            50_992,
            TrainConfig(epochs=120, lr=2e-3, noise_factor=0.5, schedule="onecycle", val_split=0.0),
        ),
        ModelSpec(
            "conv_dae",
            N_("Conv DAE"),
            ConvDAE,
            N_(
                "A convolutional denoising autoencoder that squeezes digits to 4x4x32 and rebuilds them with "
                "nearest-neighbour upsampling and convolutions. Local filters keep strokes sharp where the dense "
                "models blur."
            ),
            TrainConfig(epochs=10, lr=0.001, noise_factor=0.5),
            121_281,
            TrainConfig(epochs=24, lr=4e-3, noise_factor=0.5, schedule="onecycle", val_split=0.0),
            cuda_bf16=True,
        ),
    )
}


def _classifier_spec() -> ModelSpec:
    cfg = TrainConfig(epochs=4, lr=2e-3, noise_factor=0.0)
    return ModelSpec(
        "digit_cnn", "Digit CNN", DigitCNN, "A LeNet-sized digit classifier trained on clean MNIST.", cfg, 258_314, cfg
    )


# Helper networks that are not autoencoders (stored and validated like them, but never looped over as one).
EXTRA: dict[str, ModelSpec] = {"digit_cnn": _classifier_spec()}
ALL: dict[str, ModelSpec] = {**MODELS, **EXTRA}


def spec(key: str) -> ModelSpec:
    if key not in ALL:
        raise KeyError(f"unknown model {key!r}; choose one of {', '.join(MODELS)}")
    return ALL[key]


def build(key: str, seed: int = 0, **kwargs) -> nn.Module:
    """A freshly initialised model, seeded by its own generator (never the global RNG). `kwargs` make a variant of the
    network (BasicAE(hidden=8): the Tutorial's code sizes, ae_core/codesize.py)."""
    with torch.device("meta"):
        model = spec(key).cls(**kwargs)
    # Storage for every parameter and buffer, left for the init below (or a state dict) to fill. Module.to_empty
    # would do it through torch._refs, whose first use imports sympy: 0.45 s of a fresh server's first page.
    for m in model.modules():
        for name, p in m._parameters.items():
            if p is not None:
                m._parameters[name] = nn.Parameter(torch.empty(p.shape, dtype=p.dtype), p.requires_grad)
        for name, b in m._buffers.items():
            if b is not None:
                m._buffers[name] = torch.empty(b.shape, dtype=b.dtype)
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.Linear | nn.Conv2d):
            # PyTorch's default init, drawn from g.
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=g)
            bound = 1 / math.sqrt(m.weight[0].numel())
            nn.init.uniform_(m.bias, -bound, bound, generator=g)
    return model


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
