import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from ae_core import store
from ae_core.registry import MODELS, build

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def saved(tmp_path, key="dense_dae", seed=0, **kw):
    model = build(key, seed)
    sidecar = store.save(key, model, {"note": "test"}, tmp_path, **kw)
    return model, sidecar


def assert_same(a, b):
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k


@pytest.mark.parametrize("key", list(MODELS))
def test_round_trip(tmp_path, key):
    model, sidecar = saved(tmp_path, key)
    loaded_sidecar, loaded = store.load_model(key, tmp_path)
    assert_same(model, loaded)
    assert loaded_sidecar["sha256"] == sidecar["sha256"] and loaded_sidecar["note"] == "test"
    assert loaded_sidecar["arch"] == store.arch_fingerprint(key)
    assert {"torch_version", "created", "model_key", "tensor_file"} <= set(loaded_sidecar)
    assert (tmp_path / sidecar["tensor_file"]).read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle


def test_save_keeps_previous_as_backup_and_restore_swaps(tmp_path):
    first, s1 = saved(tmp_path, seed=1)
    second, s2 = saved(tmp_path, seed=2)
    assert store.load("dense_dae.prev", tmp_path)[0]["sha256"] == s1["sha256"]
    assert_same(store.load_model("dense_dae", tmp_path)[1], second)
    store.restore("dense_dae", "prev", tmp_path)
    assert_same(store.load_model("dense_dae", tmp_path)[1], first)
    assert store.load("dense_dae.prev", tmp_path)[0]["sha256"] == s2["sha256"]
    saved(tmp_path, seed=3)  # a third save: the first save's tensor file is no longer referenced
    files = sorted(p.name for p in tmp_path.glob("dense_dae-*.safetensors"))
    assert len(files) == 2


def corrupt(tmp_path, blob: bytes, key="dense_dae", fix_hash=True):
    """Replace the tensor file of a saved model, optionally updating the sidecar's hash to match."""
    _, sidecar = saved(tmp_path, key)
    (tmp_path / sidecar["tensor_file"]).write_bytes(blob)
    if fix_hash:
        import hashlib

        sidecar["sha256"] = hashlib.sha256(blob).hexdigest()
        (tmp_path / f"{key}.json").write_text(json.dumps(sidecar))
    return sidecar


def tensors_blob(key, **changes):
    import safetensors.torch

    sd = dict(build(key).state_dict())
    sd.update(changes)
    return safetensors.torch.save({k: v.contiguous() for k, v in sd.items()})


def test_truncated_file_is_refused(tmp_path):
    _, sidecar = saved(tmp_path)
    path = tmp_path / sidecar["tensor_file"]
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(store.WeightsError, match="sha256"):
        store.load_model("dense_dae", tmp_path)
    corrupt(tmp_path, tensors_blob("dense_dae")[:1000])  # even with a matching hash
    with pytest.raises(store.WeightsError, match="safetensors"):
        store.load_model("dense_dae", tmp_path)


def test_empty_file_is_refused(tmp_path):
    corrupt(tmp_path, b"")
    with pytest.raises(store.WeightsError, match="empty"):
        store.load_model("dense_dae", tmp_path)


def test_wrong_models_file_is_refused(tmp_path):
    saved(tmp_path, "basic_ae")
    (tmp_path / "basic_ae.json").rename(tmp_path / "dense_dae.json")
    with pytest.raises(store.WeightsError, match="for Basic AE, not Dense DAE"):
        store.load_model("dense_dae", tmp_path)
    # and a sidecar that claims the wrong model for the tensors
    corrupt(tmp_path, tensors_blob("basic_ae"), key="dense_dae")
    with pytest.raises(store.WeightsError, match="Tensor .* is|names do not match"):
        store.load_model("dense_dae", tmp_path)


def test_wrong_shape_and_nan_are_refused(tmp_path):
    corrupt(tmp_path, tensors_blob("dense_dae", **{"encoder.weight": torch.zeros(33, 784)}))
    with pytest.raises(store.WeightsError, match=r"encoder.weight is torch.float32 \(33, 784\)"):
        store.load_model("dense_dae", tmp_path)
    corrupt(tmp_path, tensors_blob("dense_dae", **{"decoder.bias": torch.full((784,), float("nan"))}))
    with pytest.raises(store.WeightsError, match="NaN"):
        store.load_model("dense_dae", tmp_path)
    corrupt(tmp_path, tensors_blob("dense_dae", **{"decoder.bias": torch.zeros(784, dtype=torch.float64)}))
    with pytest.raises(store.WeightsError, match="float64"):
        store.load_model("dense_dae", tmp_path)


class Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_pickle_payload_named_safetensors_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    corrupt(tmp_path, pickle.dumps({"encoder.weight": Boom()}))
    with pytest.raises(store.WeightsError, match="Not a valid safetensors"):
        store.load_model("dense_dae", tmp_path)
    torch_pickle = tmp_path / "t.pt"
    torch.save(build("dense_dae").state_dict(), torch_pickle)
    corrupt(tmp_path, torch_pickle.read_bytes())
    with pytest.raises(store.WeightsError, match="Not a valid safetensors"):
        store.load_model("dense_dae", tmp_path)
    assert not (tmp_path / "PWNED").exists()


def test_sidecar_that_lies_about_its_hash(tmp_path):
    _, sidecar = saved(tmp_path)
    sidecar["sha256"] = "0" * 64
    (tmp_path / "dense_dae.json").write_text(json.dumps(sidecar))
    with pytest.raises(store.WeightsError, match="does not match the sha256"):
        store.load_model("dense_dae", tmp_path)


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "../../etc/passwd",
        "/abs/path",
        "\\\\host\\share\\x",
        "a/b",
        "",
        ".hidden",
        "x" * 65,
        "dense_dae.prev",
        "C:\\x",
        "ok\x00",
    ],
)
def test_names_cannot_escape_the_weights_folder(tmp_path, name):
    with pytest.raises(store.WeightsError, match="not a valid weights name"):
        store.save("dense_dae", build("dense_dae"), {}, tmp_path, name=name)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == []


def test_sidecar_pointing_outside_is_refused(tmp_path):
    _, sidecar = saved(tmp_path)
    sidecar["tensor_file"] = "../outside.safetensors"
    (tmp_path / "dense_dae.json").write_text(json.dumps(sidecar))
    with pytest.raises(store.WeightsError, match="outside the weights folder"):
        store.load_model("dense_dae", tmp_path)


def test_stale_write_is_refused(tmp_path):
    _, s1 = saved(tmp_path, seed=1)
    saved(tmp_path, seed=2)  # someone else saved meanwhile
    with pytest.raises(store.WeightsError, match="changed by someone else"):
        store.save("dense_dae", build("dense_dae", 3), {}, tmp_path, expect_sha=s1["sha256"])


CRASHER = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {root!r})
    from ae_core import store
    from ae_core.registry import build
    point, kind = int(sys.argv[1]), sys.argv[2]
    calls = {{"replace": 0, "write": 0}}
    real_replace, real_write = os.replace, store._write_atomic

    def replace(src, dst):
        calls["replace"] += 1
        if kind == "replace" and calls["replace"] == point:
            os.kill(os.getpid(), signal.SIGKILL)  # after the temp file is written, before it lands
        return real_replace(src, dst)

    class HalfFile:
        def __init__(self, f): self.f = f
        def write(self, data):
            self.f.write(data[: len(data) // 2]); self.f.flush()
            os.kill(os.getpid(), signal.SIGKILL)  # mid-write
        def __getattr__(self, k): return getattr(self.f, k)
        def __enter__(self): return self
        def __exit__(self, *a): return self.f.__exit__(*a)

    real_open = open
    def half_open(path, mode="r", *a, **k):
        f = real_open(path, mode, *a, **k)
        if kind == "write" and "w" in mode and ".tmp-" in str(path):
            calls["write"] += 1
            if calls["write"] == point:
                return HalfFile(f)
        return f

    store.os.replace = replace
    store.open = half_open
    store.save("dense_dae", build("dense_dae", seed=99), {{}}, sys.argv[3])
    print("finished")
    """
)


@pytest.mark.parametrize(
    "kind,point", [("write", 1), ("write", 2), ("write", 3), ("replace", 1), ("replace", 2), ("replace", 3)]
)
def test_crash_mid_save_leaves_old_weights_loadable(tmp_path, kind, point):
    old, _ = saved(tmp_path, seed=1)
    script = tmp_path / "crash.py"
    script.write_text(CRASHER.format(root=ROOT))
    proc = subprocess.run(
        [sys.executable, str(script), str(point), kind, str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    _, loaded = store.load_model("dense_dae", tmp_path)
    assert_same(loaded, old)  # the commit point was never reached
    saved(tmp_path, seed=5)  # and the folder still accepts saves; leftovers are harmless
    store.load_model("dense_dae", tmp_path)


def test_full_disk_while_saving(tmp_path, monkeypatch):
    old, _ = saved(tmp_path, seed=1)

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.os, "fsync", no_space)
    with pytest.raises(OSError, match="No space"):
        store.save("dense_dae", build("dense_dae", 2), {}, tmp_path)
    monkeypatch.undo()
    assert_same(store.load_model("dense_dae", tmp_path)[1], old)
    assert not list(tmp_path.glob(".tmp-*"))  # temp files are cleaned up


def test_concurrent_save_is_refused_while_locked(tmp_path):
    saved(tmp_path)
    with store.save_lock(tmp_path), pytest.raises(store.WeightsError, match="Another save"):
        store.save("dense_dae", build("dense_dae", 2), {}, tmp_path, lock_timeout=0.2)


def test_saving_one_name_never_deletes_another_names_files(tmp_path):
    """'dense_dae-v2' starts with 'dense_dae-': its tensor file must survive saves of 'dense_dae'."""
    v2 = store.save("dense_dae", store.build("dense_dae", 1), {}, tmp_path, name="dense_dae-v2")
    for seed in (2, 3, 4):  # enough saves that 'dense_dae' collects its own garbage several times
        store.save("dense_dae", store.build("dense_dae", seed), {}, tmp_path)
    assert store.load("dense_dae-v2", tmp_path, expect_key="dense_dae")[0]["sha256"] == v2["sha256"]
    own = sorted(p.name for p in tmp_path.glob("dense_dae-????????????????.safetensors"))
    assert len(own) == 2  # the current one and its backup; the first save's file was collected


def test_restore_shipped_after_several_saves_brings_back_the_shipped_weights(weights_copy):
    """The shipped tensor file is never collected, however many saves follow; Restore shipped makes it current and
    keeps what it replaced as the backup."""
    shipped_sidecar, shipped = store.load("dense_dae.shipped", weights_copy)
    shipped_file = weights_copy / shipped_sidecar["tensor_file"]
    last = None
    for seed in (1, 2, 3, 4):
        _, last = saved(weights_copy, seed=seed)
        assert shipped_file.is_file()  # still referenced by dense_dae.shipped.json
    assert len(list(weights_copy.glob("dense_dae-*.safetensors"))) == 3  # shipped, the backup, the current
    restored = store.restore("dense_dae", "shipped", weights_copy)
    assert restored["sha256"] == shipped_sidecar["sha256"]
    sidecar, model = store.load_model("dense_dae", weights_copy)
    assert sidecar["sha256"] == shipped_sidecar["sha256"]
    assert_same(model, shipped)
    assert store.load("dense_dae.prev", weights_copy)[0]["sha256"] == last["sha256"]
    assert store.load("dense_dae.shipped", weights_copy)[0]["sha256"] == shipped_sidecar["sha256"]  # unchanged


def test_restore_refuses_what_it_cannot_restore(tmp_path):
    with pytest.raises(store.WeightsError, match="no shipped copy of 'dense_dae'"):
        store.restore("dense_dae", "shipped", tmp_path)
    with pytest.raises(store.WeightsError, match="no backup copy of 'dense_dae'"):
        store.restore("dense_dae", "prev", tmp_path)
    with pytest.raises(store.WeightsError, match="takes 'prev' or 'shipped'"):
        store.restore("dense_dae", "current", tmp_path)
    saved(tmp_path, seed=1)
    saved(tmp_path, seed=2)
    prev = json.loads((tmp_path / "dense_dae.prev.json").read_text())
    (tmp_path / prev["tensor_file"]).write_bytes(b"broken")  # a broken backup is refused, the current one kept
    current = (tmp_path / "dense_dae.json").read_bytes()
    with pytest.raises(store.WeightsError):
        store.restore("dense_dae", "prev", tmp_path)
    assert (tmp_path / "dense_dae.json").read_bytes() == current
