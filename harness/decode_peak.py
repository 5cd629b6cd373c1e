"""Peak memory of turning one upload into a digit, measured in a fresh process (not the caller's high-water mark).

    python -m harness.decode_peak FILE [FILE ...]   prints one JSON line per file: {"file", "peak_mb", "digit_sum"}

The child imports ae_core.preprocess, reads the file, then records its peak RSS (ru_maxrss) before and after
preprocess.from_upload; the difference is what decoding cost beyond the file's bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json, resource, sys
from pathlib import Path
from ae_core import preprocess
data = Path(sys.argv[1]).read_bytes()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    digit_sum = float(preprocess.from_upload(data).digit.sum())
except (preprocess.ImageRejected, preprocess.EmptyImage) as e:
    digit_sum = str(e)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mb": (after - before) / 1024, "digit_sum": digit_sum}))
"""

ROOT = Path(__file__).resolve().parent.parent


def peak_mb(path: str | Path) -> dict:
    """{"peak_mb": MB allocated at the peak beyond the process before decoding, "digit_sum": the digit's ink}."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    for f in sys.argv[1:]:
        print(json.dumps({"file": f} | peak_mb(f)))
