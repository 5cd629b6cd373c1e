"""What the Scoreboard and Inside pages compute from this browser's models (the results are cached server-wide)."""

from __future__ import annotations

from ae_core.config import NOISE_TYPES
from ui import jobs, server
from ui.i18n import _, model_name, noise_label, tr


def matrix_rows(models: dict, shas: dict[str, str | None]) -> dict[str, tuple[str, object]]:
    """The noise matrix's rows, {label: (content sha256, model)}: the active denoisers, then this browser's runs.
    Labels are in the reader's language; the cache key is the list of sha256s, so every language shares the result."""
    rows = {}
    for k in ("dense_dae", "conv_dae"):
        if k in models:
            cfg = (server.sidecar_of(k) or {}).get("config", {})
            noise = cfg.get("noise_type")
            trained_on = noise_label(noise if noise in NOISE_TYPES else "gaussian")  # a sidecar is a file: not trusted
            label = _("{model} · trained on {noise} (active)").format(model=model_name(k), noise=trained_on)
            rows[label] = (server.weights_sha(k, models[k], shas.get(k)), models[k])
    for j in jobs.my_runs():
        if j.model is not None and j.key != "basic_ae":
            label = _("{run} · trained on {noise} {factor:g}").format(
                run=tr(j.label), noise=noise_label(j.config.noise_type), factor=j.config.noise_factor
            )
            rows[label] = (server.weights_sha(j.key, j.model, j.sha256), j.model)
    return rows
