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


# The server-wide results the pages ask for, each as (cache key, compute(progress)). The pages and the start-up
# warm-up (ui/warmup.py) build them here, so a warm-up result is the very entry a visitor would have computed.


def table_job(models: dict, shas: dict, ntype: str, factor: float, base: list[str], digits):
    from ae_core import scoreboard

    rows = [*models, "noisy_input", *base]
    key = ("table", server.weights_key(models, shas), ntype, factor, tuple(base), digits.source)
    return key, lambda progress: scoreboard.table(
        models, base, ntype, factor, 0, digits, on_step=lambda name: progress(rows.index(name) / len(rows))
    )


def table(models: dict, shas: dict, ntype: str, factor: float, base: list[str], digits, label: str):
    """The Scoreboard table: from the server's cache, else from the file saved with the shipped weights (at once, no
    computation), else computed with a progress bar."""
    key, compute = table_job(models, shas, ntype, factor, base, digits)
    found, value = server.results().peek(key)
    if found:
        return value
    shipped = server.shipped_table(models, shas, ntype, factor, base, digits)
    if shipped is not None:
        return server.results().get(key, lambda: shipped)
    return server.cached(key, compute, label)


def sweep_job(models: dict, shas: dict, ntype: str, base: list[str], sub, clf, prec: str):
    from ae_core import scoreboard

    key = ("sweep", server.weights_key(models, shas), ntype, tuple(base), sub.source, clf is not None, prec)
    return key, lambda progress: scoreboard.sweep(
        models, base, ntype, sub, classifier=clf[1] if clf else None, on_step=progress, prec=prec
    )


def noisy_job(ntype: str, factor: float, digits):
    from ae_core.evaluate import noisy_test_set

    return ("noisy", ntype, factor, digits.source), lambda _p: noisy_test_set(digits, ntype, factor, 0)


def matrix_job(rows: dict, mf: float, sub, prec: str):
    """rows: matrix_rows()'s {label: (sha256, model)}; the key holds the sha256s only, so every language shares it."""
    from ae_core import scoreboard

    by_position = {str(i): m for i, (_sha, m) in enumerate(rows.values())}
    key = ("matrix", tuple(sha for sha, _m in rows.values()), mf, sub.source, prec)
    return key, lambda _p: scoreboard.noise_matrix(by_position, mf, sub, prec=prec)


def pca_job(key: str, model, shas: dict, sub):
    from ae_core import inspect

    pool = sub.batch(slice(0, 2000))
    return ("pca", server.weights_key({key: model}, shas), sub.source), lambda _p: inspect.pca2(
        inspect.codes(model, pool)
    )


def space_job(key: str, model, shas: dict, sub):
    from ae_core import explore

    pool = sub.batch(slice(None))  # (N, 1, 28, 28)
    return ("space", server.weights_key({key: model}, shas), sub.source), lambda _p: explore.build(
        model, pool, sub.labels
    )
