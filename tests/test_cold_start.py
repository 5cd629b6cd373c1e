"""The first page imports only what it needs (issue 21: cold start ≤ 4 s, measured by bench/cold_start.py).

A fresh process does what the playground's first run does (the same modules, the test set, the shipped models and
classifier, one comparison with the default baselines) and must not have imported the heavy modules it never uses:
each cost the first page from 0.3 to 1.4 s on the 2-core development machine."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

HEAVY = {
    "torchvision": "imports torch._dynamo (1.4 s); only a download or a tiled grid needs it",
    "torch._dynamo": "pulled in by torchvision",
    "sympy": "Module.to_empty's first use imports it (0.45 s): models are built without it",
    "scipy.stats": "scikit-image's TV filter module imports it (0.9 s): not a default baseline",
    "pandas": "only a training chart needs it",
    "altair": "only a chart needs it",
}

FIRST_PAGE = """
import json, sys
import numpy as np
from ae_core import compare, preprocess, render
from ui import frame, lesson, panels, params, playground_state, server, session, sidebar, jobs, i18n, classroom, warmup
loaded, errors = server.default_models()
clf = server.digit_classifier()
digits = server.test_set()
clean = digits.images[0].float().numpy() / 255
models = {k: m for k, (_, m) in loaded.items()}
cmp = compare.compare(clean, "gaussian", 0.5, 0, models, ["median", "nl_means"], classifier=clf[1] if clf else None)
html = panels.row_html(cmp, False)
print(json.dumps({"loaded": sorted(loaded), "imgs": html.count("<img"), "modules": sorted(sys.modules)}))
"""


def test_the_first_page_imports_nothing_heavy_it_does_not_use():
    out = subprocess.run(
        [sys.executable, "-c", FIRST_PAGE], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["loaded"] == ["basic_ae", "conv_dae", "dense_dae"] and r["imgs"] == 7  # it did draw the whole row
    imported = set(r["modules"])
    assert "torch" in imported and "skimage.restoration" in imported  # (the check would see a heavy import)
    assert not {m: why for m, why in HEAVY.items() if m in imported}
