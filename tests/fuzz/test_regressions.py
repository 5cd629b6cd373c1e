"""Each failure the property-based tests found, as a plain test with the shrunk example, next to its fix."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from ae_core import evaluate, preprocess, render, store, train
from tests.conftest import ROOT
from ui import panels

_, MODEL = store.load_model("dense_dae")
BLOB, GOOD = store.to_bytes("dense_dae", MODEL, {"name": "dense_dae"})


def png(w: int, h: int, value: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (w, h), value).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("w,h", [(4000, 1), (4096, 2)])
def test_a_thin_strip_has_previews_of_drawable_size(w, h):
    """Streamlit scaled the 4000x1 'raw' preview to the page width and 0 px height: Pillow refused (render.preview)."""
    strip = np.zeros((h, w), np.float32)
    strip[:, w // 3 : w // 2] = 1
    steps = preprocess.to_mnist(strip)
    for _, data in panels.step_pngs(steps):
        im = Image.open(io.BytesIO(data))
        assert max(im.size) <= render.PREVIEW_BOX and min(im.size) * render.PREVIEW_MIN_RATIO >= max(im.size)


@pytest.mark.slow
@pytest.mark.parametrize("w,h", [(4000, 1), (4096, 2)])
@pytest.mark.parametrize("ink", [0, 255])
def test_the_two_reported_files_render_the_playground_or_a_message(w, h, ink):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.radio(key="pg_source").set_value("upload").run()
    data = png(w, h, ink) if ink == 0 else png(w, h, 0)
    if ink:  # a white stroke across the middle third of a black strip
        im = Image.open(io.BytesIO(data))
        im.paste(255, (w // 3, 0, 2 * w // 3, h))
        buf = io.BytesIO()
        im.save(buf, "PNG")
        data = buf.getvalue()
    at.file_uploader(key="pg_upload").set_value([(f"{w}x{h}.png", data, "image/png")]).run()
    assert not at.exception, [e.value for e in at.exception]
    rows = [x for x in at.get("html") if 'class="ae-row"' in x.proto.body]
    assert rows if ink else any("no ink" in m.value for m in [*at.info, *at.error])


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({**GOOD, "model_key": []}).encode(),  # an unhashable model key: TypeError in the registry lookup
        b"[" * 5000 + b"]" * 5000,  # RecursionError in json.loads
        b'{"model_key": "dense_dae", "n": ' + b"9" * 5000 + b"}",  # ValueError: int with more than 4300 digits
    ],
    ids=["list-key", "deep", "huge-int"],
)
def test_hostile_sidecars_are_refused(raw):
    with pytest.raises(store.WeightsError):
        store.from_bytes(BLOB, raw)


def test_upload_metadata_of_the_wrong_shape_falls_back():
    """A config that is a list crashed the upload (list.items), and string metrics broke the history table."""
    from serve.jobs import uploaded_job

    side = dict(GOOD, config=[1], test_metrics={"psnr": "high", "ssim": float("nan"), "bce": 0.5})
    job = uploaded_job(BLOB, json.dumps(side).encode(), "x.safetensors")
    assert job.config.epochs == 30 and job.test_metrics == {"bce": 0.5}


@pytest.mark.parametrize(
    "main,argv",
    [
        (evaluate.main, ["--seed", "18446744073709551616"]),  # RuntimeError: overflow when seeding the generator
        (train.main, ["--model", "dense_dae", "--seed", "18446744073709551616"]),
        (train.main, ["--model", "dense_dae", "--name", "../up"]),  # refused only after training, before
        (train.main, ["--model", "dense_dae", "--device", "tpu"]),
    ],
)
def test_cli_values_that_failed_late_are_usage_errors(main, argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and "error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arr",
    [
        np.zeros((5, 5, 5), np.uint8),
        np.ones((3, 3), np.float64) * np.nan,
        np.zeros(10, np.uint8),
        np.ones((2, 2, 4), bool),
    ],
    ids=["five-channels", "nan", "flat", "bool"],
)
def test_odd_canvas_arrays_give_a_message(arr):
    """Image.fromarray raised TypeError for 5 channels and flat arrays; NaN cast to garbage."""
    with pytest.raises((preprocess.EmptyImage, preprocess.ImageRejected)) as e:
        preprocess.from_canvas(arr)
    assert "Draw" in str(e.value) or "drawing" in str(e.value)
