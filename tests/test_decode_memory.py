"""Bounded memory per upload: a small file of many pixels is reduced before any float conversion. Peaks are measured
in a fresh process (harness.decode_peak), never from this process's high-water mark."""

import io

import numpy as np
import pytest
from PIL import Image

from ae_core import preprocess
from harness.decode_peak import peak_mb

SIDE = 4096


def stroke(side: int) -> np.ndarray:
    a = np.zeros((side, side), np.uint8)
    a[side // 4 : 3 * side // 4, side // 2 - side // 20 : side // 2 + side // 20] = 255  # a "1"
    return a


def save(tmp_path, name: str, im: Image.Image, **kw) -> str:
    path = tmp_path / name
    im.save(path, **kw)
    return str(path)


@pytest.fixture(scope="module")
def big_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("big")
    ink = stroke(SIDE)
    rgba = np.zeros((SIDE, SIDE, 4), np.uint8)
    rgba[..., 3] = ink
    return {
        "transparent RGBA PNG": save(d, "a.png", Image.fromarray(rgba, "RGBA")),
        "palette PNG with transparency": save(d, "p.png", Image.fromarray(ink).convert("P"), transparency=0),
        "RGB PNG": save(d, "rgb.png", Image.fromarray(np.dstack([ink] * 3))),
        "16-bit PNG": save(d, "g16.png", Image.fromarray(ink.astype(np.uint16) * 257)),
        "dark-on-light JPEG": save(d, "j.jpg", Image.fromarray(255 - ink), quality=90),
        "1-bit BMP": save(d, "b.bmp", Image.fromarray(ink).convert("1")),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "transparent RGBA PNG",
        "palette PNG with transparency",
        "RGB PNG",
        "16-bit PNG",
        "dark-on-light JPEG",
        "1-bit BMP",
    ],
)
def test_a_4096_pixel_upload_decodes_in_under_100_mb(big_files, kind):
    r = peak_mb(big_files[kind])
    assert isinstance(r["digit_sum"], float) and r["digit_sum"] > 20, r  # it gave a digit
    assert r["peak_mb"] < 100, r  # before: 530-580 MB for the PNGs


def test_a_reduced_upload_gives_the_digit_the_small_image_gives():
    """Reducing early changes nothing a user sees: a 4096 px drawing and the same drawing at 512 px give digits
    within a pixel level of each other."""

    def digit(side):
        buf = io.BytesIO()
        Image.fromarray(stroke(side)).save(buf, "PNG")
        return preprocess.from_upload(buf.getvalue()).digit

    assert np.abs(digit(SIDE) - digit(512)).max() < 0.05
    buf = io.BytesIO()
    Image.fromarray(stroke(SIDE)).save(buf, "PNG")
    assert preprocess.from_upload(buf.getvalue()).raw.shape == (1024, 1024)  # previews hold 4 MB, not 64


def test_webp_past_2048_pixels_is_refused_with_what_to_do():
    buf = io.BytesIO()
    Image.fromarray(stroke(2100)).save(buf, "WEBP")
    with pytest.raises(preprocess.ImageRejected, match="at most 2048x2048.*PNG or JPEG"):
        preprocess.from_upload(buf.getvalue())


def test_a_one_pixel_wide_tall_jpeg_is_reduced_without_error():
    """Found by fuzzing: JPEG draft scaling of a 1 x 4095 image asked for a width of 0."""
    buf = io.BytesIO()
    Image.new("L", (1, 4095), 255).save(buf, "JPEG")
    with pytest.raises(preprocess.EmptyImage):
        preprocess.from_upload(buf.getvalue())


@pytest.mark.parametrize("side", [1024, 1025, 1500, 2047, 2048, 2049, 3000])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP"])
def test_every_upload_past_1024_px_is_reduced_to_at_most_1024(side, fmt):
    """Not only the 4096-px ones: an image of 1,025 to 2,047 px is halved too (k = ceil(side / 1024)), and the digit
    that comes out is the same digit."""
    a = stroke(side)[side // 4 : side * 3 // 4]  # not square: the longer side decides
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format=fmt)
    k = -(-side // preprocess.WORK_SIDE)
    assert preprocess.reduction((side, side // 2)) == k
    im = preprocess.decode_upload(buf.getvalue())
    if fmt == "JPEG":  # decoded at 1/2, 1/4 or 1/8 scale (JPEG draft), then box-reduced to fit
        assert side // 8 <= max(im.size) <= preprocess.WORK_SIDE, (fmt, side, im.size)
    else:
        assert max(im.size) == -(-side // k) <= preprocess.WORK_SIDE, (fmt, side, im.size)
    steps = preprocess.from_upload(buf.getvalue())
    assert max(steps.raw.shape) <= preprocess.WORK_SIDE
    assert steps.digit.shape == (28, 28) and steps.digit.max() > 0.5  # the stroke survives the reduction
