"""ae_core/preprocess to the value: each refusal's exact message and limit, the box reduction's sizes and means, the
grayscale of every mode, and MNIST's crop-scale-centre on images small enough to work out by hand."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from PIL import Image

from ae_core import preprocess as pp
from tests import images

NOT_IMAGE = "This is not a PNG, JPEG, BMP, GIF or WebP image (whatever its name says)."
CANVAS = "The drawing could not be read. Press Clear and draw again."


def header_png(w: int, h: int) -> bytes:
    """A PNG whose header claims w x h (8-bit gray), with a tiny body: only the header is ever read for these."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + images.png_chunk(b"IHDR", ihdr) + images.png_chunk(b"IEND", b"")


def rejected(data: bytes) -> str:
    with pytest.raises(pp.ImageRejected) as e:
        pp.decode_upload(data)
    return str(e.value)


def test_the_limits():
    assert (pp.MAX_UPLOAD_BYTES, pp.MAX_SIDE, pp.WORK_SIDE, pp.MAX_WEBP_PIXELS) == (5 * 2**20, 4096, 1024, 2048**2)
    assert Image.MAX_IMAGE_PIXELS == 4096 * 4096 and pp.CANVAS_MAX_SCALE == 4 and pp.INK_THRESHOLD == 0.1


def test_empty_and_too_large_files():
    assert rejected(b"") == "The file is empty."
    assert rejected(b"x" * (pp.MAX_UPLOAD_BYTES + 1)) == "The file is 5.0 MB; the limit is 5 MB."
    assert rejected(b"x" * (7 * 2**20 + 2**19)) == "The file is 7.5 MB; the limit is 5 MB."
    assert rejected(b"x" * pp.MAX_UPLOAD_BYTES) == NOT_IMAGE  # at the limit: read, and found not to be an image


@pytest.mark.parametrize(("w", "h"), [(4097, 10), (10, 4097), (5000, 3)])
def test_sides_over_the_limit_are_named(w, h):
    assert rejected(header_png(w, h)) == f"The image is {w}x{h} pixels; the limit is 4096x4096."


def test_a_side_at_the_limit_is_read():
    im = pp.decode_upload(images.png(Image.new("L", (4096, 8), 200)))
    assert im.size == (1024, 2)  # reduced by 4, its mean kept
    assert np.asarray(im).min() == np.asarray(im).max() == 200


def test_a_bomb_is_named():
    bomb = "The image claims too many pixels (a decompression bomb?); the limit is 4096x4096."
    assert rejected(images.bomb_png(4096 * 3)) == bomb  # Pillow refuses it while reading the header
    assert rejected(header_png(5000, 5000)) == bomb  # over Pillow's limit: its warning is a refusal too


def test_a_decompression_bomb_warning_is_a_refusal(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # a 20x20 image now warns as a bomb would
    assert rejected(images.png(images.seven(20))) == (
        "The image claims too many pixels (a decompression bomb?); the limit is 4096x4096."
    )


def test_webp_over_its_own_limit():
    big = images.encode(Image.new("L", (2049, 2048), 0), "WEBP", lossless=True)
    assert rejected(big) == (
        "This WebP image is 2049x2048 pixels; WebP uploads may have at most 2048x2048 pixels (decoding one takes 16 "
        "bytes a pixel). Save it smaller, or as a PNG or JPEG, and upload it again."
    )
    at = images.encode(Image.new("L", (2048, 2048), 0), "WEBP", lossless=True)
    assert pp.decode_upload(at).size == (1024, 1024)
    png = images.png(Image.new("L", (2049, 2048), 0))
    assert pp.decode_upload(png).size == (683, 683)  # the WebP rule is for WebP only (reduced by 3)


def test_truncated_and_unknown_files():
    good = images.png(images.seven())
    assert rejected(good[: len(good) // 2]) == "The image could not be decoded; it may be truncated or corrupt."
    assert rejected(b"hello, world") == NOT_IMAGE
    assert rejected(images.tiff_bytes()) == NOT_IMAGE  # a real image, but not an allowed format


def test_a_large_jpeg_is_decoded_small_directly():
    # 3000x1500 needs a reduction of 3; the JPEG decoder's draft gives 1/2 (1500x750), then a box reduction of 2.
    jpeg = images.encode(Image.new("L", (3000, 1500), 90), "JPEG", quality=95)
    im = pp.decode_upload(jpeg)
    assert im.size == (750, 375)
    png = images.png(Image.new("L", (3000, 1500), 90))
    assert pp.decode_upload(png).size == (1000, 500)  # no draft for PNG: one reduction of 3
    small = images.encode(Image.new("L", (1024, 10), 90), "JPEG", quality=95)
    assert pp.decode_upload(small).size == (1024, 10)


def test_an_animation_gives_its_first_frame():
    frames = [Image.new("L", (30, 30), v) for v in (10, 250)]
    gif = images.encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    a = np.asarray(pp.decode_upload(gif).convert("L"))
    assert a.min() == a.max() == 10


@pytest.mark.parametrize(("size", "k"), [((1, 1), 1), ((1024, 1024), 1), ((1025, 3), 2), ((3, 2048), 2),
                                          ((2049, 10), 3), ((4096, 4096), 4)])  # fmt: skip
def test_reduction(size, k):
    assert pp.reduction(size) == k


def test_reduce_takes_block_means_in_bands():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (301, 250), dtype=np.uint8)  # several bands of 128 rows, and a ragged edge
    im = Image.fromarray(a)
    im.info["note"] = "kept"
    out = pp.reduce(im, 2)
    assert out.size == (125, 151) and out.mode == "L" and out.info["note"] == "kept"
    assert np.array_equal(np.asarray(out), np.asarray(im.reduce(2)))  # the whole image's reduce, without its copy
    assert pp.reduce(im, 1) is im and pp.reduce(im, 0) is im


@pytest.mark.parametrize(("mode", "target"), [("1", "L"), ("P", "RGBA"), ("RGB", "RGB"), ("LA", "LA"),
                                               ("I;16", "I;16"), ("I", "I"), ("F", "F")])  # fmt: skip
def test_reduce_keeps_or_converts_the_mode(mode, target):
    im = Image.new(mode, (10, 7))
    out = pp.reduce(im, 3)
    assert out.mode == target and out.size == (4, 3)


def test_reduce_of_16_bit_keeps_its_scale():
    a = np.full((8, 8), 60000, np.uint16)
    out = pp.reduce(Image.frombytes("I;16", (8, 8), a.astype("<u2").tobytes()), 2)
    assert out.mode == "I;16" and np.asarray(out).max() == 60000


def test_to_gray_of_each_mode():
    assert np.array_equal(pp.to_gray(Image.new("L", (2, 2), 51)), np.full((2, 2), np.float32(0.2)))
    sixteen = Image.frombytes("I;16", (1, 1), np.array([32768], "<u2").tobytes())
    assert pp.to_gray(sixteen)[0, 0] == np.float32(32768 / 65535)
    assert pp.to_gray(Image.new("I", (1, 1), 200))[0, 0] == np.float32(200 / 255)  # 8-bit values in a 32-bit image
    assert pp.to_gray(Image.new("I", (1, 1), 600))[0, 0] == np.float32(600 / 65535)
    assert pp.to_gray(Image.new("I", (1, 1), 70000))[0, 0] == 1.0  # clipped
    assert pp.to_gray(Image.new("F", (1, 1), 127.5))[0, 0] == 0.5
    assert pp.to_gray(Image.new("RGB", (1, 1), (255, 0, 0)))[0, 0] == np.float32(76 / 255)  # Pillow's luma


def test_transparency_marks_the_ink():
    rgba = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    rgba.putpixel((1, 0), (0, 0, 0, 255))
    assert pp.to_gray(rgba).tolist() == [[0.0, 1.0]]  # black ink on a transparent page: alpha is the ink
    la = Image.new("LA", (2, 1), (255, 0))
    la.putpixel((0, 0), (255, 102))
    assert pp.to_gray(la).tolist() == [[np.float32(0.4), 0.0]]
    opaque = Image.new("RGBA", (2, 1), (51, 51, 51, 255))
    assert pp.to_gray(opaque).tolist() == [[np.float32(0.2)] * 2]  # fully opaque: the colours count, not alpha
    almost = Image.new("RGBA", (1, 1), (51, 51, 51, 250))  # 250/255 = 0.98: still opaque
    assert pp.to_gray(almost).tolist() == [[np.float32(0.2)]]
    less = Image.new("RGBA", (1, 1), (51, 51, 51, 249))
    assert pp.to_gray(less)[0, 0] == np.float32(249 / 255)
    p = Image.new("P", (2, 1), 0)
    p.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    p.putpixel((1, 0), 1)
    p.info["transparency"] = 0
    assert pp.to_gray(p).tolist() == [[0.0, 1.0]]
    del p.info["transparency"]
    assert pp.to_gray(p).tolist() == [[1.0, 0.0]]  # no transparency: white paper, black ink, as gray


def dot(h: int, w: int, at: tuple[int, int], ink: float = 1.0, paper: float = 0.0) -> np.ndarray:
    a = np.full((h, w), paper, np.float32)
    a[at] = ink
    return a


def test_one_bright_pixel_becomes_a_centred_20x20_square():
    s = pp.to_mnist(dot(5, 5, (2, 2), paper=0.0))
    assert not s.inverted and s.cropped.shape == (1, 1) and s.scaled.shape == (20, 20)
    assert np.allclose(s.scaled, 1.0) and s.digit.dtype == np.float32
    assert s.digit[4:24, 4:24].min() == 1.0 and s.digit.sum() == 400.0  # rows and columns 4..23: mass at 13.5


def test_dark_ink_on_light_paper_is_inverted_to_the_same_digit():
    light = pp.to_mnist(dot(5, 5, (2, 2), ink=0.0, paper=1.0))
    dark = pp.to_mnist(dot(5, 5, (2, 2)))
    assert light.inverted and np.array_equal(light.digit, dark.digit)
    assert light.raw.tolist() == dark.raw.tolist()


def test_the_papers_level_is_removed_and_the_ink_normalised():
    s = pp.to_mnist(dot(5, 5, (2, 2), ink=0.7, paper=0.2))
    assert s.raw.max() == 1.0 and s.raw.min() == 0.0 and s.raw[2, 2] == 1.0
    grey = pp.to_mnist(dot(5, 5, (2, 2), ink=0.3, paper=0.8))  # dark ink on grey paper
    assert grey.inverted and grey.raw[2, 2] == 1.0 and grey.raw[0, 0] == 0.0
    assert pp.to_mnist(dot(5, 5, (2, 2), ink=1.0, paper=0.5)).inverted is False  # paper at 0.5: not inverted
    assert pp.to_mnist(dot(5, 5, (2, 2), ink=0.0, paper=0.51)).inverted is True


@pytest.mark.parametrize(("ink", "empty"), [(0.04, True), (0.049, True), (0.06, False)])
def test_faint_ink_is_no_ink(ink, empty):
    a = dot(5, 5, (2, 2), ink=0.3 + ink, paper=0.3)
    if empty:
        with pytest.raises(pp.EmptyImage, match="Draw a digit: the image has no ink."):
            pp.to_mnist(a)
    else:
        assert pp.to_mnist(a).digit.max() > 0


def test_no_pixels():
    for a in (np.zeros((0, 0)), np.zeros(5), np.zeros((2, 2, 2))):
        with pytest.raises(pp.EmptyImage, match="The image has no pixels."):
            pp.to_mnist(a)


def test_the_crop_keeps_ink_above_a_tenth_of_the_peak():
    a = dot(9, 9, (4, 4))
    a[4, 1] = 0.09  # fainter than a tenth: background
    assert pp.to_mnist(a).cropped.shape == (1, 1)
    a[4, 1] = 0.11
    assert pp.to_mnist(a).cropped.shape == (1, 4)


def test_the_longer_side_becomes_20_and_the_aspect_is_kept():
    a = np.zeros((12, 12), np.float32)
    a[5, 2:10] = 1.0  # 1 high, 8 wide
    s = pp.to_mnist(a)
    assert s.cropped.shape == (1, 8) and s.scaled.shape == (2, 20)  # round(1 * 20 / 8) = 2 (20/8 = 2.5 rounds to 2)
    a[5:8, 2:10] = 1.0  # 3 high, 8 wide: round(7.5) = 8
    assert pp.to_mnist(a).scaled.shape == (8, 20)
    tall = np.zeros((30, 30), np.float32)
    tall[0:30, 14] = 1.0  # 30 high, 1 wide: at least 1 pixel
    assert pp.to_mnist(tall).scaled.shape == (20, 1)


def test_the_centre_of_mass_goes_to_the_middle():
    a = np.zeros((10, 10), np.float32)
    a[2, 2:6] = 1.0  # a bar, 1 x 4: scaled to 5 x 20
    a[2, 5] = 1.0
    s = pp.to_mnist(a)
    assert s.scaled.shape == (5, 20)
    mass = s.digit.sum()
    cy = (s.digit.sum(1) @ np.arange(28)) / mass
    cx = (s.digit.sum(0) @ np.arange(28)) / mass
    assert abs(cy - 13.5) <= 0.5 and abs(cx - 13.5) <= 0.5
    # Ink heavy on one side: the box moves so the mass is centred, not the box.
    b = np.zeros((10, 10), np.float32)
    b[2:4, 2:8] = 0.2
    b[2:4, 7] = 1.0
    t = pp.to_mnist(b)
    m = t.digit.sum()
    assert abs((t.digit.sum(0) @ np.arange(28)) / m - 13.5) <= 0.5
    cols = np.nonzero(t.digit.sum(0))[0]
    assert cols.min() < 4  # the 20-wide box starts left of where a centred box would (4)


def test_the_box_stays_inside_the_field():
    a = np.zeros((14, 14), np.float32)  # the shape in rows and columns 2..11, dark paper all round
    a[11, 2:12] = 1.0
    a[2:12, 11] = 1.0
    a[8:12, 8:12] = 1.0  # mass far in the bottom-right of its box: centring it would push the box off the field
    s = pp.to_mnist(a)
    d = s.digit
    assert (
        not s.inverted and s.scaled.shape == (20, 20) and np.array_equal(d[:20, :20], s.scaled)
    )  # clamped at the top-left edge
    assert d[20:].sum() == 0 and d[:, 20:].sum() == 0
    flipped = pp.to_mnist(a[::-1, ::-1].copy()).digit  # mass top-left: clamped at the bottom-right edge
    assert np.array_equal(flipped[8:, 8:], pp.to_mnist(a[::-1, ::-1].copy()).scaled) and flipped[:8].sum() == 0


def test_from_canvas_reads_every_shape_and_type():
    base = np.zeros((40, 40), np.uint8)
    base[10:30, 18:22] = 255
    want = pp.from_canvas(np.dstack([base, base, base, np.full_like(base, 255)])).digit
    assert np.array_equal(pp.from_canvas(base).digit, want)  # (H, W) gray
    assert np.array_equal(pp.from_canvas(base[..., None]).digit, want)
    assert np.array_equal(pp.from_canvas(np.dstack([base, base, base])).digit, want)
    assert np.array_equal(pp.from_canvas(np.dstack([base, np.full_like(base, 255)])).digit, want)
    assert np.array_equal(pp.from_canvas(base > 0).digit, want)  # booleans are full ink
    assert np.array_equal(pp.from_canvas(base / 255.0).digit, want)  # fractions of full ink
    assert np.array_equal(pp.from_canvas(base.astype(np.float32)).digit, want)  # 0-255 floats
    assert np.array_equal(pp.from_canvas(base.astype(np.int64) * 4).digit, want)  # wider integers are clipped
    odd = base / 255.0
    odd[0, 0], odd[0, 1] = np.nan, -np.inf
    assert np.array_equal(pp.from_canvas(odd).digit, want)  # NaN and -inf are no ink
    hot = base.astype(np.float64)
    hot[base > 0] = np.inf
    assert np.array_equal(pp.from_canvas(hot).digit, want)  # +inf is full ink
    neg = base.astype(np.int16)
    neg[0, 0] = -50
    assert np.array_equal(pp.from_canvas(neg).digit, want)


def test_from_canvas_refuses_what_is_not_a_drawing():
    for blank in (None, np.zeros((0, 4))):
        with pytest.raises(pp.EmptyImage, match="^Draw a digit.$"):
            pp.from_canvas(blank)
    for bad in (np.zeros((4, 4, 5)), np.zeros((2, 2, 2, 2)), np.zeros(7), np.array([["a", "b"]]), np.zeros((3, 3, 0))):
        with pytest.raises((pp.ImageRejected, pp.EmptyImage)) as e:
            pp.from_canvas(bad)
        if bad.size:
            assert e.type is pp.ImageRejected and str(e.value) == CANVAS
    with pytest.raises(pp.EmptyImage, match="no ink"):
        pp.from_canvas(np.zeros((20, 20, 4), np.uint8))


def test_canvas_png_size_reads_the_header_only():
    assert pp.canvas_png_size(header_png(560, 280)) == (560, 280)
    for bad in (b"", header_png(10, 10)[:23], b"GIF89a" + header_png(10, 10)[6:], header_png(9, 9)[:12] + b"IDAT" * 3):
        with pytest.raises(pp.ImageRejected, match="^The drawing could not be read"):
            pp.canvas_png_size(bad)


def canvas_png(side: int, w: int | None = None) -> bytes:
    im = Image.new("RGBA", (w or side, side), (0, 0, 0, 0))
    im.paste((255, 255, 255, 255), (side // 3, side // 4, side // 2, 3 * side // 4))
    return images.png(im)


@pytest.mark.parametrize(("size", "ok"), [(280, True), (560, True), (1120, True), (279, False), (1121, False)])
def test_the_canvas_png_must_be_the_canvas_size(size, ok):
    raw = canvas_png(size)
    if ok:
        assert pp.from_canvas_png(raw, 280).digit.max() == 1.0
    else:
        with pytest.raises(pp.ImageRejected, match="^The drawing could not be read"):
            pp.from_canvas_png(raw, 280)


def test_a_canvas_png_that_is_not_square_or_not_whole_is_refused():
    with pytest.raises(pp.ImageRejected):
        pp.from_canvas_png(canvas_png(280, w=300), 280)
    whole = canvas_png(280)
    with pytest.raises(pp.ImageRejected):
        pp.from_canvas_png(whole[:60], 280)  # a valid header, a cut body
    with pytest.raises(pp.ImageRejected):
        pp.from_canvas_png(whole + b"\x00" * pp.MAX_UPLOAD_BYTES, 280)  # over the upload limit
    for empty in (None, b""):
        with pytest.raises(pp.EmptyImage, match="^Draw a digit.$"):
            pp.from_canvas_png(empty, 280)


def test_the_canvas_png_digit_equals_the_arrays():
    raw = canvas_png(280)
    a = np.asarray(Image.open(__import__("io").BytesIO(raw)).convert("RGBA"))
    assert np.array_equal(pp.from_canvas_png(raw, 280).digit, pp.from_canvas(a).digit)


# --- the edges the first mutation run showed untested -----------------------------------------------------------------


def test_a_tall_image_at_the_side_limit_is_read():
    assert pp.decode_upload(images.png(Image.new("L", (8, 4096), 9))).size == (2, 1024)


def test_a_large_jpeg_is_drafted_to_the_reduced_size(monkeypatch):
    from PIL import JpegImagePlugin

    calls = []
    real = JpegImagePlugin.JpegImageFile.draft
    monkeypatch.setattr(
        JpegImagePlugin.JpegImageFile,
        "draft",
        lambda self, mode, size: calls.append((mode, size)) or real(self, mode, size),
    )
    for size in ((2000, 1000), (3000, 1500), (1024, 768)):
        pp.decode_upload(images.encode(Image.new("L", size, 90), "JPEG", quality=90))
    assert calls == [("L", (1000, 500)), ("L", (1000, 500))]  # k = 2 and 3; none for a JPEG that needs no reduction
    calls.clear()
    pp.decode_upload(images.png(Image.new("L", (3000, 1500), 90)))
    assert calls == []


@pytest.mark.parametrize(("mode", "value", "gray"), [("I;16", 200, 200 / 65535), ("I;16B", 65535, 1.0),
                                                      ("I;16L", 13107, 0.2), ("I", 255, 1.0), ("I", 256, 256 / 65535),
                                                      ("I", -5, 0.0)])  # fmt: skip
def test_to_gray_of_wide_integer_modes(mode, value, gray):
    im = Image.new(mode, (1, 1))
    im.putpixel((0, 0), value)
    assert pp.to_gray(im)[0, 0] == np.float32(gray)


def test_pa_images_are_read_by_their_alpha():
    pa = Image.new("PA", (2, 1), (0, 0))
    pa.putpalette([255, 255, 255] * 256)
    pa.putpixel((1, 0), (0, 255))
    assert pp.to_gray(pa).tolist() == [[0.0, 1.0]]


def test_messages_are_exact():
    with pytest.raises(pp.EmptyImage, match=r"^The image has no pixels\.$"):
        pp.to_mnist(np.zeros((0, 3)))
    with pytest.raises(pp.EmptyImage, match=r"^Draw a digit: the image has no ink\.$"):
        pp.to_mnist(np.zeros((3, 3)))


def test_ink_darker_than_the_paper_is_no_ink():
    a = dot(7, 7, (3, 3), ink=1.0, paper=0.3)
    a[1, 1] = 0.1  # darker than the paper
    s = pp.to_mnist(a)
    assert s.raw.min() == 0.0 and s.raw[1, 1] == 0.0


def test_to_mnist_reads_any_float_array_as_float32():
    a = dot(9, 9, (4, 4), ink=0.8, paper=0.1).astype(np.float64)
    a[3, 4] = 0.5
    s64, s32 = pp.to_mnist(a), pp.to_mnist(a.astype(np.float32))
    assert s64.digit.dtype == np.float32 and np.array_equal(s64.digit, s32.digit)
    assert s64.raw.dtype == np.float32


def test_a_wide_flat_stroke_keeps_one_row():
    a = np.zeros((5, 40), np.float32)
    a[2, 5:35] = 1.0  # 1 x 30: 20 / 30 of a row rounds to 1, never 0 and never 2
    assert pp.to_mnist(a).scaled.shape == (1, 20)


def test_the_scaling_is_lanczos():
    a = np.zeros((12, 12), np.float32)
    a[2:9, 3] = 1.0
    a[2:9, 4] = 0.5
    a[2, 3:9] = 1.0  # an uneven shape: Lanczos, bicubic and bilinear give different values
    s = pp.to_mnist(a)
    size = (s.scaled.shape[1], s.scaled.shape[0])
    want = np.clip(np.asarray(Image.fromarray(s.cropped).resize(size, Image.Resampling.LANCZOS), np.float32), 0, 1)
    other = np.clip(np.asarray(Image.fromarray(s.cropped).resize(size, Image.Resampling.BICUBIC), np.float32), 0, 1)
    assert np.array_equal(s.scaled, want) and not np.array_equal(s.scaled, other)


@pytest.mark.parametrize("flip", [False, True])
def test_mass_in_a_corner_clamps_the_box_at_the_fields_edge(flip):
    a = np.zeros((14, 14), np.float32)
    a[2, 2] = 0.15  # a faint pixel (above a tenth of the peak) spans the box...
    a[9:12, 9:12] = 1.0  # ...whose mass sits in the far corner
    if flip:
        a = a[::-1, ::-1].copy()
    s = pp.to_mnist(a)
    assert s.scaled.shape == (20, 20)
    at = 8 if flip else 0  # centring the mass would put the box off the field: it stops at the edge
    assert np.array_equal(s.digit[at : at + 20, at : at + 20], s.scaled)
    assert s.digit.sum() == pytest.approx(s.scaled.sum())


def test_from_canvas_matches_the_plain_pipeline_on_grey_levels():
    base = np.zeros((40, 40), np.uint8)
    base[10:30, 18:22] = 255
    base[10:30, 22] = 128  # anti-aliased edge
    want = pp.to_mnist(pp.to_gray(Image.fromarray(base))).digit  # the upload path, on the same pixels
    assert np.array_equal(pp.from_canvas(base).digit, want)
    assert np.array_equal(pp.from_canvas(base.astype(np.float64)).digit, want)  # 0-255 floats keep their greys
    wide = base.astype(np.int32)
    wide[base == 255] = 300  # over the top: clipped to 255, not wrapped around
    assert np.array_equal(pp.from_canvas(wide).digit, want)


def test_small_numbers_are_fractions_only_for_floats():
    faint = np.zeros((20, 20), np.uint8)
    faint[5:15, 9:11] = 1  # 1 of 255 on an integer canvas: no ink
    with pytest.raises(pp.EmptyImage):
        pp.from_canvas(faint)
    assert pp.from_canvas(faint.astype(np.float32)).digit.max() == 1.0  # 1.0 as a float: full ink
    with pytest.raises(pp.EmptyImage):
        pp.from_canvas(faint.astype(np.float32) * 2)  # 2.0 is on the 0-255 scale: faint


def test_canvas_png_header_edges():
    h = header_png(10, 10)
    assert pp.canvas_png_size(h[:24]) == (10, 10)  # the 24 bytes up to the size are enough
    assert pp.canvas_png_size(header_png(2**31 + 5, 1)) == (2**31 + 5, 1)  # unsigned, as PNG says


def test_a_canvas_png_at_the_upload_limit_is_read_and_its_errors_are_named():
    raw = canvas_png(280)
    padded = raw + b"\x00" * (pp.MAX_UPLOAD_BYTES - len(raw))  # bytes after IEND: exactly at the limit
    assert pp.from_canvas_png(padded, 280).digit.max() == 1.0
    for bad in (raw[:60], padded + b"\x00"):
        with pytest.raises(pp.ImageRejected) as e:
            pp.from_canvas_png(bad, 280)
        assert str(e.value) == CANVAS


def test_a_palette_canvas_png_reads_as_its_colours():
    im = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    im.paste((255, 255, 255, 255), (100, 60, 140, 220))
    rgba = images.png(im)
    pal = images.png(im.convert("RGB").convert("P"))
    assert np.array_equal(pp.from_canvas_png(pal, 280).digit, pp.from_canvas_png(rgba, 280).digit)


def test_a_sparse_digit_is_still_centred_by_its_mass():
    a = np.zeros((204, 204), np.float32)
    a[2, 2] = 0.15  # faint corner: the box is 200 x 200 ...
    a[200:202, 200:202] = 1.0  # ... and nearly all the ink is in the other corner: its mass after scaling is < 1
    s = pp.to_mnist(a)
    assert 0 < s.scaled.sum() < 1
    assert np.array_equal(s.digit[:20, :20], s.scaled)  # centred by its mass: clamped at the top-left edge


def test_fractions_are_scaled_by_255():
    half = np.zeros((20, 20), np.float64)
    half[4:16, 9:11] = 1.0
    half[4:16, 11] = 0.5  # 127.5: 127 as an 8-bit pixel
    as_uint8 = (half * 255).astype(np.uint8)
    assert np.array_equal(pp.from_canvas(half).digit, pp.from_canvas(as_uint8).digit)
