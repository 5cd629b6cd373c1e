"""Hypothesis strategies for ae-lab's input surfaces: image files, canvas arrays, URL values, weight files, CLI args."""

from __future__ import annotations

import io
import json
import os
import struct

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image

SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 1  # make fuzz runs each test 10x longer


def examples(n: int) -> settings:
    """A case budget for one test: n in CI (derandomised, fixed), 10n under `make fuzz`. Cases may be slow (big
    images): the budget is the count, not a per-case deadline."""
    return settings(
        max_examples=n * SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


# --- image files ------------------------------------------------------------------------------------------------------
SIDES = st.one_of(st.sampled_from([1, 2, 3, 4, 27, 28, 29, 4095, 4096]), st.integers(1, 4096))
# What each format can hold (Pillow converts others or refuses): the generator draws only real combinations.
MODES = {
    "PNG": ["1", "L", "LA", "P", "P+t", "RGB", "RGBA", "I;16"],
    "JPEG": ["L", "RGB", "CMYK"],
    "BMP": ["1", "L", "P", "RGB", "RGBA"],
    "GIF": ["L", "P", "P+t"],
    "WEBP": ["L", "RGB", "RGBA"],
    "TIFF": ["I", "F", "L"],  # 32-bit and float images: not an allowed format, so refused with a message
}
CONTENTS = ("blank", "full", "pixel", "noise", "stroke")
NOISE_MAX_PIXELS = 300 * 300  # random noise compresses badly: larger noise images would take seconds to encode


def _pixels(w: int, h: int, content: str, where: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """(h, w) uint8 with the content drawn: 0 is background, 255 is full."""
    a = np.zeros((h, w), np.uint8)
    if content == "full":
        a[:] = 255
    elif content == "pixel":
        a[int(where[1] * (h - 1)), int(where[0] * (w - 1))] = 255
    elif content == "noise":
        a = rng.integers(0, 256, (h, w), dtype=np.uint8)
    elif content == "stroke":  # a thick diagonal, like a drawn '1'
        yy, xx = np.mgrid[:h, :w]
        a[np.abs(yy / max(h - 1, 1) - xx / max(w - 1, 1)) < 0.12] = 255
    return a


def _image(mode: str, a: np.ndarray, invert: bool) -> Image.Image:
    if invert:
        a = 255 - a
    base = Image.fromarray(a, "L")
    if mode == "P+t":
        im = base.convert("P")
        im.info["transparency"] = 0
        return im
    if mode == "LA":
        return Image.merge("LA", (base, base))  # alpha follows the ink
    if mode == "RGBA":
        return Image.merge("RGBA", (base, base, base, base))
    if mode == "I;16":
        return Image.fromarray(a.astype(np.uint16) * 257)
    if mode == "I":
        return Image.fromarray(a.astype(np.int32) * 100)
    if mode == "F":
        return Image.fromarray(a.astype(np.float32) / 255)
    return base.convert(mode)


def encode(im: Image.Image, fmt: str, orientation: int | None, frames: int, progressive: bool) -> bytes:
    buf = io.BytesIO()
    kw: dict = {}
    if orientation is not None and fmt in ("PNG", "JPEG", "WEBP"):
        exif = Image.Exif()
        exif[0x0112] = orientation
        kw["exif"] = exif
    if fmt == "JPEG" and progressive:
        kw["progressive"] = True
    if frames > 1 and fmt in ("GIF", "WEBP"):
        kw["save_all"] = True
        kw["append_images"] = [im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)] * (frames - 1)
    if fmt == "WEBP":
        kw["lossless"] = True
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


@st.composite
def image_files(draw) -> tuple[bytes, dict]:
    """(file bytes, what they are) over sizes, modes, formats, EXIF orientations and contents."""
    fmt = draw(st.sampled_from(sorted(MODES)))
    mode = draw(st.sampled_from(MODES[fmt]))
    w, h = draw(SIDES), draw(SIDES)
    if fmt in ("WEBP", "TIFF"):  # keep sizes where these encoders are quick (TIFF is stored uncompressed)
        w, h = min(w, 1024), min(h, 1024)
    content = draw(st.sampled_from(CONTENTS))
    if content == "noise" and w * h > NOISE_MAX_PIXELS:
        content = "stroke"
    where = (draw(st.floats(0, 1)), draw(st.floats(0, 1)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    im = _image(mode, _pixels(w, h, content, where, rng), invert=draw(st.booleans()))
    orientation = draw(st.none() | st.integers(1, 8))
    frames = draw(st.sampled_from([1, 1, 2, 3])) if fmt in ("GIF", "WEBP") and w * h <= 512 * 512 else 1
    progressive = draw(st.booleans())
    data = encode(im, fmt, orientation, frames, progressive)
    return data, {"format": fmt, "mode": mode, "size": (w, h), "content": content, "exif": orientation}


@st.composite
def mutated_files(draw) -> tuple[bytes, dict]:
    """A valid small file, then truncated, with flipped bytes, or with a header that lies about its size."""
    w, h = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    fmt = draw(st.sampled_from(sorted(MODES)))
    mode = draw(st.sampled_from(MODES[fmt]))
    im = _image(mode, _pixels(w, h, "stroke", (0.5, 0.5), np.random.default_rng(0)), invert=False)
    data = bytearray(encode(im, fmt, None, 1, False))
    how = draw(st.sampled_from(["truncate", "flip", "lie"]))
    if how == "truncate":
        data = data[: draw(st.integers(0, max(0, len(data) - 1)))]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
    elif fmt == "PNG" and len(data) > 24:  # IHDR width and height, CRC left as it was
        data[16:24] = struct.pack(">II", draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 2**31 - 1)))
    elif fmt == "BMP" and len(data) > 26:
        data[18:26] = struct.pack("<ii", draw(st.integers(-(2**31), 2**31 - 1)), draw(st.integers(-(2**31), 2**31 - 1)))
    elif fmt == "GIF" and len(data) > 10:
        data[6:10] = struct.pack("<HH", draw(st.integers(0, 65535)), draw(st.integers(0, 65535)))
    else:
        data = data[: len(data) // 2]
    return bytes(data), {"format": fmt, "mutation": how}


def oversized_file(w: int, h: int) -> bytes:
    """A blank PNG just past the 4096-pixel cap on one side."""
    return encode(Image.new("L", (w, h)), "PNG", None, 1, False)


# --- canvas arrays ------------------------------------------------------------------------------------------------------
@st.composite
def canvas_arrays(draw) -> np.ndarray:
    """What a drawing component might hand back: usually (H, W, 4) uint8, sometimes odd shapes and dtypes."""
    kind = draw(st.sampled_from(["rgba", "rgba", "rgba", "odd"]))
    h, w = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    a = np.zeros((h, w, 4), np.uint8)
    what = draw(st.sampled_from(["transparent", "dot", "full", "border", "line", "stroke"]))
    if what == "dot":
        y, x = draw(st.sampled_from([(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1)]))
        a[y, x] = 255
    elif what == "full":
        a[:] = 255
    elif what == "border":
        a[0], a[-1], a[:, 0], a[:, -1] = 255, 255, 255, 255
    elif what == "line":
        a[h // 2, :] = 255
    elif what == "stroke":
        a[h // 4 : h // 4 + max(1, h // 8), w // 4 : 3 * w // 4] = 255
    if kind == "rgba":
        return a
    shape = draw(st.sampled_from(["gray", "rgb", "two", "five", "flat", "empty", "4d"]))
    b = {
        "gray": a[..., 0],
        "rgb": a[..., :3],
        "two": a[..., :2],
        "five": np.concatenate([a, a[..., :1]], -1),
        "flat": a.reshape(-1),
        "empty": np.zeros((0, w, 4), np.uint8),
        "4d": a[None],
    }[shape]
    dtype = draw(st.sampled_from(["uint8", "float32", "float64", "bool", "int64", "uint16"]))
    b = b.astype(dtype)
    return b / draw(st.sampled_from([1.0, 255.0])) if dtype.startswith("float") else b  # floats: 0-255 or 0-1


# --- URL values -----------------------------------------------------------------------------------------------------------
URL_KEYS = (
    "source",
    "digit",
    "noise",
    "factor",
    "seed",
    "show",
    "baselines",
    "residuals",
    "feed_clean",
    "sources",
    "hide",
)
URL_VALUES = st.one_of(
    st.text(max_size=30),
    st.text(min_size=500, max_size=3000),
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e999", "0x10", "1_000", "٣", "⁵", "mnist", "draw", "upload"]),
    st.sampled_from(["gaussian", "salt_pepper", "masking", "0.35", "0.051", "-0", "42", "9999999999"]),
    # lesson-link lists: good, bad, empty, repeated and mixed items
    st.lists(
        st.sampled_from(
            ["basic_ae", "conv_dae", "median", "tv", "draw", "mnist", "factor", "retrain", "none", "x", ""]
        ),
        max_size=6,
    ).map(",".join),
    st.sampled_from(["1", "0", "on", "off", "true", "maybe"]),
)
queries = st.dictionaries(st.one_of(st.sampled_from(URL_KEYS), st.text(max_size=20)), URL_VALUES, max_size=8)


# --- weight files --------------------------------------------------------------------------------------------------------
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    JSON_LEAVES,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=20,
)


def deep(n: int) -> str:
    return "[" * n + "]" * n


def sidecar_bytes(good: dict):
    """A real sidecar with fields replaced, removed or made hostile; or raw JSON text that is hostile on its own."""

    @st.composite
    def build(draw) -> bytes:
        how = draw(st.sampled_from(["fields", "fields", "raw"]))
        if how == "raw":
            return draw(
                st.sampled_from(
                    [
                        deep(5_000).encode(),
                        ('{"model_key": "dense_dae", "n": ' + "9" * 5000 + "}").encode(),
                        b'{"model_key": "\\ud800"}',
                        b"\xff\xfe{}",
                        b"",
                        b"[]",
                        b'"model_key"',
                        json.dumps({**good, "config": deep(50)}).encode(),
                    ]
                )
            )
        side = dict(good)
        for key in draw(st.lists(st.sampled_from(sorted(good) + ["config", "test_metrics", "dataset"]), max_size=4)):
            if draw(st.booleans()):
                side.pop(key, None)
            else:
                side[key] = draw(json_values)
        return json.dumps(side, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")

    return build()


@st.composite
def safetensors_blobs(draw, good: bytes) -> bytes:
    """A real safetensors file whose JSON header or length prefix lies."""
    (n,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8 : 8 + n])
    body = good[8 + n :]
    how = draw(st.sampled_from(["offsets", "overlap", "dtype", "shape", "length", "extra", "truncate"]))
    names = sorted(k for k in header if k != "__metadata__")
    name = draw(st.sampled_from(names))
    if how == "offsets":
        header[name]["data_offsets"] = [draw(st.integers(0, 2**63 - 1)), draw(st.integers(0, 2**63 - 1))]
    elif how == "overlap":
        other = header[draw(st.sampled_from(names))]["data_offsets"]
        header[name]["data_offsets"] = list(other)
    elif how == "dtype":
        header[name]["dtype"] = draw(st.sampled_from(["F64", "F16", "BF16", "I64", "U8", "BOOL", "X9", ""]))
    elif how == "shape":
        header[name]["shape"] = draw(st.lists(st.integers(0, 2**40), max_size=4))
    elif how == "extra":
        header["ghost"] = {"dtype": "F32", "shape": [2**30], "data_offsets": [0, 2**32]}
    raw = json.dumps(header).encode()
    prefix = struct.pack("<Q", len(raw))
    if how == "length":
        prefix = struct.pack("<Q", draw(st.sampled_from([0, 7, 2**63 - 1, 2**40, len(raw) + 1, len(raw) - 1])))
    blob = prefix + raw + body
    if how == "truncate":
        blob = blob[: draw(st.integers(0, len(blob) - 1))]
    return blob


# --- CLI arguments ------------------------------------------------------------------------------------------------------
NUMBERS = st.one_of(
    st.integers(-(10**25), 10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-1", "1e309", "nan", "", "ten", "2**64", "1.5", "18446744073709551616"]),
)
