"""Every awkward or hostile upload, through the real playground page: a clear message or a correct digit, never a traceback."""

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests import images
from tests.conftest import ROOT, shown

pytestmark = pytest.mark.slow

CASES = {
    **{
        name: (data, "not a PNG, JPEG, BMP, GIF or WebP" if data else "The file is empty")
        for name, data in images.HOSTILE.items()
    },
    "tiff.png": (images.tiff_bytes(), "not a PNG, JPEG, BMP, GIF or WebP"),
    "truncated.png": (images.png(images.seven(400))[:700], "truncated or corrupt"),
    "truncated.jpg": (images.encode(images.seven(400).convert("RGB"), "JPEG")[:900], "truncated or corrupt"),
    "bomb.png": (images.bomb_png(20000), "limit is 4096x4096"),
    "huge-bomb.png": (images.bomb_png(100_000), "limit"),
    "one-pixel.png": (images.png(Image.new("L", (1, 1), 255)), "no ink"),
    "line-1x4000.png": (images.png(Image.new("L", (1, 4000), 255)), "no ink"),
    "oversize.png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 2**20 + 10), "the limit is 5 MB"),
}
GOOD = {
    "16bit.png": images.gray16(images.seven()),
    "palette.png": images.palette_transparent(images.seven()),
    "rgba.png": images.rgba_transparent(images.seven()),
    "cmyk.jpg": images.cmyk_jpeg(images.seven()),
    "exif.jpg": images.exif_rotated_jpeg(images.seven())[0],
}


@pytest.fixture(scope="module")
def at():
    a = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    a.radio(key="pg_source").set_value("upload").run()
    return a


@pytest.mark.parametrize("name", list(CASES))
def test_bad_upload_gets_a_clear_message(at, name):
    data, message = CASES[name]
    at.file_uploader(key="pg_upload").set_value((name, data, "image/png")).run()
    assert not at.exception
    errors = " ".join(shown(e.value) for e in at.error)
    assert message in errors and name in errors
    assert "Traceback" not in errors
    assert not any('class="ae-row"' in h.proto.body for h in at.get("html"))  # no model ran


@pytest.mark.parametrize("name", list(GOOD))
def test_odd_but_valid_images_are_converted(at, name):
    at.file_uploader(key="pg_upload").set_value((name, GOOD[name], "image/png")).run()
    assert not at.exception and not at.error
    assert any('class="ae-row"' in h.proto.body and "Conv DAE" in h.proto.body for h in at.get("html"))


def test_the_page_keeps_working_after_bad_input(at):
    at.file_uploader(key="pg_upload").set_value(("x.png", b"garbage", "image/png")).run()
    at.radio(key="pg_source").set_value("mnist").run()
    assert not at.exception and not at.error
    assert any('class="ae-row"' in h.proto.body for h in at.get("html"))
