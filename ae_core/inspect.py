"""What the models learned: architecture tables, codes, filters, feature maps, latent maps, interpolation, stress tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

from .infer import run

_OPS = {
    "relu": "ReLU",
    "max_pool2d": "max-pool 2×2",
    "interpolate": "nearest resize",
    "flatten": "flatten",
    "view": "reshape",
}


@dataclass(frozen=True)
class Layer:
    name: str  # the node's name in the traced graph
    op: str  # human-readable operation
    shape: tuple[int, ...]  # output shape without the batch dimension
    params: int

    @property
    def shape_text(self) -> str:
        """Height×width×channels like the tutorial (28×28×64), or the vector length."""
        s = self.shape
        return f"{s[1]}×{s[2]}×{s[0]}" if len(s) == 3 else "×".join(map(str, s))


def _describe(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        return f"conv {module.kernel_size[0]}×{module.kernel_size[1]}, {module.in_channels}→{module.out_channels}"
    if isinstance(module, nn.Linear):
        return f"dense {module.in_features}→{module.out_features}"
    return type(module).__name__


def architecture(model: nn.Module) -> list[Layer]:
    """Every step of the forward pass with its real output shape, traced with torch.fx on one input."""
    gm = torch.fx.symbolic_trace(model)
    ShapeProp(gm).propagate(torch.zeros(1, 1, 28, 28))
    rows = []
    for node in gm.graph.nodes:
        shape = tuple(node.meta["tensor_meta"].shape[1:]) if "tensor_meta" in node.meta else ()
        if node.op == "placeholder":
            rows.append(Layer("input", "input", shape, 0))
        elif node.op == "call_module":
            sub = gm.get_submodule(node.target)
            rows.append(Layer(node.target, _describe(sub), shape, sum(p.numel() for p in sub.parameters())))
        elif node.op in ("call_function", "call_method"):
            name = node.target if isinstance(node.target, str) else node.target.__name__
            rows.append(Layer(node.name, _OPS.get(name, name), shape, 0))
    return rows


@torch.inference_mode()
def activations(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The output of every traced step for input x (1, 1, 28, 28), by node name."""
    gm = torch.fx.symbolic_trace(model)
    out: dict[str, torch.Tensor] = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n):
            r = super().run_node(n)
            if isinstance(r, torch.Tensor):
                out[n.name] = r.detach()
            return r

    Recorder(gm).run(x)
    return out


def feature_maps(model: nn.Module, x: torch.Tensor) -> list[tuple[Layer, np.ndarray]]:
    """(layer, maps (C, H, W) scaled to [0, 1] per channel) after each ReLU, pool and the output, for a conv model."""
    acts = activations(model, x)
    result = []
    for layer in architecture(model):
        if layer.op in ("ReLU", "max-pool 2×2") or layer.name == "out":
            a = acts[layer.name][0].float()
            a = torch.sigmoid(a) if layer.name == "out" else a
            lo, hi = a.amin((1, 2), keepdim=True), a.amax((1, 2), keepdim=True)
            result.append((layer, ((a - lo) / (hi - lo).clamp_min(1e-8)).numpy()))
    return result


def dense_filters(model: nn.Module) -> np.ndarray:
    """The dense encoder's weights as (hidden, 28, 28) tiles, each scaled to [0, 1]."""
    w = model.encoder.weight.detach().reshape(-1, 28, 28)
    lo, hi = w.amin((1, 2), keepdim=True), w.amax((1, 2), keepdim=True)
    return ((w - lo) / (hi - lo).clamp_min(1e-8)).numpy()


def as_input(img: np.ndarray) -> torch.Tensor:
    """One (28, 28) image in [0, 1] as the (1, 1, 28, 28) batch the models take."""
    return torch.from_numpy(np.asarray(img, np.float32)).reshape(1, 1, 28, 28)


def code_images(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """The Basic AE's 64-unit codes of a batch as (N, 8, 8) images, each scaled by its largest unit."""
    c = codes(model, x).reshape(len(x), 8, 8)
    return (c / c.amax((1, 2), keepdim=True).clamp_min(1e-8)).numpy()


@torch.inference_mode()
def codes(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Flattened codes (N, D) of a batch (N, 1, 28, 28)."""
    return torch.cat([model.encode(x[i : i + 1000]).flatten(1) for i in range(0, len(x), 1000)])


@dataclass(frozen=True)
class PCA:
    mean: torch.Tensor  # (D,)
    components: torch.Tensor  # (D, 2)
    points: torch.Tensor  # (N, 2)

    def project(self, c: torch.Tensor) -> torch.Tensor:
        return (c.flatten(1) - self.mean) @ self.components


def pca2(c: torch.Tensor) -> PCA:
    """A 2-D PCA of codes (N, D) by SVD; sign fixed so the largest loading is positive (stable across runs)."""
    c = c.double()
    mean = c.mean(0)
    _, _, vh = torch.linalg.svd(c - mean, full_matrices=False)
    comp = vh[:2].T  # (D, 2)
    signs = torch.sign(comp[comp.abs().argmax(0), torch.arange(2)])
    comp = comp * signs
    return PCA(mean, comp, (c - mean) @ comp)


@torch.inference_mode()
def interpolate(model: nn.Module, a: torch.Tensor, b: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """Decode (1 - t)·code(a) + t·code(b) for t in [0, 1]: (steps, 1, 28, 28) images."""
    za, zb = model.encode(a), model.encode(b)
    t = torch.linspace(0, 1, steps).view(-1, *([1] * (za.dim() - 1)))
    return torch.sigmoid(model.decode((1 - t) * za + t * zb))


def repeat(model: nn.Module, x: torch.Tensor, passes: int = 5) -> list[torch.Tensor]:
    """Feed the output back in `passes` times: does the model drift?"""
    out, cur = [], x
    for _ in range(passes):
        cur = run(model, cur)[0]
        out.append(cur)
    return out


def _text(t: str, size: int = 22) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("L", (28, 28), 0)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    ImageDraw.Draw(im).text((14, 14), t, fill=255, font=font, anchor="mm")
    return np.asarray(im, np.float32) / 255


def _square() -> np.ndarray:
    a = np.zeros((28, 28), np.float32)
    a[6:22, 6:22] = 1
    a[9:19, 9:19] = 0
    return a


def _circle() -> np.ndarray:
    yy, xx = np.mgrid[:28, :28]
    r = np.hypot(yy - 13.5, xx - 13.5)
    return ((r > 6) & (r < 10)).astype(np.float32)


SHAPES = {
    "letter A": lambda: _text("A"),
    "letter K": lambda: _text("K"),
    "square": _square,
    "ring": _circle,
    "blank": lambda: np.zeros((28, 28), np.float32),
}
