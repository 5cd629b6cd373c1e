"""Turn a drawing or an uploaded image into an MNIST-style digit, the way MNIST itself was made.

Steps: grayscale (ink from alpha when the background is transparent), auto-invert dark-on-light, crop to the
ink, scale the longer side to 20 px (anti-aliased), paste into 28x28 centred by centre of mass.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .messages import Message

ALLOWED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # matches server.maxUploadSize in .streamlit/config.toml
MAX_SIDE = 4096
WORK_SIDE = 1024  # larger uploads are box-reduced to at most this before anything else: a 4096x4096 RGBA file then
# costs its decoded pixels (64 MB, freed at once) and a 4 MB copy, never float arrays of the full size
MAX_WEBP_PIXELS = 2048 * 2048  # Pillow decodes WebP through full RGBA frames, ~16 bytes a pixel: 4 MP is ~64 MB
# Pillow's own bomb check for the whole process (its default is ~179 MP): a header that claims more than twice this
# is refused by any Image.open, whichever path opened it; every path here also checks the size itself first.
Image.MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE
CANVAS_MAX_SCALE = 4  # a screen's device-pixel ratio at most: the canvas's PNG is side..4*side pixels square
_PNG = b"\x89PNG\r\n\x1a\n"
_REDUCIBLE = ("L", "LA", "La", "RGB", "RGBA", "RGBa", "CMYK", "I", "F")  # modes Pillow's reduce() takes
INK_THRESHOLD = 0.1  # of the ink range: fainter pixels count as background when cropping


class ImageRejected(ValueError):
    """An upload that cannot be used; the message is meant for the user."""


class EmptyImage(ValueError):
    """There is no ink to turn into a digit."""


@dataclass(frozen=True)
class Steps:
    raw: np.ndarray  # (H, W) float32 in [0, 1], light ink on dark, before cropping
    cropped: np.ndarray  # (h, w) the ink's bounding box
    scaled: np.ndarray  # (<=20, <=20) longer side 20 px
    digit: np.ndarray  # (28, 28) float32 in [0, 1], MNIST-style
    inverted: bool  # the input was dark ink on a light background


def decode_upload(data: bytes) -> Image.Image:
    """Decode untrusted bytes with Pillow, allowing only known raster formats and a pixel cap."""
    if not data:
        raise ImageRejected(Message("The file is empty."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected(
            Message(
                "The file is {mb:.1f} MB; the limit is {limit} MB.",
                mb=len(data) / 2**20,
                limit=MAX_UPLOAD_BYTES // 2**20,
            )
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)  # reads the header only
            w, h = im.size
            if w > MAX_SIDE or h > MAX_SIDE or w < 1 or h < 1:
                raise ImageRejected(
                    Message("The image is {w}x{h} pixels; the limit is {max}x{max}.", w=w, h=h, max=MAX_SIDE)
                )
            if im.format == "WEBP" and w * h > MAX_WEBP_PIXELS:
                raise ImageRejected(
                    Message(
                        "This WebP image is {w}x{h} pixels; WebP uploads may have at most 2048x2048 pixels (decoding "
                        "one takes 16 bytes a pixel). Save it smaller, or as a PNG or JPEG, and upload it again.",
                        w=w,
                        h=h,
                    )
                )
            im.seek(0)  # first frame of a GIF/WebP animation
            k = reduction(im.size)
            if k > 1 and im.format == "JPEG":
                im.draft(im.mode, (max(1, w // k), max(1, h // k)))  # decodes at 1/2, 1/4 or 1/8 size directly
            im.load()
            im = reduce(im, reduction(im.size))  # the reduced copy keeps the EXIF orientation
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(
            Message("The image claims too many pixels (a decompression bomb?); the limit is {max}x{max}.", max=MAX_SIDE)
        ) from None
    except UnidentifiedImageError:
        raise ImageRejected(
            Message("This is not a PNG, JPEG, BMP, GIF or WebP image (whatever its name says).")
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError):
        raise ImageRejected(Message("The image could not be decoded; it may be truncated or corrupt.")) from None
    return ImageOps.exif_transpose(im)


def reduction(size: tuple[int, int]) -> int:
    """The integer box-reduction factor that brings the longer side to at most WORK_SIDE (1: none)."""
    return max(1, -(-max(size) // WORK_SIDE))


def reduce(im: Image.Image, k: int) -> Image.Image:
    """`im` box-reduced by `k` (each output pixel the mean of a k x k block), in bands of rows: reduce() of a whole
    RGBA image would make a premultiplied full-size copy first, and modes it does not take (1, P, I;16) are
    converted band by band, so no full-size copy is ever made."""
    if k <= 1:
        return im
    target = (
        im.mode if im.mode in _REDUCIBLE else "I" if im.mode.startswith("I;16") else "L" if im.mode == "1" else "RGBA"
    )
    w, h = im.size
    out = Image.new(target, (-(-w // k), -(-h // k)))
    out.info = dict(im.info)  # EXIF orientation, transparency
    step = 64 * k  # rows per band (a multiple of k, so no block straddles two bands): a few MB at 4096 px wide
    for y in range(0, h, step):
        band = im.crop((0, y, w, min(h, y + step)))
        out.paste((band if band.mode == target else band.convert(target)).reduce(k), (0, y // k))
    return out.convert("I;16") if im.mode.startswith("I;16") else out  # 16-bit stays 16-bit (to_gray's scale)


def to_gray(im: Image.Image) -> np.ndarray:
    """(H, W) float32 in [0, 1]. Transparent backgrounds: the ink is where alpha is."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float32)
        hi = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        return np.clip(a / hi, 0, 1)
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255
        alpha = rgba[..., 3]
        if alpha.min() < 0.98:  # a real transparent background: opacity marks the ink
            return alpha
        im = im.convert("RGBA").convert("RGB")
    return np.asarray(im.convert("L"), dtype=np.float32) / 255


def _border(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


def to_mnist(gray: np.ndarray) -> Steps:
    """MNIST-style 28x28 digit from a grayscale image; raises EmptyImage if there is no ink."""
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or gray.size == 0:
        raise EmptyImage(Message("The image has no pixels."))
    bg = float(np.median(_border(gray)))
    inverted = bg > 0.5
    ink = (1 - gray) if inverted else gray.copy()
    ink = np.clip(ink - (1 - bg if inverted else bg), 0, None)  # remove the paper's level
    peak = float(ink.max())
    if peak < 0.05:
        raise EmptyImage(Message("Draw a digit: the image has no ink."))
    ink /= peak
    ys, xs = np.nonzero(ink > INK_THRESHOLD)
    cropped = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = cropped.shape
    s = 20 / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    scaled = np.asarray(Image.fromarray(cropped).resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
    scaled = np.clip(scaled, 0, 1)
    digit = np.zeros((28, 28), np.float32)
    sh, sw = scaled.shape
    mass = scaled.sum()
    cy = (scaled.sum(1) @ np.arange(sh)) / mass if mass > 0 else (sh - 1) / 2
    cx = (scaled.sum(0) @ np.arange(sw)) / mass if mass > 0 else (sw - 1) / 2
    # Put the centre of mass at the field's centre, keeping the box inside the 28x28 field.
    top = int(np.clip(round(13.5 - cy), 0, 28 - sh))
    left = int(np.clip(round(13.5 - cx), 0, 28 - sw))
    digit[top : top + sh, left : left + sw] = scaled
    return Steps(ink, cropped, scaled, digit, inverted)


def from_upload(data: bytes) -> Steps:
    return to_mnist(to_gray(decode_upload(data)))


_CANVAS_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}  # channels -> Pillow mode


def from_canvas(rgba: np.ndarray | None) -> Steps:
    """A drawable-canvas RGBA array (H, W, 4) uint8 -> MNIST digit; raises EmptyImage for a blank canvas.

    Other arrays a drawing component might return are read too: (H, W) gray, 1-3 channels, floats in [0, 1] or
    [0, 255], booleans, wider integers. Anything else raises ImageRejected with a message for the user."""
    if rgba is None:
        raise EmptyImage(Message("Draw a digit."))
    a = np.asarray(rgba)
    if a.size == 0:
        raise EmptyImage(Message("Draw a digit."))
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in _CANVAS_MODES or not np.issubdtype(a.dtype, np.number) and a.dtype != bool:
        raise ImageRejected(Message("The drawing could not be read. Press Clear and draw again."))
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.floating):
        a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        a = a * 255 if a.max() <= 1 else a  # [0, 1] floats are fractions of full ink
    a = np.clip(a, 0, 255).astype(np.uint8)
    im = Image.fromarray(a[..., 0] if a.shape[2] == 1 else np.ascontiguousarray(a), _CANVAS_MODES[a.shape[2]])
    return to_mnist(to_gray(im))


def canvas_png_size(raw: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header, read without decoding anything; ImageRejected if it is not a PNG."""
    if len(raw) < 24 or raw[:8] != _PNG or raw[12:16] != b"IHDR":
        raise ImageRejected(Message("The drawing could not be read. Press Clear and draw again."))
    return struct.unpack(">II", raw[16:24])


def from_canvas_png(raw: bytes | None, side: int) -> Steps:
    """The drawing canvas's PNG (what its data URL holds) -> MNIST digit. The canvas is `side` pixels square on the
    page, side..CANVAS_MAX_SCALE*side in its PNG; any other size is refused from the header, before decoding, so a
    crafted value can never make the server decode more than a few MB."""
    if not raw:
        raise EmptyImage(Message("Draw a digit."))
    w, h = canvas_png_size(raw)
    if w != h or not side <= w <= CANVAS_MAX_SCALE * side or len(raw) > MAX_UPLOAD_BYTES:
        raise ImageRejected(Message("The drawing could not be read. Press Clear and draw again."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(raw), formats=("PNG",))
            im.load()
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombWarning):
        raise ImageRejected(Message("The drawing could not be read. Press Clear and draw again.")) from None
    if im.size != (w, h):
        raise ImageRejected(Message("The drawing could not be read. Press Clear and draw again."))
    return from_canvas(np.asarray(im.convert("RGBA")))
