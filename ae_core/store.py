"""Weight files: safetensors (never pickle) plus a JSON sidecar, saved atomically and validated on load.

Layout, per name (a model key by default) in a weights folder:
  <name>.json                       the sidecar, and the commit point of a save
  <name>-<sha16>.safetensors        the tensors it names (content-addressed, never overwritten)
  <name>.prev.json                  the previous sidecar: the backup a save keeps
  <name>.shipped.json               the weights that came with ae-lab, for "restore shipped"
A save writes the new tensor file first and then replaces the sidecar with os.replace, so a crash at any
point leaves a sidecar that names a complete tensor file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
import uuid
from pathlib import Path

import safetensors.torch
import torch
from torch import nn

from .data import PROJECT_DIR
from .messages import Message
from .registry import ALL, build

WEIGHTS_DIR = Path(os.environ.get("AE_LAB_WEIGHTS", PROJECT_DIR / "weights"))
MAX_TENSOR_BYTES = 16 * 1024 * 1024  # the largest model is ~0.5 MB
MAX_SIDECAR_BYTES = 256 * 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SIDECAR_REQUIRED = ("model_key", "tensor_file", "sha256", "arch")


class WeightsError(ValueError):
    """A weights file or name was refused; the message says why."""


def safe_name(name: str) -> str:
    """A user-chosen name that can never leave the weights folder: letters, digits, '_' and '-'."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise WeightsError(
            Message(
                "{name} is not a valid weights name: use 1-64 letters, digits, '_' or '-' (no paths, dots or slashes).",
                name=repr(str(name)[:80]),
            )
        )
    return name


def _inside(directory: Path, filename: str) -> Path:
    path = (directory / filename).resolve()
    if path.parent != directory.resolve():
        raise WeightsError(Message("{name} points outside the weights folder", name=repr(filename)))
    return path


def arch_fingerprint(model_key: str) -> str:
    sd = build(model_key).state_dict()
    desc = [ALL[model_key].cls.__name__] + [[k, list(v.shape), str(v.dtype)] for k, v in sd.items()]
    return hashlib.sha256(json.dumps(desc).encode()).hexdigest()[:16]


def _blob(model_key: str, model: nn.Module) -> bytes:
    sd = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    return safetensors.torch.save(sd, metadata={"model_key": model_key})


def content_sha(model_key: str, model: nn.Module) -> str:
    """The sha256 of the weights' content: the same value a saved sidecar records for them (about 1 ms)."""
    return hashlib.sha256(_blob(model_key, model)).hexdigest()


def to_bytes(model_key: str, model: nn.Module, meta: dict) -> tuple[bytes, dict]:
    """Serialise: (safetensors bytes, sidecar dict). The sidecar records the tensors' sha256."""
    blob = _blob(model_key, model)
    sha = hashlib.sha256(blob).hexdigest()
    sidecar = {
        **meta,
        "model_key": model_key,
        "arch": arch_fingerprint(model_key),
        "sha256": sha,
        "tensor_file": f"{meta.get('name', model_key)}-{sha[:16]}.safetensors",
        "torch_version": torch.__version__,
        "created": meta.get("created") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return blob, sidecar


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def save_lock(directory: Path, timeout: float = 0.0):
    """One save at a time across processes (fcntl lock on <dir>/.save.lock). Raises WeightsError if busy."""
    import fcntl

    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".save.lock", "a+") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WeightsError(Message("Another save is in progress; try again in a moment.")) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_sidecar(name: str, directory: Path = WEIGHTS_DIR) -> dict | None:
    path = _inside(directory, safe_name(name.removesuffix(".prev").removesuffix(".shipped")) + _suffix(name))
    if not path.is_file():
        return None
    return _parse_sidecar(path.read_bytes()[: MAX_SIDECAR_BYTES + 1])


def _suffix(name: str) -> str:
    return ".prev.json" if name.endswith(".prev") else ".shipped.json" if name.endswith(".shipped") else ".json"


def save(
    model_key: str,
    model: nn.Module,
    meta: dict | None = None,
    directory: Path = WEIGHTS_DIR,
    name: str | None = None,
    expect_sha: str | None = None,
    lock_timeout: float = 5.0,
) -> dict:
    """Save atomically as `name` (default: the model key), keeping the previous sidecar as <name>.prev.json.

    expect_sha: refuse (WeightsError) if the current file is no longer the one the caller started from.
    """
    name = safe_name(model_key if name is None else name)
    directory = Path(directory)
    blob, sidecar = to_bytes(model_key, model, {**(meta or {}), "name": name})
    with save_lock(directory, lock_timeout):
        current = read_sidecar(name, directory) if (directory / f"{name}.json").exists() else None
        if expect_sha is not None and current is not None and current["sha256"] != expect_sha:
            raise WeightsError(
                Message(
                    "'{name}' was changed by someone else since you started (now {sha}); reload it before saving over it.",
                    name=name,
                    sha=current["sha256"][:8],
                )
            )
        _write_atomic(_inside(directory, sidecar["tensor_file"]), blob)
        if current is not None:
            _write_atomic(directory / f"{name}.prev.json", (directory / f"{name}.json").read_bytes())
        _write_atomic(directory / f"{name}.json", json.dumps(sidecar, indent=2).encode())  # the commit point
        _collect_garbage(name, directory)
    return sidecar


def _collect_garbage(name: str, directory: Path) -> None:
    """Delete this name's tensor files that no sidecar refers to."""
    keep = set()
    for suffix in (".json", ".prev.json", ".shipped.json"):
        with contextlib.suppress(Exception):
            keep.add(json.loads((directory / f"{name}{suffix}").read_text())["tensor_file"])
    # Exactly <name>-<16 hex>.safetensors: a glob on "<name>-*" would also match "<name>-v2-<sha>", another name's file.
    mine = re.compile(re.escape(name) + r"-[0-9a-f]{16}\.safetensors")
    for f in directory.glob(f"{name}-*.safetensors"):
        if mine.fullmatch(f.name) and f.name not in keep:
            with contextlib.suppress(OSError):
                f.unlink()


def restore(name: str, which: str = "prev", directory: Path = WEIGHTS_DIR) -> dict:
    """Make <name>.<which>.json (prev or shipped) current again; the current one becomes the backup."""
    name, directory = safe_name(name), Path(directory)
    if which not in ("prev", "shipped"):
        raise WeightsError("restore takes 'prev' or 'shipped'")
    with save_lock(directory, 5.0):
        src = directory / f"{name}.{which}.json"
        if not src.is_file():
            raise WeightsError(
                Message("There is no backup copy of '{name}' to restore.", name=name)
                if which == "prev"
                else Message("There is no shipped copy of '{name}' to restore.", name=name)
            )
        backup_sidecar, _ = load(f"{name}.{which}", directory)  # refuse to restore a broken backup
        current = (directory / f"{name}.json").read_bytes() if (directory / f"{name}.json").exists() else None
        _write_atomic(directory / f"{name}.json", src.read_bytes())
        if current is not None:
            _write_atomic(directory / f"{name}.prev.json", current)
        _collect_garbage(name, directory)
    return backup_sidecar


def _parse_sidecar(raw: bytes) -> dict:
    if len(raw) > MAX_SIDECAR_BYTES:
        raise WeightsError(Message("The sidecar is too large to be a weights description."))
    try:
        sidecar = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # ValueError: bad JSON, or a 5000-digit number
        raise WeightsError(
            Message("The sidecar is not valid JSON (or nests too deeply, or holds absurd numbers).")
        ) from None
    if not isinstance(sidecar, dict) or any(k not in sidecar for k in SIDECAR_REQUIRED):
        raise WeightsError(
            Message("The sidecar must be a JSON object with {fields}.", fields=", ".join(SIDECAR_REQUIRED))
        )
    if not all(isinstance(sidecar[k], str) for k in SIDECAR_REQUIRED):
        raise WeightsError(Message("The sidecar's {fields} must be strings.", fields=", ".join(SIDECAR_REQUIRED)))
    if sidecar["model_key"] not in ALL:
        raise WeightsError(Message("The sidecar names an unknown model {key}.", key=repr(sidecar["model_key"][:40])))
    return sidecar


def from_bytes(blob: bytes, sidecar: dict | bytes, expect_key: str | None = None) -> tuple[dict, nn.Module]:
    """Validate tensors against the sidecar and the registry; return (sidecar, model in eval mode)."""
    if isinstance(sidecar, bytes | bytearray):
        sidecar = _parse_sidecar(bytes(sidecar))
    key = sidecar["model_key"]
    if expect_key is not None and key != expect_key:
        raise WeightsError(
            Message(
                "These weights are for {model}, not {expected}.",
                model=Message(ALL[key].name),
                expected=Message(ALL[expect_key].name),
            )
        )
    if not blob:
        raise WeightsError(Message("The tensor file is empty."))
    if len(blob) > MAX_TENSOR_BYTES:
        raise WeightsError(Message("The tensor file is too large for any ae-lab model."))
    if hashlib.sha256(blob).hexdigest() != sidecar["sha256"]:
        raise WeightsError(
            Message("The tensor file does not match the sha256 in its sidecar (corrupt, truncated or swapped).")
        )
    try:
        tensors = safetensors.torch.load(blob)  # parses a JSON header and raw buffers only: no code runs
    except Exception as e:  # noqa: BLE001 - the library raises several types for bad files
        raise WeightsError(Message("Not a valid safetensors file ({error}).", error=type(e).__name__)) from None
    model = build(key)
    expected = model.state_dict()
    if set(tensors) != set(expected):
        missing, extra = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
        raise WeightsError(
            Message(
                "Tensor names do not match {model}: missing {missing}, unexpected {extra}.",
                model=Message(ALL[key].name),
                missing=missing[:4],
                extra=extra[:4],
            )
        )
    for k, ref in expected.items():
        t = tensors[k]
        if t.shape != ref.shape or t.dtype != ref.dtype:
            raise WeightsError(
                Message(
                    "Tensor {name} is {dtype} {shape}, but {model} needs {want_dtype} {want_shape}.",
                    name=k,
                    dtype=t.dtype,
                    shape=tuple(t.shape),
                    model=Message(ALL[key].name),
                    want_dtype=ref.dtype,
                    want_shape=tuple(ref.shape),
                )
            )
        if not torch.isfinite(t).all():
            raise WeightsError(Message("Tensor {name} contains NaN or infinite values.", name=k))
    model.load_state_dict(tensors)
    return sidecar, model.eval()


def load(name: str, directory: Path = WEIGHTS_DIR, expect_key: str | None = None) -> tuple[dict, nn.Module]:
    """Load and validate <name> (or '<name>.prev' / '<name>.shipped') from a weights folder."""
    directory = Path(directory)
    sidecar = read_sidecar(name, directory)
    if sidecar is None:
        raise WeightsError(f"No weights named '{name}' in {directory}.")
    path = _inside(directory, sidecar["tensor_file"])
    if not path.is_file():
        raise WeightsError(f"The tensor file {sidecar['tensor_file']} named by '{name}' is missing.")
    if path.stat().st_size > MAX_TENSOR_BYTES:
        raise WeightsError(Message("The tensor file is too large for any ae-lab model."))
    return from_bytes(path.read_bytes(), sidecar, expect_key)


def load_model(model_key: str, directory: Path = WEIGHTS_DIR) -> tuple[dict, nn.Module]:
    return load(model_key, directory, expect_key=model_key)
