import numpy as np
import pytest
from PIL import Image

from ae_core import preprocess
from tests import images


def check_mnist_like(d: np.ndarray):
    assert d.shape == (28, 28) and d.dtype == np.float32
    assert d.min() >= 0 and d.max() <= 1 and d.max() > 0.9
    ys, xs = np.nonzero(d > 0.05)
    assert ys.max() - ys.min() + 1 <= 21 and xs.max() - xs.min() + 1 <= 21  # ink in a 20x20 box (+ AA fringe)
    assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 >= 19  # the longer side is ~20 px
    m = d / d.sum()
    cy, cx = (m.sum(1) * np.arange(28)).sum(), (m.sum(0) * np.arange(28)).sum()
    assert abs(cy - 13.5) <= 1.0 and abs(cx - 13.5) <= 1.0  # centred by centre of mass


def test_drawn_stroke_becomes_an_mnist_digit():
    steps = preprocess.from_upload(images.png(images.seven()))
    check_mnist_like(steps.digit)
    assert not steps.inverted
    assert steps.scaled.shape[0] == 20 or steps.scaled.shape[1] == 20


def test_small_off_centre_drawing_is_cropped_scaled_and_centred():
    im = Image.new("L", (280, 280), 0)
    im.paste(images.seven(60), (10, 200))  # tiny, in a corner
    check_mnist_like(preprocess.to_mnist(np.asarray(im, np.float32) / 255).digit)


def test_dark_on_light_is_inverted():
    light = preprocess.from_upload(images.png(images.seven(ink=0, bg=255)))
    dark = preprocess.from_upload(images.png(images.seven()))
    assert light.inverted
    np.testing.assert_allclose(light.digit, dark.digit, atol=0.02)


def test_canvas_rgba_uses_the_ink():
    ink = np.asarray(images.seven())
    transparent = np.zeros((200, 200, 4), np.uint8)
    transparent[..., :3] = 255
    transparent[..., 3] = ink  # white ink on a transparent canvas: naive convert("L") would see all white
    opaque = np.dstack([ink, ink, ink, np.full_like(ink, 255)])  # white ink on an opaque black background
    a, b = preprocess.from_canvas(transparent), preprocess.from_canvas(opaque)
    check_mnist_like(a.digit)
    np.testing.assert_allclose(a.digit, b.digit, atol=0.02)


@pytest.mark.parametrize(
    "rgba",
    [
        None,
        np.zeros((280, 280, 4), np.uint8),
        np.dstack([np.zeros((280, 280, 3), np.uint8), np.full((280, 280), 255, np.uint8)]),
    ],
)
def test_empty_canvas_says_draw_a_digit(rgba):
    with pytest.raises(preprocess.EmptyImage, match="Draw a digit"):
        preprocess.from_canvas(rgba)


REFERENCE = preprocess.from_upload(images.png(images.seven())).digit


@pytest.mark.parametrize(
    "make",
    [
        images.gray16,
        images.palette_transparent,
        images.rgba_transparent,
        images.cmyk_jpeg,
        lambda im: images.encode(im, "BMP"),
        lambda im: images.encode(im, "GIF"),
        lambda im: images.encode(im, "WEBP", lossless=True),
        lambda im: images.encode(im.convert("RGB"), "JPEG", quality=95),
    ],
    ids=["16-bit", "palette+transparency", "rgba-transparent", "cmyk-jpeg", "bmp", "gif", "webp", "jpeg"],
)
def test_odd_modes_convert_like_the_reference(make):
    d = preprocess.from_upload(make(images.seven())).digit
    check_mnist_like(d)
    assert np.abs(d - REFERENCE).mean() < 0.02  # golden: the same digit whatever the encoding


def test_exif_rotation_is_applied():
    data, upright = images.exif_rotated_jpeg(images.seven())
    d = preprocess.from_upload(data).digit
    assert np.abs(d - REFERENCE).mean() < 0.03
    sideways = preprocess.from_upload(images.encode(upright.transpose(Image.Transpose.ROTATE_90), "PNG")).digit
    assert np.abs(sideways - REFERENCE).mean() > 0.05  # and the tag mattered


@pytest.mark.parametrize("size", [(1, 1), (1, 4000), (4000, 1)])
def test_degenerate_sizes_give_a_clear_answer(size):
    im = Image.new("L", size, 255)
    with pytest.raises(preprocess.EmptyImage):
        preprocess.from_upload(images.png(im))


def test_thin_line_on_background_is_a_digit():
    im = Image.new("L", (400, 40), 0)
    im.paste(255, (50, 18, 350, 22))
    d = preprocess.from_upload(images.png(im)).digit
    assert d.shape == (28, 28) and d.max() > 0.5


@pytest.mark.parametrize("name", list(images.HOSTILE))
def test_non_images_are_rejected(name):
    data = images.HOSTILE[name]
    with pytest.raises(preprocess.ImageRejected, match="empty" if not data else "not a PNG, JPEG"):
        preprocess.from_upload(data)


def test_tiff_is_not_an_allowed_format():
    with pytest.raises(preprocess.ImageRejected, match="not a PNG, JPEG"):
        preprocess.from_upload(images.tiff_bytes())


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_files_are_rejected(cut):
    for data in (images.png(images.seven(400)), images.encode(images.seven(400).convert("RGB"), "JPEG")):
        with pytest.raises(preprocess.ImageRejected, match="truncated|corrupt|not a PNG"):
            preprocess.from_upload(data[: int(len(data) * cut)])


def test_decompression_bomb_is_rejected_before_decoding():
    data = images.bomb_png(20000)
    assert len(data) < 10_000
    with pytest.raises(preprocess.ImageRejected, match="limit is 4096x4096"):
        preprocess.from_upload(data)
    with pytest.raises(preprocess.ImageRejected, match="decompression bomb|limit"):
        preprocess.from_upload(images.bomb_png(100_000))


def test_oversized_file_is_rejected():
    with pytest.raises(preprocess.ImageRejected, match="limit is 5 MB"):
        preprocess.decode_upload(b"\x89PNG" + b"\x00" * (5 * 2**20 + 1))


def _png(side: int, ink: bool = True, h: int | None = None) -> bytes:
    import io

    from PIL import Image

    a = np.zeros((h or side, side, 4), np.uint8)
    a[..., 3] = 255
    if ink:
        a[side // 7 : -side // 7, side // 2 - side // 14 : side // 2 + side // 14, :3] = 255  # a "1"
    b = io.BytesIO()
    Image.fromarray(a, "RGBA").save(b, "PNG")
    return b.getvalue()


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_the_canvas_png_at_a_screens_pixel_ratio_gives_the_digit_the_array_gives(scale):
    import io

    from PIL import Image

    steps = preprocess.from_canvas_png(_png(280 * scale), 280)
    small = preprocess.from_canvas(np.asarray(Image.open(io.BytesIO(_png(280)))))
    assert steps.digit.shape == (28, 28) and steps.digit.max() > 0.9
    assert np.abs(steps.digit - small.digit).mean() < 0.02


@pytest.mark.parametrize(
    "raw",
    [
        b"not a png",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,  # no IHDR
        _png(279),  # smaller than the canvas
        _png(280 * 4 + 8),  # past a 4x pixel ratio
        _png(280, h=300),  # not square
    ],
)
def test_a_canvas_value_that_is_not_the_canvass_png_is_refused(raw):
    with pytest.raises(preprocess.ImageRejected):
        preprocess.from_canvas_png(raw, 280)


def test_a_canvas_bomb_is_refused_from_its_header_without_decoding():
    """A 13,000 x 13,000 PNG (a 0.2 MB message) would decode to 676 MB of RGBA: refused before any pixel."""
    import io
    import tracemalloc

    from PIL import Image

    big = Image.new("L", (13_000, 13_000))
    b = io.BytesIO()
    big.save(b, "PNG")
    raw = b.getvalue()
    del big
    tracemalloc.start()
    with pytest.raises(preprocess.ImageRejected):
        preprocess.from_canvas_png(raw, 280)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 * 2**20  # nothing decoded
    assert Image.MAX_IMAGE_PIXELS == preprocess.MAX_SIDE**2  # and Pillow's own check holds for the whole process


def test_an_empty_canvas_value_says_draw_a_digit():
    with pytest.raises(preprocess.EmptyImage):
        preprocess.from_canvas_png(b"", 280)
    with pytest.raises(preprocess.EmptyImage):
        preprocess.from_canvas_png(_png(280, ink=False), 280)
