import os
import socket

import numpy as np
import pytest
import torch

from ae_core import data
from tests.conftest import needs_mnist


def test_bundled_sample_is_real_balanced_and_small(sample):
    assert data.SAMPLE_PATH.stat().st_size < 500 * 1024
    assert sample.images.shape == (1000, 28, 28) and sample.images.dtype == torch.uint8
    assert torch.bincount(sample.labels, minlength=10).tolist() == [100] * 10
    assert not sample.full


@needs_mnist
def test_sample_digits_are_the_official_test_digits(sample):
    test = data.load_mnist(train=False)
    with np.load(data.SAMPLE_PATH) as z:
        idx = torch.from_numpy(z["test_index"].astype(np.int64))
    assert torch.equal(test.images[idx], sample.images)
    assert torch.equal(test.labels[idx], sample.labels)


@needs_mnist
def test_full_mnist_loads_as_uint8_tensors():
    train, test = data.load_mnist(train=True), data.load_mnist(train=False)
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert train.images.dtype == torch.uint8 and train.full
    assert data.load_mnist(train=True) is train  # loaded once
    b = test.batch(torch.tensor([0, 1]))
    assert b.shape == (2, 1, 28, 28) and b.dtype == torch.float32 and b.min() >= 0 and b.max() <= 1
    assert test.labels[:3].tolist() == [7, 2, 1]


def test_offline_without_dataset_falls_back_to_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    monkeypatch.setenv("AE_LAB_OFFLINE", "1")
    monkeypatch.setattr(data, "DATA_DIR", tmp_path / "nothing")
    data.load_mnist.cache_clear()
    try:
        digits = data.test_digits()
        ok, msg = data.dataset_status()
        assert not digits.full and len(digits) == 1000
        assert not ok and "MNIST_DIR" in msg and "bundled sample" in msg
    finally:
        data.load_mnist.cache_clear()


def test_a_failed_download_is_not_retried_on_every_rerun(tmp_path, monkeypatch):
    """Offline without AE_LAB_OFFLINE: the playground asks for the dataset on every rerun; only the first (and one
    per DOWNLOAD_RETRY_S) may touch the network, or each rerun would wait on it."""
    attempts = []

    def no_network(url, timeout):
        attempts.append(url)
        # The timeout goes with the request; the process-wide socket default must stay as it was (None).
        assert timeout == 10 and socket.getdefaulttimeout() is None
        raise OSError("network unreachable")

    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    monkeypatch.delenv("AE_LAB_OFFLINE", raising=False)
    monkeypatch.setattr(data, "DATA_DIR", tmp_path / "nothing")
    monkeypatch.setattr(data, "_download_failed", {})
    monkeypatch.setattr(data, "_fetch", no_network)
    data.load_mnist.cache_clear()
    try:
        for _ in range(5):
            ok, msg = data.dataset_status()
            assert not ok and "download failed: OSError" in msg and "bundled sample" in msg
        mirrors = len(attempts)
        assert mirrors == 2 and all("t10k-images" in u for u in attempts)  # each mirror once, for the first file
        assert len(data.test_digits()) == 1000  # the app goes on with the sample
        t, m = data._download_failed[False]
        data._download_failed[False] = (t - data.DOWNLOAD_RETRY_S, m)  # time passes: try the network again
        data.dataset_status()
        assert len(attempts) == 2 * mirrors
    finally:
        data.load_mnist.cache_clear()


@needs_mnist
def test_the_note_says_restart_when_mnist_appears_after_start(tmp_path, monkeypatch):
    from ui import server

    monkeypatch.setenv("AE_LAB_OFFLINE", "1")
    monkeypatch.setattr(data, "DATA_DIR", tmp_path / "nothing")
    real = os.environ["MNIST_DIR"]
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    data.load_mnist.cache_clear()
    try:
        assert "bundled sample" in server.dataset_note() and "MNIST_DIR" in server.dataset_note()
        monkeypatch.setenv("MNIST_DIR", real)  # the teacher copies the files in while the app runs
        assert "restart the app" in server.dataset_note()
    finally:
        data.load_mnist.cache_clear()


@needs_mnist
def test_the_idx_reader_gives_torchvisions_digits():
    """The loader reads the IDX files itself (torchvision's import costs the first page 1.4 s): the same tensors."""
    from torchvision.datasets import MNIST

    for train in (True, False):
        ours = data.load_mnist(train=train)
        theirs = MNIST(str(ours_root()), train=train, download=False)
        assert torch.equal(ours.images, theirs.data) and torch.equal(ours.labels, theirs.targets)
        assert ours.labels.dtype == torch.int64 and ours.images.dtype == torch.uint8


def ours_root():
    return next(r for r in data._candidate_roots() if data._has_raw(r, False))


def test_a_damaged_idx_file_falls_back_to_the_sample(tmp_path, monkeypatch):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + (10).to_bytes(4, "big") + bytes(8) + bytes(99))
    (raw / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + bytes(10))
    for bad in (b"\x00\x00\x09\x03", b"PK\x03\x04"):  # wrong type byte, not an IDX file at all
        (tmp_path / "x").write_bytes(bad + bytes(20))
        with pytest.raises(ValueError, match="not an IDX file"):
            data.read_idx(tmp_path / "x", 3)
    with pytest.raises(ValueError, match="99 bytes for a shape of"):
        data.read_idx(raw / "t10k-images-idx3-ubyte", 3)
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    monkeypatch.setenv("AE_LAB_OFFLINE", "1")
    monkeypatch.setattr(data, "DATA_DIR", tmp_path / "nothing")
    data.load_mnist.cache_clear()
    try:
        assert len(data.test_digits()) == 1000 and not data.test_digits().full  # the sample, not a crash
    finally:
        data.load_mnist.cache_clear()


@needs_mnist
def test_the_status_names_the_full_test_set():
    ok, msg = data.dataset_status()
    assert ok and str(msg) == "Using the full test set: MNIST test set, full, 10,000 digits"


def test_a_download_tries_each_mirror_checks_md5_and_writes_only_good_files(tmp_path, monkeypatch):
    """torchvision's mirrors and md5 sums, with the network replaced by files held here."""
    import gzip
    import hashlib

    from torchvision.datasets import MNIST

    good = {
        name: gzip.compress(name.encode() * 50) for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    }
    resources = [(n, hashlib.md5(b).hexdigest()) for n, b in good.items()] + [("train-images-idx3-ubyte.gz", "0" * 32)]
    monkeypatch.setattr(MNIST, "resources", resources)
    monkeypatch.setattr(MNIST, "mirrors", ["https://down/", "https://corrupt/", "https://ok/"])
    asked = []

    def fetch(url, timeout):
        asked.append((url, timeout))
        mirror, name = url.rsplit("/", 1)
        if mirror == "https://down":
            raise OSError("unreachable")
        return good[name][:-1] + b"x" if mirror == "https://corrupt" else good[name]

    monkeypatch.setattr(data, "_fetch", fetch)
    data._download(tmp_path, train=False, timeout=3.0)
    raw = tmp_path / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    for name, blob in good.items():
        assert (raw / name.removesuffix(".gz")).read_bytes() == gzip.decompress(blob)
    assert [u for u, _ in asked] == [
        f"{m}{n}" for n in good for m in ("https://down/", "https://corrupt/", "https://ok/")
    ]  # no train file asked for the test split
    assert {t for _, t in asked} == {3.0}
    asked.clear()
    data._download(tmp_path, train=False)  # both files are there: nothing is fetched again
    assert asked == []


def test_a_download_that_no_mirror_serves_says_which_file_and_writes_nothing(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "resources", [("train-labels-idx1-ubyte.gz", "0" * 32)])
    monkeypatch.setattr(MNIST, "mirrors", ["https://a/", "https://b/"])
    monkeypatch.setattr(data, "_fetch", lambda url, timeout: b"not the file")
    with pytest.raises(OSError) as e:
        data._download(tmp_path, train=True)
    assert str(e.value).startswith("could not download train-labels-idx1-ubyte.gz: [ValueError(")
    assert str(e.value).count("checksum mismatch") == 2
    monkeypatch.setattr(data, "_fetch", lambda url, timeout: (_ for _ in ()).throw(OSError(f"down: {url}")))
    with pytest.raises(OSError) as e:
        data._download(tmp_path, train=True)
    assert "OSError('down: https://a/train-labels-idx1-ubyte.gz')" in str(e.value)  # each mirror's own error
    assert "OSError('down: https://b/train-labels-idx1-ubyte.gz')" in str(e.value)
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []


def idx(dims_sizes: tuple[int, ...], body: bytes, magic: bytes | None = None) -> bytes:
    head = magic if magic is not None else bytes([0, 0, 8, len(dims_sizes)])
    return head + b"".join(n.to_bytes(4, "big") for n in dims_sizes) + body


def test_an_idx_file_is_read_by_its_big_endian_sizes(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(idx((2, 3, 300), bytes(range(256)) * 7 + bytes(1800 - 256 * 7)))
    a = data.read_idx(p, 3)
    assert a.shape == (2, 3, 300) and a.dtype == np.uint8 and a[0, 0, :3].tolist() == [0, 1, 2]
    p.write_bytes(idx((5,), b"\x01\x02\x03\x04\x05"))
    assert data.read_idx(p, 1).tolist() == [1, 2, 3, 4, 5]
    p.write_bytes(idx((0,), b""))  # the shortest file: the magic and one size
    assert data.read_idx(p, 1).shape == (0,)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (idx((5,), b"\x01\x02\x03\x04\x05")[:7], "not an IDX file of 1-d unsigned bytes"),  # a size cut short
        (idx((5,), b"\x01" * 5, magic=bytes([0, 0, 9, 1])), "not an IDX file of 1-d unsigned bytes"),  # not bytes
        (idx((5,), b"\x01" * 5, magic=bytes([0, 0, 8, 2])), "not an IDX file of 1-d unsigned bytes"),  # 2-d
        (idx((5,), b"\x01" * 4), "f: 4 bytes for a shape of (5,)"),
        (idx((5,), b"\x01" * 6), "f: 6 bytes for a shape of (5,)"),
    ],
)
def test_a_damaged_idx_file_is_refused_by_name(tmp_path, raw, says):
    p = tmp_path / "f"
    p.write_bytes(raw)
    with pytest.raises(ValueError) as e:
        data.read_idx(p, 1)
    assert says in str(e.value) and str(tmp_path) not in str(e.value)


def fake_split(root, n_images: int, n_labels: int, side: int = 28, train: bool = False):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / data._FILES[train]).write_bytes(idx((n_images, side, side), bytes(n_images * side * side)))
    (raw / data._LABELS[train]).write_bytes(idx((n_labels,), bytes(i % 10 for i in range(n_labels))))


@pytest.mark.parametrize("train", [False, True])
def test_a_split_read_from_disk_is_full_named_by_its_split_and_logged_without_its_folder(tmp_path, caplog, train):
    import logging

    fake_split(tmp_path, 3, 3, train=train)
    with caplog.at_level(logging.INFO, logger="ae_lab"):
        d = data._from_disk(tmp_path, train)
    assert d.full is True and d.images.shape == (3, 28, 28) and d.labels.tolist() == [0, 1, 2]
    assert d.labels.dtype == torch.int64
    want = f"MNIST {'training' if train else 'test'} set, full, 3 digits"
    assert str(d.source) == want
    assert [r.getMessage() for r in caplog.records if r.name == "ae_lab"] == [f"{want} loaded from {tmp_path}"]
    big = tmp_path / "big"
    fake_split(big, 1234, 1234, train=train)
    assert str(data._from_disk(big, train).source).endswith("full, 1,234 digits")


@pytest.mark.parametrize(("n_images", "n_labels", "side"), [(3, 2, 28), (2, 2, 27)])
def test_a_split_whose_files_disagree_is_refused(tmp_path, n_images, n_labels, side):
    fake_split(tmp_path, n_images, n_labels, side)
    with pytest.raises(ValueError) as e:
        data._from_disk(tmp_path, False)
    assert str(e.value) == f"MNIST files of {(n_images, side, side)} images and {n_labels} labels"


def test_a_fetch_reads_at_most_64_mb_with_its_own_timeout(monkeypatch):
    import urllib.request

    seen = []

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def read(self, n=-1):
            seen.append(("read", n))
            return b"bytes"

    def urlopen(url, timeout=None):
        seen.append((url, timeout))
        return Response()

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    assert data._fetch("https://mirror/x.gz", 7.5) == b"bytes"
    assert seen == [("https://mirror/x.gz", 7.5), ("read", 64 * 1024 * 1024)]
