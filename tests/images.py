"""Real image files of every awkward kind, made with Pillow, for the upload tests."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw


def seven(size=200, ink=255, bg=0, width=18) -> Image.Image:
    """A drawn-like '7' stroke, light ink on a dark background by default."""
    im = Image.new("L", (size, size), bg)
    d = ImageDraw.Draw(im)
    s = size / 200
    d.line([(50 * s, 40 * s), (150 * s, 40 * s), (90 * s, 170 * s)], fill=ink, width=int(width * s), joint="curve")
    return im


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def png(im: Image.Image) -> bytes:
    return encode(im, "PNG")


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def bomb_png(side: int = 20000) -> bytes:
    """A few hundred bytes whose header claims side x side pixels."""
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (side // 8 + 1) * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def gray16(im: Image.Image) -> bytes:
    a = (np.asarray(im, np.uint16) * 257).astype("<u2")
    out = Image.frombytes("I;16", im.size, a.tobytes())
    assert out.mode == "I;16"
    return png(out)


def palette_transparent(im: Image.Image) -> bytes:
    """Black ink on a transparent background, palette mode."""
    p = Image.new("P", im.size, 0)
    p.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    p.paste(1, mask=im.point(lambda v: 255 if v > 127 else 0))
    return encode(p, "PNG", transparency=0)


def rgba_transparent(im: Image.Image) -> bytes:
    rgba = Image.new("RGBA", im.size, (0, 0, 0, 0))
    rgba.putalpha(im)  # black ink, opacity = stroke
    return png(rgba)


def cmyk_jpeg(im: Image.Image) -> bytes:
    return encode(Image.merge("RGB", [im.point(lambda v: 255 - v)] * 3).convert("CMYK"), "JPEG", quality=95)


def exif_rotated_jpeg(im: Image.Image, orientation: int = 6) -> tuple[bytes, Image.Image]:
    """JPEG stored sideways with an EXIF orientation tag, and the upright image a viewer shows."""
    stored = im.transpose(Image.Transpose.ROTATE_90)  # orientation 6 means: rotate 270 to display
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored.convert("RGB"), "JPEG", quality=95, exif=exif), im


HOSTILE = {
    "pdf.png": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
    "zip.png": b"PK\x03\x04" + b"\x00" * 40,
    "html.png": b"<html><script>alert(1)</script></html>",
    "svg.png": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>',
    "fits.png": b"SIMPLE  =                    T" + b" " * 50 + b"END" + b" " * 2797,
    "empty.png": b"",
}


def tiff_bytes() -> bytes:
    return encode(seven(), "TIFF")
