"""MNIST, held in memory as uint8 tensors, plus a bundled sample of real test digits for offline use."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .messages import Message, of

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / "data"  # git-ignored download target
SAMPLE_PATH = Path(__file__).resolve().parent / "assets" / "mnist_test_sample.npz"
_FILES = {True: "train-images-idx3-ubyte", False: "t10k-images-idx3-ubyte"}
_LABELS = {True: "train-labels-idx1-ubyte", False: "t10k-labels-idx1-ubyte"}
_lock = threading.Lock()  # one loader at a time; results are cached
DOWNLOAD_RETRY_S = 600.0  # an offline server asks the network this often at most, not on every page rerun
_download_failed: dict[bool, tuple[float, str]] = {}  # train -> (monotonic time, message) of the last failure


class DatasetUnavailable(RuntimeError):
    """MNIST is not on disk and could not be downloaded."""


@dataclass(frozen=True)
class Digits:
    images: torch.Tensor  # (N, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64
    source: str  # human-readable origin, shown in the UI
    full: bool  # True for a complete official split

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, idx: torch.Tensor | slice) -> torch.Tensor:
        """Float pixels in [0, 1] for the given indices: (n, 1, 28, 28)."""
        return to_float(self.images[idx])


def to_float(images: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) float32 in [0, 1]."""
    return images.unsqueeze(1).float().div_(255)


def _has_raw(root: Path, train: bool) -> bool:
    return all((root / "MNIST" / "raw" / f[train]).is_file() for f in (_FILES, _LABELS))


def _candidate_roots() -> list[Path]:
    roots = []
    if os.environ.get("MNIST_DIR"):
        roots.append(Path(os.environ["MNIST_DIR"]).expanduser())
    roots.append(DATA_DIR)
    return roots


HOW_TO = Message(
    "MNIST is not available offline. Set MNIST_DIR to a folder holding MNIST/raw/*-ubyte "
    "(the four official IDX files), or put them in data/MNIST/raw/, or run once with internet access. "
    "Until then ae-lab uses its bundled sample of 1,000 real test digits."
)


def read_idx(path: Path, dims: int) -> np.ndarray:
    """One of MNIST's IDX files as a uint8 array: a 4-byte magic (0, 0, 8 for unsigned bytes, the number of
    dimensions), the big-endian sizes, then the bytes. torchvision's MNIST reads the same files, but importing
    torchvision pulls in torch._dynamo (about 1.4 s), and the playground's first page needs only these two arrays."""
    raw = path.read_bytes()
    if len(raw) < 4 + 4 * dims or raw[:4] != bytes([0, 0, 8, dims]):
        raise ValueError(f"{path.name}: not an IDX file of {dims}-d unsigned bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    body = np.frombuffer(raw, np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path.name}: {body.size} bytes for a shape of {shape}")
    return body.reshape(shape)


def _from_disk(root: Path, train: bool) -> Digits:
    raw = root / "MNIST" / "raw"
    images = torch.from_numpy(read_idx(raw / _FILES[train], 3).copy())  # (N, 28, 28) uint8
    labels = torch.from_numpy(read_idx(raw / _LABELS[train], 1).astype(np.int64))  # (N,)
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError(f"MNIST files of {tuple(images.shape)} images and {len(labels)} labels")
    return _digits(images, labels, train, root)


@lru_cache(maxsize=2)
def load_mnist(train: bool) -> Digits:
    """The official split from MNIST_DIR, data/, or a download (torchvision's mirrors); raises DatasetUnavailable."""
    with _lock:
        for root in _candidate_roots():
            if _has_raw(root, train):
                try:
                    return _from_disk(root, train)
                except ValueError as e:  # a damaged file: say so in the log, and try the next place
                    logging.getLogger("ae_lab").warning("MNIST in %s is unreadable: %s", root, e)
        if os.environ.get("AE_LAB_OFFLINE") == "1":
            raise DatasetUnavailable(HOW_TO)
        failed = _download_failed.get(train)
        if failed and time.monotonic() - failed[0] < DOWNLOAD_RETRY_S:
            raise DatasetUnavailable(failed[1])
        try:
            _download(DATA_DIR, train)
            return _from_disk(DATA_DIR, train)
        except Exception as e:  # noqa: BLE001 - any network failure means "offline"
            msg = Message("{how_to} (download failed: {error})", how_to=HOW_TO, error=type(e).__name__)
            _download_failed[train] = (time.monotonic(), msg)
            raise DatasetUnavailable(msg) from e


def _fetch(url: str, timeout: float) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read(64 * 1024 * 1024)  # the largest MNIST file is 9.9 MB packed


def _download(root: Path, train: bool, timeout: float = 10.0) -> None:
    """Fetch one split's two files from torchvision's mirrors, md5-checked. The timeout is per request: setting
    socket.setdefaulttimeout instead would change every other connection in the server."""
    import gzip
    import hashlib

    from torchvision.datasets import MNIST

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    prefix = "train" if train else "t10k"
    for filename, md5 in MNIST.resources:
        target = raw / filename.removesuffix(".gz")
        if not filename.startswith(prefix) or target.is_file():
            continue
        errors = []
        for mirror in MNIST.mirrors:
            try:
                packed = _fetch(f"{mirror}{filename}", timeout)
            except OSError as e:
                errors.append(e)
                continue
            if hashlib.md5(packed).hexdigest() != md5:
                errors.append(ValueError(f"{filename}: checksum mismatch"))
                continue
            tmp = target.with_name(f".tmp-{target.name}")
            tmp.write_bytes(gzip.decompress(packed))
            os.replace(tmp, target)  # a half-written file never looks like a dataset
            break
        else:
            raise OSError(f"could not download {filename}: {errors}")


def _digits(images: torch.Tensor, labels: torch.Tensor, train: bool, root: Path) -> Digits:
    n = len(images)
    source = (
        Message("MNIST training set, full, {n:,} digits", n=n)
        if train
        else Message("MNIST test set, full, {n:,} digits", n=n)
    )
    # The folder goes to the server log only: pages, sidecars and downloads never show server paths.
    logging.getLogger("ae_lab").info("%s loaded from %s", source, root)
    return Digits(images, labels, source, full=True)


@lru_cache(maxsize=1)
def load_sample() -> Digits:
    """The bundled sample: 100 real MNIST test digits per class."""
    with np.load(SAMPLE_PATH) as z:
        images, labels = torch.from_numpy(z["images"].copy()), torch.from_numpy(z["labels"].astype(np.int64))
    return Digits(images, labels, Message("bundled sample (1,000 MNIST test digits)"), full=False)


def test_digits() -> Digits:
    """The full 10k test set when available, otherwise the bundled sample."""
    try:
        return load_mnist(train=False)
    except DatasetUnavailable:
        return load_sample()


def dataset_status() -> tuple[bool, str]:
    """(full test set available?, message for the UI)."""
    try:
        d = load_mnist(train=False)
        return True, Message("Using the full test set: {source}", source=d.source)
    except DatasetUnavailable as e:
        return False, of(e)
