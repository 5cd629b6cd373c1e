"""What the Scoreboard and Inside pages compute from this browser's models (the results are cached server-wide)."""

from __future__ import annotations

from ae_core.noise import LABELS as NOISE_LABELS
from ae_core.registry import MODELS
from ui import jobs, server


def matrix_rows(models: dict, shas: dict[str, str | None]) -> dict[str, tuple[str, object]]:
    """The noise matrix's rows, {label: (content sha256, model)}: the active denoisers, then this browser's runs."""
    rows = {}
    for k in ("dense_dae", "conv_dae"):
        if k in models:
            cfg = (server.sidecar_of(k) or {}).get("config", {})
            trained_on = NOISE_LABELS.get(cfg.get("noise_type", "gaussian"), "Gaussian")
            rows[f"{MODELS[k].name} · trained on {trained_on} (active)"] = (
                server.weights_sha(k, models[k], shas.get(k)),
                models[k],
            )
    for j in jobs.my_runs():
        if j.model is not None and j.key != "basic_ae":
            label = f"{j.label} · trained on {NOISE_LABELS[j.config.noise_type]} {j.config.noise_factor:g}"
            rows[label] = (server.weights_sha(j.key, j.model, j.sha256), j.model)
    return rows
