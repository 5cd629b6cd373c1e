"""What the models learned: architecture tables, codes, filters, feature maps, latent maps, interpolation, stress tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from .infer import run
from .messages import N_, Message

# The steps the table names; any other torch call (shape queries, dtype checks) is not a step.
_OPS = {
    F.relu: "ReLU",
    F.max_pool2d: N_("max-pool 2×2"),
    F.interpolate: N_("nearest resize"),
    torch.Tensor.flatten: N_("flatten"),
    torch.Tensor.view: N_("reshape"),
}
_NAMES = {F.relu: "relu", F.max_pool2d: "max_pool2d", F.interpolate: "interpolate"}
_LAYERS = (F.conv2d, F.linear)  # the calls that nn.Conv2d and nn.Linear make, matched to a module by weight


@dataclass(frozen=True)
class Layer:
    name: str  # a module's name ("enc1"), or the function's name with a counter ("relu_1")
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
        k, c = module.kernel_size, (module.in_channels, module.out_channels)
        return Message("conv {kh}×{kw}, {cin}→{cout}", kh=k[0], kw=k[1], cin=c[0], cout=c[1])
    if isinstance(module, nn.Linear):
        return Message("dense {fin}→{fout}", fin=module.in_features, fout=module.out_features)
    return type(module).__name__


class _Recorder(TorchFunctionMode):
    """Records each step of one forward pass in the calling thread only.

    Why not torch.fx: symbolic_trace patches nn.Module.__call__ for the whole process while it traces, so forward
    passes that other sessions run at that moment return Proxy objects or fail. A torch-function mode is
    thread-local and the model is neither patched nor hooked, so the shared, cached models stay untouched.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.by_weight = {
            id(m.weight): (n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)
        }
        self.steps: list[tuple[Layer, torch.Tensor]] = []
        self.counts: dict[str, int] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if not isinstance(out, torch.Tensor):
            return out
        if func in _LAYERS and id(args[1]) in self.by_weight:
            name, module = self.by_weight[id(args[1])]
            layer = Layer(name, _describe(module), tuple(out.shape[1:]), sum(p.numel() for p in module.parameters()))
        elif func in _OPS:
            base = _NAMES.get(func, func.__name__)
            n = self.counts[base] = self.counts.get(base, -1) + 1
            layer = Layer(base if n == 0 else f"{base}_{n}", _OPS[func], tuple(out.shape[1:]), 0)
        else:
            return out
        self.steps.append((layer, out.detach().clone()))  # a copy: the next ReLU works in place
        return out


@torch.inference_mode()
def trace(model: nn.Module, x: torch.Tensor) -> list[tuple[Layer, torch.Tensor]]:
    """Every step of the forward pass for input x (1, 1, 28, 28): (layer, its output), input first."""
    rec = _Recorder(model)
    with rec:
        model(x)
    return [(Layer("input", N_("input"), tuple(x.shape[1:]), 0), x), *rec.steps]


def architecture(model: nn.Module) -> list[Layer]:
    """Every step of the forward pass with its real output shape."""
    return [layer for layer, _ in trace(model, torch.zeros(1, 1, 28, 28))]


def activations(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The output of every step for input x (1, 1, 28, 28), by layer name."""
    return {layer.name: out for layer, out in trace(model, x)}


def feature_maps(model: nn.Module, x: torch.Tensor) -> list[tuple[Layer, np.ndarray]]:
    """(layer, maps (C, H, W) scaled to [0, 1] per channel) after each ReLU, pool and the output, for a conv model."""
    result = []
    for layer, out in trace(model, x):
        if layer.op in ("ReLU", "max-pool 2×2") or layer.name == "out":
            a = out[0].float()
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
    N_("letter A"): lambda: _text("A"),
    N_("letter K"): lambda: _text("K"),
    N_("square"): _square,
    N_("ring"): _circle,
    N_("blank"): lambda: np.zeros((28, 28), np.float32),
}
