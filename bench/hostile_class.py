"""A hostile class against a real server in classroom mode, at the protocol level (issue 27's soak, long form).

Attackers with a fresh browser id for every request (canvas bombs, 4096-pixel uploads, weights uploads with new
content, Scoreboard settings nobody asked for, key guesses, run spam, new noise seeds) while 30 honest students move
sliders, 3 of them train Quick runs, and the teacher unlocks. Prints one JSON line: the ceiling and the highest resident memory of the
server and its children, the honest students' slider p50/p95, what became of each honest run, the teacher's unlock
time, whether a key was found, and how many error boxes anyone saw. tests/reliability/test_hostile_class.py runs the
short form in `make test`.
Usage: python bench/hostile_class.py [--seconds 300] [--honest 30] [--trainers 3] [--attackers 6] [--ceiling-mb 4096]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.hostile import soak  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--honest", type=int, default=30)
    ap.add_argument("--trainers", type=int, default=3)
    ap.add_argument("--attackers", type=int, default=6)
    ap.add_argument("--ceiling-mb", type=float, default=4096)
    a = ap.parse_args()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "ae-lab-hostile.log"
    print(json.dumps(soak(a.seconds, a.honest, a.trainers, a.attackers, a.ceiling_mb, log)), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("AE_LAB_OFFLINE", "1")
    sys.exit(main())
