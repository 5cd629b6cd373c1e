"""The UI's small images (ae_core.render), checked by value: every pixel the pages show comes from here."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ae_core import render


def decode(png: bytes) -> Image.Image:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    im = Image.open(io.BytesIO(png))
    im.load()
    return im


def test_gray_maps_zero_to_one_onto_0_to_255_rounded_and_clipped():
    img = np.array([[0.0, 1.0, 0.5, -3.0], [2.0, 0.2, 0.998, 0.001]], np.float64)
    out = render.gray(img, scale=1)
    assert out.dtype == np.uint8
    # 0.5 * 255 = 127.5 rounds up; 0.2 * 255 = 51; 0.998 * 255 = 254.49 rounds down; 0.001 * 255 = 0.255 rounds down
    assert out.tolist() == [[0, 255, 128, 0], [255, 51, 254, 0]]


def test_gray_rounds_in_float32_as_every_other_image_path_does():
    # 0.1 is 0.100000001 as float32: 26 there, 25 from float64's 25.999999
    assert render.gray(np.array([[0.1, 0.2372549]], np.float64), scale=1).tolist() == [[26, 61]]


def test_gray_upscales_each_pixel_into_a_crisp_square():
    img = np.array([[0.0, 1.0], [1.0, 0.0]])
    out = render.gray(img)  # default scale 6
    assert out.shape == (12, 12)
    assert (out[:6, :6] == 0).all() and (out[:6, 6:] == 255).all()
    assert (out[6:, :6] == 255).all() and (out[6:, 6:] == 0).all()
    assert render.gray(img, scale=3).shape == (6, 6)
    assert render.gray(img, scale=2).tolist() == [
        [0, 0, 255, 255],
        [0, 0, 255, 255],
        [255, 255, 0, 0],
        [255, 255, 0, 0],
    ]


def test_gray_png_and_png_decode_to_the_same_pixels():
    img = np.linspace(0, 1, 28 * 28).reshape(28, 28)
    im = decode(render.gray_png(img, scale=2))
    assert im.mode == "L" and im.size == (56, 56)
    assert np.array_equal(np.asarray(im), render.gray(img, 2))
    im = decode(render.gray_png(img))
    assert im.size == (168, 168)
    rgb = np.zeros((3, 4, 3), np.uint8)
    rgb[1, 2] = (10, 20, 30)
    back = decode(render.png(rgb))
    assert back.mode == "RGB" and back.size == (4, 3)
    assert np.array_equal(np.asarray(back), rgb)


def test_preview_of_a_digit_is_scaled_to_fit_the_box_crisply():
    img = np.zeros((28, 28), np.float32)
    img[10, 11] = 1.0
    out = render.preview(img)
    # 120 // 28 = 4: the largest whole scale within the box
    assert out.shape == (112, 112) and out.dtype == np.uint8
    assert (out[40:44, 44:48] == 255).all() and out.sum() == 255 * 16


@pytest.mark.parametrize(
    ("shape", "scale"), [((1, 1), 6), ((10, 10), 6), ((20, 20), 6), ((24, 24), 5), ((60, 30), 2), ((120, 120), 1)]
)
def test_preview_scales_small_images_by_at_most_6(shape, scale):
    out = render.preview(np.full(shape, 0.5, np.float32))
    assert out.shape == (shape[0] * scale, shape[1] * scale)
    assert (out == 128).all()


def test_preview_shrinks_a_large_image_by_block_maximum_so_thin_ink_stays():
    img = np.zeros((1000, 600), np.float32)
    img[500, 300] = 1.0  # one bright pixel
    img[:, 7] = 0.25  # a one-pixel vertical line
    out = render.preview(img)
    f = -(-1000 // 120)  # 9: the block that brings 1000 within 120
    assert out.shape == (-(-1000 // f), -(-600 // f)) == (112, 67)
    assert out[500 // f, 300 // f] == 255 and out.max() == 255 and (out == 255).sum() == 1
    assert (out[:, 7 // f] == 64).all()  # the line survives whole in its column
    assert set(np.unique(out).tolist()) == {0, 64, 255}


def test_preview_pads_a_ragged_large_image_with_black_not_garbage():
    img = np.ones((121, 121), np.float32)
    out = render.preview(img)
    # f = 2: 122 x 122 padded, 61 x 61 blocks; the last block's padding is black but its max is still 1
    assert out.shape == (61, 61) and (out == 255).all()


def test_preview_frames_thin_strips_in_dark_grey_centred():
    out = render.preview(np.ones((1, 4000), np.float32))
    f = -(-4000 // 120)  # 34
    width = -(-4000 // f)  # 118
    side = -(-width // render.PREVIEW_MIN_RATIO)  # 15: no side shorter than an eighth of the other
    assert out.shape == (side, width)
    top = (side - 1) // 2
    assert (out[top] == 255).all()
    assert (np.delete(out, top, axis=0) == 40).all()
    tall = render.preview(np.ones((4000, 1), np.float32))
    assert tall.shape == (width, side)
    assert (tall[:, top] == 255).all() and (np.delete(tall, top, axis=1) == 40).all()


def test_preview_of_a_strip_at_the_ratio_is_not_framed():
    out = render.preview(np.ones((15, 120), np.float32))
    assert out.shape == (15, 120) and (out == 255).all()
    out = render.preview(np.ones((14, 120), np.float32))
    assert out.shape == (15, 120)
    assert (out[:14] == 255).all() and (
        out[14] == 40
    ).all()  # the one padding row goes below: (15 - 14) // 2 = 0 on top


@pytest.mark.parametrize("bad", [np.zeros((0, 5)), np.zeros((3, 3, 3)), np.zeros(7), np.array(np.nan)])
def test_preview_of_anything_but_an_image_is_one_black_pixel_scaled(bad):
    out = render.preview(bad)
    assert out.shape == (6, 6) and (out == 0).all()


def test_preview_turns_nan_into_black():
    img = np.full((2, 2), np.nan, np.float32)
    img[0, 0] = 1.0
    out = render.preview(img)
    assert out.shape == (12, 12)
    assert (out[:6, :6] == 255).all() and out[6:].sum() == 0 and out[:6, 6:].sum() == 0


def test_preview_png_decodes_to_the_preview():
    img = np.random.default_rng(0).random((50, 3)).astype(np.float32)
    im = decode(render.preview_png(img))
    assert im.mode == "L"
    assert np.array_equal(np.asarray(im), render.preview(img))


def test_residual_is_red_where_removed_blue_where_added_black_where_unchanged():
    res = np.array([[1.0, -1.0, 0.0, 0.5], [-0.5, 3.0, -3.0, 0.2]])
    out = render.residual_rgb(res, scale=1)
    assert out.dtype == np.uint8 and out.shape == (2, 4, 3)
    assert out[0, 0].tolist() == [255, 64, 0]  # green is a quarter of |r|: 0.25 * 255 = 63.75
    assert out[0, 1].tolist() == [0, 64, 255]
    assert out[0, 2].tolist() == [0, 0, 0]
    assert out[0, 3].tolist() == [128, 32, 0]
    assert out[1, 0].tolist() == [0, 32, 128]
    assert out[1, 1].tolist() == [255, 64, 0]  # clipped to 1
    assert out[1, 2].tolist() == [0, 64, 255]  # clipped to -1
    assert out[1, 3].tolist() == [51, 13, 0]


def test_residual_rounds_in_float32():
    # float32(0.6098039) * 255 + 0.5 rounds up to 156 in float32 arithmetic; float64 keeps 155.99999
    res = np.array([[0.6098039150238037, -0.8686274290084839]], np.float32)
    assert render.residual_rgb(res, scale=1)[0].tolist() == [[156, 39, 0], [0, 55, 222]]


def test_residual_upscales_crisply_and_decodes_from_png():
    res = np.array([[1.0, -1.0]])
    out = render.residual_rgb(res)
    assert out.shape == (6, 12, 3)
    assert (out[:, :6] == [255, 64, 0]).all() and (out[:, 6:] == [0, 64, 255]).all()
    assert render.residual_rgb(res, scale=2).shape == (2, 4, 3)
    im = decode(render.residual_png(res, scale=3))
    assert im.mode == "RGB" and im.size == (6, 3)
    assert np.array_equal(np.asarray(im), render.residual_rgb(res, 3))
    assert decode(render.residual_png(res)).size == (12, 6)


def test_grid_tiles_digits_with_grey_padding_in_rows_of_nrow():
    a, b, c = (np.full((28, 28), v, np.float32) for v in (0.0, 1.0, 0.5))
    g = render.grid([a, b, c], nrow=2, scale=1, pad=2)
    # make_grid: 2 columns, 2 rows, padding 2 around and between every tile
    assert g.shape == (2 + 2 * 30, 2 + 2 * 30)
    assert (g[2:30, 2:30] == 0).all()  # first tile
    assert (g[2:30, 32:60] == 255).all()  # second, to its right
    assert (g[32:60, 2:30] == 128).all()  # third starts the next row
    assert (g[32:60, 32:60] == 89).all()  # an empty cell is the frame's grey
    assert (g[0:2, :] == 89).all() and (g[:, 30:32][2:30] == 89).all()  # 0.35 * 255 = 89.25: the grey frame
    assert render.grid([a, b, c], nrow=3, scale=1).shape == (32, 92)


def test_grid_takes_a_tensor_and_scales_and_pads():
    import torch

    t = torch.ones(4, 28, 28)
    g = render.grid(t)  # nrow 8, scale 3, pad 2: one row of four
    assert g.shape == (3 * 32, 3 * (2 + 4 * 30))
    assert render.grid(t, nrow=2, scale=1, pad=0).shape == (56, 56)
    assert (render.grid(t, nrow=2, scale=1, pad=0) == 255).all()


def test_labelled_row_draws_each_caption_under_its_image():
    imgs = [np.zeros((28, 28), np.float32), np.ones((28, 28), np.float32)]
    im = decode(render.labelled_row(imgs, ["clean", "noisy\nPSNR 20.0 dB\nthird line"], scale=2))
    assert im.mode == "RGB"
    # the row (scale 2, padding 2 tiles: 2 + 2*30 wide at scale 1) plus 34 px for two lines of captions
    assert im.size == ((2 + 2 * 30) * 2, (2 + 30) * 2 + 34)
    a = np.asarray(im)
    assert (a[8:60, 8:60] == 0).all() and (a[8:60, 68:120] == 255).all()
    below = a[(2 + 30) * 2 :]
    assert (below[0, 0] == [14, 17, 23]).all()  # the caption band's dark background
    cell = 30 * 2
    ink = below.max(-1) > 150  # the light grey text, anti-aliased
    assert ink[:, :cell].any() and ink[:, cell:].any()  # a caption in each cell
    assert ink[17:, cell:].any()  # the second caption's second line, 14 px under its first
    assert not ink[17:, :cell].any()  # the first caption has one line only
    assert not ink[31:].any()  # a third line is not drawn: two at most


def test_labelled_row_draws_chinese_captions_with_a_cjk_font_when_there_is_one():
    imgs = [np.zeros((28, 28), np.float32)]
    im = decode(render.labelled_row(imgs, ["降噪"], scale=5))
    below = np.asarray(im)[im.height - 34 :]  # the caption band under the row
    font = render._font_for("降噪")
    if font is not None:
        assert font.size == 13
        band = Image.new("RGB", (im.width, 34), (14, 17, 23))
        ImageDraw.Draw(band).text((10, 3), "降噪", fill=(230, 230, 230), font=font)
        assert np.array_equal(below, np.asarray(band))  # the glyphs, not a Latin font's empty boxes
    assert render._font_for("PSNR 20.0 dB") is None  # Latin text keeps Pillow's default font


def test_font_for_text_past_latin_tries_each_cjk_font_then_falls_back(monkeypatch, tmp_path):
    seen = []

    def truetype(path, size):
        seen.append((path, size))
        raise OSError("no such font")

    monkeypatch.setattr(render.ImageFont, "truetype", truetype)
    assert render._font_for("降噪") is None
    assert seen == [(p, 13) for p in render.CJK_FONTS]
    seen.clear()
    assert render._font_for("abc\u1fff") is None and seen == []  # below U+2000 is Latin, Greek and the like
    assert render._font_for("\u2000") is None and len(seen) == len(render.CJK_FONTS)


def test_font_for_returns_the_first_font_that_opens(monkeypatch):
    def truetype(path, size):
        if path == render.CJK_FONTS[1]:
            return ("font", path, size)
        raise OSError

    monkeypatch.setattr(render.ImageFont, "truetype", truetype)
    assert render._font_for("降噪") == ("font", render.CJK_FONTS[1], 13)


def test_png_is_written_fast_not_small():
    img = np.random.default_rng(1).integers(0, 256, (200, 200), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=1)
    assert render.png(img) == buf.getvalue()  # zlib level 1: tiny images, many of them, every run


def test_labelled_row_puts_each_caption_at_its_cell_in_light_grey_two_lines_at_most():
    imgs = [np.full((28, 28), i / 9, np.float32) for i in range(9)]  # more than make_grid's default 8 a row
    labels = [f"m{i}" for i in range(8)] + ["a long name that is cut at 22\nline two\nline three"]
    scale = 2
    im = decode(render.labelled_row(imgs, labels, scale=scale))
    row = render.grid(imgs, nrow=9, scale=scale, pad=2)
    assert row.shape == ((2 + 30) * scale, (2 + 9 * 30) * scale)  # one row of nine
    want = Image.new("RGB", (row.shape[1], row.shape[0] + 34), (14, 17, 23))
    want.paste(Image.fromarray(row).convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(want)
    cell = 30 * scale
    for i, label in enumerate(labels):
        for j, line in enumerate(label.split("\n")[:2]):
            draw.text((i * cell + 2 * scale, row.shape[0] + 3 + 14 * j), line[:22], fill=(230, 230, 230))
    assert np.array_equal(np.asarray(im), np.asarray(want))
    assert not np.array_equal(np.asarray(im), np.asarray(decode(render.labelled_row(imgs, labels[:8] + ["x"], scale))))


def test_the_defaults_are_rows_of_8_at_scale_3_and_captions_at_scale_5():
    imgs = [np.ones((28, 28), np.float32)] * 9
    assert render.grid(imgs).shape == (3 * (2 + 2 * 30), 3 * (2 + 8 * 30))  # nine digits: a second row
    im = decode(render.labelled_row(imgs[:2], ["a", "b"]))
    assert im.size == (5 * (2 + 2 * 30), 5 * (2 + 30) + 34)
