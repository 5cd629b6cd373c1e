"""`python -m ui.serve [streamlit options]`: `streamlit run app.py` with the warm-up started with the server.

Under a plain `streamlit run app.py` the warm-up (ui/warmup.py) starts when the first page runs; here it starts in
the server's own process before anyone visits, so a new replica is warm before it takes students (the container and
Kubernetes set-ups use this, with AE_LAB_READY_FILE for the readiness probe)."""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def main() -> int:
    from streamlit.web import cli

    from ui import warmup

    warmup.start()
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
