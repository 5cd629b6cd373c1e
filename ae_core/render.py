"""Small images for the UI: crisp nearest-neighbour upscaling, residual maps and labelled rows."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=1)  # speed over size: these are tiny
    return buf.getvalue()


def png(a: np.ndarray) -> bytes:
    """A uint8 (H, W) or (H, W, 3) array as PNG bytes."""
    return _png(Image.fromarray(a))


def gray(img: np.ndarray, scale: int = 6) -> np.ndarray:
    """(H, W) in [0, 1] -> (H*scale, W*scale) uint8, nearest neighbour."""
    a = (np.clip(np.asarray(img, np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.kron(a, np.ones((scale, scale), np.uint8)) if scale > 1 else a


def gray_png(img: np.ndarray, scale: int = 6) -> bytes:
    return _png(Image.fromarray(gray(img, scale)))


PREVIEW_BOX = 120  # px: the largest side of a preprocessing-step preview
PREVIEW_MIN_RATIO = 8  # no side shorter than 1/8 of the other: a page scales images by width, so a 4000x1 strip
# would become 0 px high (Streamlit's resize failed on it); padding keeps every preview a drawable shape


def preview(img: np.ndarray) -> np.ndarray:
    """Any (H, W) image in [0, 1] as uint8 that fits PREVIEW_BOX and is at least 1/PREVIEW_MIN_RATIO as high as wide
    (and the other way round): small images are upscaled crisply, large ones shrink by block maximum (thin ink
    stays visible), thin strips are padded with a dark grey frame."""
    a = np.nan_to_num(np.asarray(img, np.float32), nan=0.0)
    if a.ndim != 2 or a.size == 0:
        a = np.zeros((1, 1), np.float32)
    h, w = a.shape
    if max(h, w) <= PREVIEW_BOX:
        out = gray(a, max(1, min(6, PREVIEW_BOX // max(h, w))))
    else:
        f = -(-max(h, w) // PREVIEW_BOX)  # ceil: block size that brings the longer side within the box
        padded = np.zeros((-(-h // f) * f, -(-w // f) * f), np.float32)
        padded[:h, :w] = a
        out = gray(padded.reshape(padded.shape[0] // f, f, padded.shape[1] // f, f).max((1, 3)), 1)
    hh, ww = out.shape
    side = max(-(-max(hh, ww) // PREVIEW_MIN_RATIO), 1)
    if min(hh, ww) < side:
        framed = np.full((max(hh, side), max(ww, side)), 40, np.uint8)
        top, left = (framed.shape[0] - hh) // 2, (framed.shape[1] - ww) // 2
        framed[top : top + hh, left : left + ww] = out
        out = framed
    return out


def preview_png(img: np.ndarray) -> bytes:
    return _png(Image.fromarray(preview(img)))


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
    from torchvision.utils import make_grid  # here, not at the top: torchvision costs the first page 1.4 s to import

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
    font = _font_for("".join(labels))
    for i, label in enumerate(labels):
        for j, line in enumerate(label.split("\n")[:2]):
            draw.text((i * cell + 2 * scale, row.height + 3 + 14 * j), line[:22], fill=(230, 230, 230), font=font)
    return _png(canvas)


# Fonts with Chinese glyphs that Debian, Ubuntu and Fedora install (fonts-noto-cjk, fonts-wqy-microhei); Pillow's
# built-in font has Latin glyphs only.
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


def _font_for(text: str):
    """Pillow's default font for Latin text; a CJK font (when one is installed) for anything past Latin."""
    if all(ord(c) < 0x2000 for c in text):
        return None
    for path in CJK_FONTS:
        try:
            return ImageFont.truetype(path, 13)
        except OSError:
            continue
    return None
