"""`python -m ui.serve [streamlit options]`: `streamlit run app.py` with the warm-up started with the server.

Under a plain `streamlit run app.py` the warm-up (ui/warmup.py) starts when the first page runs; here it starts in
the server's own process before anyone visits, so a new replica is warm before it takes students (the container and
Kubernetes set-ups use this, with AE_LAB_READY_FILE for the readiness probe)."""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def preload() -> None:
    """What every first page needs, loaded before the server answers: torch, pandas and Altair, the test set, the
    shipped weights, the classifier, the results saved with the weights, and this machine's training speed for the
    sidebar's first estimate (about 3 s on 2 cores). Under a plain `streamlit run` the first visitor's page pays for
    it, and the speed is measured beside it; here no visitor does. Nothing else is computed (that is the warm-up's
    work), and it runs with the warm-up off too."""
    import altair as alt
    import pandas as pd
    import pandas.io.formats.style  # noqa: F401 - the Scoreboard table's Styler (and jinja2)

    # A first chart loads Altair's schema validators (about 0.3 s): here, not in a visitor's page.
    alt.Chart(pd.DataFrame({"x": [0]})).mark_line().encode(x="x:Q").to_dict()

    from ui import frame, insight, lesson, server, session, tutorial  # noqa: F401 - the pages' own modules

    digits = server.test_set()
    loaded, _errors = server.default_models()
    server.digit_classifier()
    if digits.full and loaded:
        server.test_set_sha()
        server._shipped_results(str(server.store.WEIGHTS_DIR))
    server.code_sizes()
    from ae_core.registry import MODELS
    from ui import jobs

    first = next(iter(MODELS))  # the sidebar's first choice: its estimate needs this machine's speed (about 0.5 s)
    jobs.measure_speeds(first, jobs.preset_config(first, "quick"))


def main() -> int:
    from streamlit.web import cli

    from ui import warmup

    preload()
    warmup.start()
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
