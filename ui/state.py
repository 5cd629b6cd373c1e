"""Streamlit glue shared by every page: cached data and models, and which weights this session uses."""

from __future__ import annotations

import os

import streamlit as st

# One torch thread per job: single-digit inference gains nothing from more, and several sessions and training jobs
# share the cores. Set AE_LAB_THREADS to override.
os.environ.setdefault("AE_LAB_THREADS", "1")

from ae_core import data, store  # noqa: E402
from ae_core.device import configure_threads  # noqa: E402
from ae_core.registry import MODELS

configure_threads()


@st.cache_resource(show_spinner=False)
def test_set() -> data.Digits:
    """The full MNIST test set when available, else the bundled sample; shared read-only by all sessions."""
    return data.test_digits()


@st.cache_resource(show_spinner=False, max_entries=32)
def _load(key: str, sha: str, directory: str) -> tuple[dict, object]:
    # Keyed by the sidecar's sha256, so a new default save is picked up and an unchanged one is never reloaded.
    return store.load_model(key, store.Path(directory))


def default_models() -> tuple[dict, dict[str, str]]:
    """({key: (sidecar, model)} for the saved default weights, {key: error message} for any that failed)."""
    ok, errors = {}, {}
    for key in MODELS:
        try:
            sidecar = store.read_sidecar(key, store.WEIGHTS_DIR)
            if sidecar is None:
                errors[key] = f"No weights for {MODELS[key].name} in weights/. Train them with `make weights`."
                continue
            ok[key] = _load(key, sidecar["sha256"], str(store.WEIGHTS_DIR))
        except store.WeightsError as e:
            errors[key] = f"{MODELS[key].name}: the saved weights were refused ({e})"
    return ok, errors


def active_models() -> tuple[dict, dict[str, str], dict[str, str]]:
    """({key: model}, {key: where the weights come from}, errors) for this session."""
    loaded, errors = default_models()
    models = {k: m for k, (_, m) in loaded.items()}
    origin = {k: "saved default" for k in loaded}
    runs = st.session_state.get("active_runs", {})
    for key, run in runs.items():
        if run is not None and run.get("model") is not None:
            models[key], origin[key] = run["model"], f"run {run['label']}"
    return models, origin, errors


def models_or_errors() -> tuple[dict, dict[str, str]]:
    """active_models() for a page, showing any refused weights as errors (the page goes on with the others)."""
    models, origin, errors = active_models()
    for msg in errors.values():
        st.error(msg)
    return models, origin


def sidecar_of(key: str) -> dict | None:
    loaded, _ = default_models()
    return loaded[key][0] if key in loaded else None


@st.cache_resource(show_spinner=False)
def _class_indices(source: str, n: int) -> list:
    d = test_set()
    return [d.labels.eq(c).nonzero().flatten().tolist() for c in range(10)]


def class_indices(digits: data.Digits) -> list[list[int]]:
    """Test-set indices of each class 0-9."""
    return _class_indices(digits.source, len(digits))


def position_in_class(digits: data.Digits, index: int) -> int:
    return class_indices(digits)[int(digits.labels[index])].index(index)


def uploaded_run(blob: bytes, sidecar: bytes, filename: str):
    """Validate uploaded weights through the store and add them to this session's runs."""
    from ae_core.jobs import Job
    from ae_core.train import TrainResult

    meta, model = store.from_bytes(blob, sidecar)
    key = meta["model_key"]
    if key not in MODELS:
        raise store.WeightsError(f"{key!r} weights are not one of the three autoencoders.")
    runs = st.session_state.setdefault("uploaded_runs", {})
    run_id = f"upload{len(runs) + 1}"
    from ae_core.config import TrainConfig

    try:
        cfg = TrainConfig.from_dict(meta.get("config") or {})
    except (TypeError, ValueError):
        cfg = MODELS[key].recipe
    job = Job(run_id, key, cfg, owner="upload", label=f"upload {filename[:40]}", state="done")
    job.result = TrainResult(key, cfg, model, dataset=str(meta.get("dataset", "")))
    job.test_metrics = meta.get("test_metrics")
    runs[run_id] = job
    return job


def keep(*keys: str) -> None:
    """Bring back widget values that Streamlit dropped because the widget was not drawn in the last run
    (another page, or another input source), so settings survive page switches."""
    ss = st.session_state
    for k in keys:
        if k not in ss and f"_keep_{k}" in ss:
            ss[k] = ss[f"_keep_{k}"]


def remember(*keys: str) -> None:
    ss = st.session_state
    for k in keys:
        if k in ss:
            ss[f"_keep_{k}"] = ss[k]


def dataset_note() -> str:
    """Why only the bundled sample is in use, and how to provide the full dataset."""
    found, msg = data.dataset_status()
    if found:  # files added while the server runs; the shared caches still hold the sample
        return "MNIST is on disk now, but ae-lab started without it: restart the app to use the full test set."
    return msg
