"""ae_core.store to the value: every refusal's exact message and limit, the sidecar's fields, which files a save keeps,
and the save lock's wait (fast unit tests: `make mutate` runs these against each change to store.py)."""

import hashlib
import json
import re
import threading
import time

import pytest
import safetensors.torch
import torch

from ae_core import store
from ae_core.messages import Message
from ae_core.registry import ALL, build

KEY = "dense_dae"


def blob_and_sidecar(key=KEY, seed=0, **meta):
    return store.to_bytes(key, build(key, seed), {"name": key, **meta})


def refused(fn, *args, **kw) -> str:
    with pytest.raises(store.WeightsError) as e:
        fn(*args, **kw)
    return str(e.value)


# --- names -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a", "A9", "x" * 64, "dense_dae-v2", "9_-"])
def test_safe_names_pass_unchanged(name):
    assert store.safe_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 65, "-a", "_a", "a.b", "a/b", "a b", "é", None, 7])
def test_unsafe_names_are_refused_with_the_rule(name):
    msg = refused(store.safe_name, name)
    assert msg == (
        f"{str(name)[:80]!r} is not a valid weights name: use 1-64 letters, digits, '_' or '-' (no paths, dots or "
        "slashes)."
    )


def test_a_long_bad_name_is_cut_to_80_characters_in_the_message():
    msg = refused(store.safe_name, "/" * 500)
    assert repr("/" * 80) in msg and "/" * 81 not in msg


def test_a_filename_outside_the_folder_is_named_in_the_refusal(tmp_path):
    assert store._inside(tmp_path, "a.json") == (tmp_path / "a.json").resolve()
    assert refused(store._inside, tmp_path, "../a.json") == "'../a.json' points outside the weights folder"
    assert "outside" in refused(store._inside, tmp_path, "sub/a.json")  # a subfolder is outside too


# --- what a save writes ------------------------------------------------------------------------------------------
def test_the_sidecar_records_key_arch_sha_file_version_and_time():
    blob, sidecar = blob_and_sidecar(note="n")
    sha = hashlib.sha256(blob).hexdigest()
    assert sidecar["sha256"] == sha == store.content_sha(KEY, build(KEY, 0))
    assert sidecar["tensor_file"] == f"{KEY}-{sha[:16]}.safetensors"
    assert sidecar["model_key"] == KEY and sidecar["note"] == "n" and sidecar["name"] == KEY
    assert sidecar["arch"] == store.arch_fingerprint(KEY) and len(sidecar["arch"]) == 16
    assert sidecar["torch_version"] == torch.__version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", sidecar["created"])
    assert blob_and_sidecar(created="then")[1]["created"] == "then"  # a given time is kept
    assert store.to_bytes(KEY, build(KEY, 0), {"name": "other"})[1]["tensor_file"].startswith("other-")
    assert store.to_bytes(KEY, build(KEY, 0), {})[1]["tensor_file"].startswith(f"{KEY}-")  # no name: the key


def test_the_tensor_file_is_safetensors_of_the_cpu_state_with_the_key_in_its_metadata():
    blob, _ = blob_and_sidecar()
    model = build(KEY, 0)
    tensors = safetensors.torch.load(blob)
    assert set(tensors) == set(model.state_dict())
    assert all(torch.equal(tensors[k], v) for k, v in model.state_dict().items())
    header = json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")])
    assert header["__metadata__"] == {"model_key": KEY}


def test_arch_fingerprints_differ_between_models_and_are_stable():
    prints = {k: store.arch_fingerprint(k) for k in ALL}
    assert len(set(prints.values())) == len(ALL)
    assert prints == {k: store.arch_fingerprint(k) for k in ALL}
    sd = build(KEY).state_dict()
    desc = [ALL[KEY].cls.__name__] + [[k, list(v.shape), str(v.dtype)] for k, v in sd.items()]
    assert prints[KEY] == hashlib.sha256(json.dumps(desc).encode()).hexdigest()[:16]


def test_a_save_writes_the_sidecar_the_tensors_and_no_temporary_file(tmp_path):
    sidecar = store.save(KEY, build(KEY, 0), {"note": "x"}, tmp_path)
    on_disk = json.loads((tmp_path / f"{KEY}.json").read_text())
    assert on_disk == sidecar and on_disk["note"] == "x"
    assert (tmp_path / sidecar["tensor_file"]).read_bytes() == blob_and_sidecar()[0]
    assert not list(tmp_path.glob(".tmp-*")) and not (tmp_path / f"{KEY}.prev.json").exists()


def test_a_second_save_keeps_the_first_sidecar_byte_for_byte_as_the_backup(tmp_path):
    store.save(KEY, build(KEY, 0), None, tmp_path)
    first = (tmp_path / f"{KEY}.json").read_bytes()
    store.save(KEY, build(KEY, 1), None, tmp_path)
    assert (tmp_path / f"{KEY}.prev.json").read_bytes() == first


def test_save_under_another_name_and_a_stale_save_message(tmp_path):
    s = store.save(KEY, build(KEY, 0), None, tmp_path, name="mine")
    assert s["name"] == "mine" and (tmp_path / "mine.json").is_file() and not (tmp_path / f"{KEY}.json").exists()
    msg = refused(store.save, KEY, build(KEY, 1), None, tmp_path, name="mine", expect_sha="0" * 64)
    assert msg == (
        f"'mine' was changed by someone else since you started (now {s['sha256'][:8]}); reload it before saving "
        "over it."
    )
    assert store.save(KEY, build(KEY, 1), None, tmp_path, name="mine", expect_sha=s["sha256"])["name"] == "mine"
    assert store.save(KEY, build(KEY, 2), None, tmp_path, name="new", expect_sha="0" * 64)  # nothing to be stale


def test_garbage_collection_keeps_what_a_sidecar_backup_or_shipped_copy_names(tmp_path):
    files = [store.save(KEY, build(KEY, s), None, tmp_path)["tensor_file"] for s in range(3)]
    left = {p.name for p in tmp_path.glob("*.safetensors")}
    assert left == set(files[1:])  # the current and the backup's
    (tmp_path / f"{KEY}.shipped.json").write_text(json.dumps({"tensor_file": files[1]}))
    store.save(KEY, build(KEY, 3), None, tmp_path)
    assert files[1] in {p.name for p in tmp_path.glob("*.safetensors")}  # the shipped copy's stays
    stray = tmp_path / f"{KEY}-{'a' * 16}.safetensors"
    stray.write_bytes(b"x")
    other = tmp_path / f"{KEY}-{'b' * 15}.safetensors"  # not <name>-<16 hex>: not this name's file
    other.write_bytes(b"x")
    store._collect_garbage(KEY, tmp_path)
    assert not stray.exists() and other.exists()


def held_elsewhere(directory, seconds: float = 0.3) -> threading.Thread:
    """Another save holding the folder's lock for `seconds`, already holding it when this returns."""
    got = threading.Event()

    def hold():
        with store.save_lock(directory):
            got.set()
            time.sleep(seconds)

    t = threading.Thread(target=hold)
    t.start()
    got.wait(5)
    return t


def test_the_save_lock_waits_for_a_release_within_its_timeout(tmp_path):
    t = held_elsewhere(tmp_path)
    with store.save_lock(tmp_path, timeout=5.0):  # waits for the holder, then takes it
        pass
    t.join()
    with store.save_lock(tmp_path), pytest.raises(store.WeightsError) as e, store.save_lock(tmp_path):
        pass
    assert str(e.value) == "Another save is in progress; try again in a moment."
    with store.save_lock(tmp_path):  # released after a refusal too
        pass


# --- sidecars ----------------------------------------------------------------------------------------------------
def good_sidecar() -> dict:
    return blob_and_sidecar()[1]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff", "The sidecar is not valid JSON (or nests too deeply, or holds absurd numbers)."),
        (b"{", "The sidecar is not valid JSON (or nests too deeply, or holds absurd numbers)."),
        (b"[" * 100_000, "The sidecar is not valid JSON (or nests too deeply, or holds absurd numbers)."),
        (b"[]", "The sidecar must be a JSON object with model_key, tensor_file, sha256, arch."),
        (b'{"model_key": "dense_dae"}', "The sidecar must be a JSON object with model_key, tensor_file, sha256, arch."),
    ],
)
def test_bad_sidecars_are_refused_with_the_reason(raw, message):
    assert refused(store._parse_sidecar, raw) == message


@pytest.mark.parametrize("field", store.SIDECAR_REQUIRED)
def test_every_required_field_must_be_there_and_a_string(field):
    s = good_sidecar()
    del s[field]
    assert "must be a JSON object" in refused(store._parse_sidecar, json.dumps(s).encode())
    s = good_sidecar() | {field: 1}
    assert refused(store._parse_sidecar, json.dumps(s).encode()) == (
        "The sidecar's model_key, tensor_file, sha256, arch must be strings."
    )


def test_an_unknown_model_is_named_cut_to_40_characters():
    s = good_sidecar() | {"model_key": "y" * 100}
    assert refused(store._parse_sidecar, json.dumps(s).encode()) == f"The sidecar names an unknown model {'y' * 40!r}."


def test_the_sidecar_size_limit_is_inclusive():
    s = good_sidecar()
    body = json.dumps(s).encode()
    pad = store.MAX_SIDECAR_BYTES - len(body)
    at_limit = body[:-1] + b" " * pad + b"}"
    assert len(at_limit) == store.MAX_SIDECAR_BYTES and store._parse_sidecar(at_limit) == s
    assert refused(store._parse_sidecar, at_limit + b" ") == "The sidecar is too large to be a weights description."


def test_read_sidecar_finds_each_kind_and_none_when_absent(tmp_path):
    assert store.read_sidecar(KEY, tmp_path) is None
    s = good_sidecar()
    for suffix in (".json", ".prev.json", ".shipped.json"):
        (tmp_path / f"{KEY}{suffix}").write_text(json.dumps(s | {"note": suffix}))
    assert store.read_sidecar(KEY, tmp_path)["note"] == ".json"
    assert store.read_sidecar(f"{KEY}.prev", tmp_path)["note"] == ".prev.json"
    assert store.read_sidecar(f"{KEY}.shipped", tmp_path)["note"] == ".shipped.json"
    (tmp_path / f"{KEY}.json").write_bytes(b" " * (store.MAX_SIDECAR_BYTES + 5))
    assert "too large" in refused(store.read_sidecar, KEY, tmp_path)  # read no further than the limit + 1


# --- tensors -----------------------------------------------------------------------------------------------------
def test_from_bytes_loads_an_eval_model_equal_to_the_saved_one_from_a_dict_or_bytes():
    blob, sidecar = blob_and_sidecar()
    for side in (sidecar, json.dumps(sidecar).encode(), bytearray(json.dumps(sidecar).encode())):
        got, model = store.from_bytes(blob, side, expect_key=KEY)
        assert got == sidecar and not model.training
        want = build(KEY, 0).state_dict().values()
        assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), want, strict=True))


def test_weights_for_another_model_name_both():
    blob, sidecar = blob_and_sidecar()
    assert refused(store.from_bytes, blob, sidecar, expect_key="conv_dae") == (
        f"These weights are for {Message(ALL[KEY].name)}, not {Message(ALL['conv_dae'].name)}."
    )


def test_empty_large_and_mismatched_tensor_files_are_refused():
    blob, sidecar = blob_and_sidecar()
    assert refused(store.from_bytes, b"", sidecar) == "The tensor file is empty."
    big = b"\0" * (store.MAX_TENSOR_BYTES + 1)
    assert refused(store.from_bytes, big, sidecar) == "The tensor file is too large for any ae-lab model."
    assert refused(store.from_bytes, blob[:-1], sidecar) == (
        "The tensor file does not match the sha256 in its sidecar (corrupt, truncated or swapped)."
    )


def with_sha(blob: bytes, sidecar: dict) -> dict:
    return sidecar | {"sha256": hashlib.sha256(blob).hexdigest()}


def test_a_tensor_file_at_the_size_limit_is_judged_by_its_content_not_refused_for_size():
    _, sidecar = blob_and_sidecar()
    at_limit = b"\0" * store.MAX_TENSOR_BYTES
    assert refused(store.from_bytes, at_limit, with_sha(at_limit, sidecar)).startswith("Not a valid safetensors")


def test_not_safetensors_names_the_error_type():
    _, sidecar = blob_and_sidecar()
    junk = b"junk data"
    assert refused(store.from_bytes, junk, with_sha(junk, sidecar)) == "Not a valid safetensors file (SafetensorError)."


def test_missing_and_extra_tensor_names_are_listed_at_most_four_each():
    model = build(KEY, 0)
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    first = sorted(sd)[0]
    changed = {k: v for k, v in sd.items() if k != first} | {f"extra{i}": torch.zeros(1) for i in range(6)}
    blob = safetensors.torch.save(changed)
    msg = refused(store.from_bytes, blob, with_sha(blob, blob_and_sidecar()[1]))
    extras = sorted(f"extra{i}" for i in range(6))[:4]
    assert msg == f"Tensor names do not match {Message(ALL[KEY].name)}: missing {[first]}, unexpected {extras}."


def test_a_wrong_shape_or_dtype_says_what_was_found_and_needed():
    model = build(KEY, 0)
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    name = next(iter(sd))
    ref = sd[name]
    for bad in (torch.zeros(3, dtype=ref.dtype), ref.to(torch.float64)):
        blob = safetensors.torch.save(sd | {name: bad})
        msg = refused(store.from_bytes, blob, with_sha(blob, blob_and_sidecar()[1]))
        assert msg == (
            f"Tensor {name} is {bad.dtype} {tuple(bad.shape)}, but {Message(ALL[KEY].name)} needs {ref.dtype} "
            f"{tuple(ref.shape)}."
        )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_any_non_finite_value_is_refused_by_tensor_name(value):
    sd = {k: v.contiguous().clone() for k, v in build(KEY, 0).state_dict().items()}
    name = list(sd)[-1]
    sd[name].view(-1)[-1] = value  # only the last value of the last tensor
    blob = safetensors.torch.save(sd)
    assert refused(store.from_bytes, blob, with_sha(blob, blob_and_sidecar()[1])) == (
        f"Tensor {name} contains NaN or infinite values."
    )


# --- loading from a folder ---------------------------------------------------------------------------------------
def test_load_says_which_file_is_missing(tmp_path):
    assert refused(store.load, KEY, tmp_path) == f"No weights named '{KEY}' in {tmp_path}."
    s = store.save(KEY, build(KEY, 0), None, tmp_path)
    (tmp_path / s["tensor_file"]).unlink()
    assert refused(store.load, KEY, tmp_path) == f"The tensor file {s['tensor_file']} named by '{KEY}' is missing."


def test_load_refuses_an_oversized_tensor_file_before_reading_it(tmp_path, monkeypatch):
    s = store.save(KEY, build(KEY, 0), None, tmp_path)
    with open(tmp_path / s["tensor_file"], "r+b") as f:
        f.truncate(store.MAX_TENSOR_BYTES + 1)
    read, real = [], type(tmp_path).read_bytes
    monkeypatch.setattr(type(tmp_path), "read_bytes", lambda p: read.append(p.suffix) or real(p))
    assert refused(store.load, KEY, tmp_path) == "The tensor file is too large for any ae-lab model."
    assert read == [".json"]  # the sidecar only: the 16 MB file was refused by its size


def test_load_model_expects_its_own_key(tmp_path):
    store.save(KEY, build(KEY, 0), None, tmp_path, name="conv_dae")
    assert "not " in refused(store.load_model, "conv_dae", tmp_path)
    assert store.load("conv_dae", tmp_path)[0]["model_key"] == KEY


def test_restore_makes_the_backup_current_and_keeps_the_current_as_backup(tmp_path):
    a = store.save(KEY, build(KEY, 0), None, tmp_path)
    b = store.save(KEY, build(KEY, 1), None, tmp_path)
    got = store.restore(KEY, "prev", tmp_path)
    assert got["sha256"] == a["sha256"]
    assert json.loads((tmp_path / f"{KEY}.json").read_text())["sha256"] == a["sha256"]
    assert json.loads((tmp_path / f"{KEY}.prev.json").read_text())["sha256"] == b["sha256"]
    assert {p.name for p in tmp_path.glob("*.safetensors")} == {a["tensor_file"], b["tensor_file"]}
    assert refused(store.restore, KEY, "next", tmp_path) == "restore takes 'prev' or 'shipped'"
    assert refused(store.restore, "../x", "prev", tmp_path).startswith("'../x' is not a valid weights name")


def test_a_save_and_a_restore_wait_for_a_save_in_progress_by_default(tmp_path):
    store.save(KEY, build(KEY, 0), None, tmp_path)
    store.save(KEY, build(KEY, 1), None, tmp_path)
    for act in (lambda: store.save(KEY, build(KEY, 2), None, tmp_path), lambda: store.restore(KEY, "prev", tmp_path)):
        t = held_elsewhere(tmp_path)
        act()  # waits for the other save rather than refusing at once
        t.join()


def test_the_sidecar_on_disk_is_the_readable_indented_form(tmp_path):
    s = store.save(KEY, build(KEY, 0), None, tmp_path)
    assert (tmp_path / f"{KEY}.json").read_text() == json.dumps(s, indent=2)


def test_a_tensor_file_that_cannot_be_deleted_does_not_fail_the_save(tmp_path, monkeypatch):
    from pathlib import Path

    store.save(KEY, build(KEY, 0), None, tmp_path)
    stray = tmp_path / f"{KEY}-{'c' * 16}.safetensors"
    stray.write_bytes(b"x")
    real = Path.unlink

    def unlink(p, *a, **kw):
        if p.name == stray.name:
            raise PermissionError("read-only")
        return real(p, *a, **kw)

    monkeypatch.setattr(Path, "unlink", unlink)
    assert store.save(KEY, build(KEY, 1), None, tmp_path)["name"] == KEY and stray.exists()


def test_restore_messages_and_its_default_is_the_backup(tmp_path):
    assert refused(store.restore, KEY, "prev", tmp_path) == f"There is no backup copy of '{KEY}' to restore."
    assert refused(store.restore, KEY, "shipped", tmp_path) == f"There is no shipped copy of '{KEY}' to restore."
    a = store.save(KEY, build(KEY, 0), None, tmp_path)
    store.save(KEY, build(KEY, 1), None, tmp_path)
    assert store.restore(KEY, directory=tmp_path)["sha256"] == a["sha256"]


def test_restore_with_no_current_sidecar_makes_the_backup_current_and_keeps_no_backup(tmp_path):
    a = store.save(KEY, build(KEY, 0), None, tmp_path)
    store.save(KEY, build(KEY, 1), None, tmp_path)
    (tmp_path / f"{KEY}.json").unlink()
    prev = (tmp_path / f"{KEY}.prev.json").read_bytes()
    store.restore(KEY, "prev", tmp_path)
    assert (tmp_path / f"{KEY}.json").read_bytes() == prev
    assert store.load_model(KEY, tmp_path)[0]["sha256"] == a["sha256"]
