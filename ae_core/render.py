"""Small images for the UI: crisp nearest-neighbour upscaling, residual maps and labelled rows."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageDraw
from torchvision.utils import make_grid


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=1)  # speed over size: these are tiny
    return buf.getvalue()


def gray(img: np.ndarray, scale: int = 6) -> np.ndarray:
    """(H, W) in [0, 1] -> (H*scale, W*scale) uint8, nearest neighbour."""
    a = (np.clip(np.asarray(img, np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.kron(a, np.ones((scale, scale), np.uint8)) if scale > 1 else a


def gray_png(img: np.ndarray, scale: int = 6) -> bytes:
    return _png(Image.fromarray(gray(img, scale)))


def residual_rgb(res: np.ndarray, scale: int = 6) -> np.ndarray:
    """Diverging map: red where the model removed intensity, blue where it added some, black where unchanged."""
    r = np.clip(np.asarray(res, np.float32), -1, 1)
    rgb = np.zeros((*r.shape, 3), np.float32)
    rgb[..., 0] = np.clip(r, 0, 1)
    rgb[..., 2] = np.clip(-r, 0, 1)
    rgb[..., 1] = 0.25 * np.abs(r)
    out = (rgb * 255 + 0.5).astype(np.uint8)
    return np.kron(out, np.ones((scale, scale, 1), np.uint8))


def residual_png(res: np.ndarray, scale: int = 6) -> bytes:
    return _png(Image.fromarray(residual_rgb(res, scale)))


def grid(images: list[np.ndarray] | torch.Tensor, nrow: int = 8, scale: int = 3, pad: int = 2) -> np.ndarray:
    """Tile (28, 28) images with torchvision's make_grid; returns uint8 (H, W) upscaled."""
    t = torch.as_tensor(np.stack([np.asarray(i, np.float32) for i in images])).reshape(-1, 1, *np.shape(images[0]))
    g = make_grid(t, nrow=nrow, padding=pad, pad_value=0.35)[0].numpy()  # (H, W)
    return gray(g, scale)


def labelled_row(images: list[np.ndarray], labels: list[str], scale: int = 5) -> bytes:
    """A row of images with a caption under each, as one PNG (the playground's download)."""
    row = Image.fromarray(grid(images, nrow=len(images), scale=scale, pad=2)).convert("RGB")
    cell = (28 + 2) * scale
    canvas = Image.new("RGB", (row.width, row.height + 34), (14, 17, 23))
    canvas.paste(row, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for i, label in enumerate(labels):
        for j, line in enumerate(label.split("\n")[:2]):
            draw.text((i * cell + 2 * scale, row.height + 3 + 14 * j), line[:22], fill=(230, 230, 230))
    return _png(canvas)
