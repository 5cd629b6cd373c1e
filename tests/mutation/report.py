"""The mutation scores of `make mutate`, per module, from mutmut's results in mutants/.

    python tests/mutation/report.py            print the table (and the survivors not yet reviewed)
    python tests/mutation/report.py --write    also write tests/mutation/scores.md, which the README quotes
    python tests/mutation/report.py --partial  also show modules whose run did not finish
    python tests/mutation/report.py --all      also modules that make mutate does not score

A mutant is a small change to the code (a flipped comparison, a changed constant, a removed call). Killed: a test
failed. Timeout: the tests ran past mutmut's limit, which counts as killed (the change broke the code enough to hang
it). Survived: every test still passed. A survivor is either killed by a stronger test or listed, with a one-line
reason, in tests/mutation/equivalent.txt when no test can tell it apart (an equivalent mutant: same behaviour).
Score = killed / (all - equivalent).
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "mutants"
EQUIVALENT = Path(__file__).with_name("equivalent.txt")
SCORES = Path(__file__).with_name("scores.md")
KILLED = {1, 3, 36, 24, -24, 152, 255, -9, -11}  # failed, pytest error, timeouts, killed by a signal
SURVIVED = {0}


def equivalent() -> dict[str, str]:
    """{mutant name: reason} from equivalent.txt (lines: `name  # reason`)."""
    out = {}
    for line in EQUIVALENT.read_text().splitlines() if EQUIVALENT.exists() else []:
        name, _, reason = line.partition("#")
        if name.strip():
            out[name.strip()] = reason.strip()
    return out


def results() -> dict[str, dict[str, int | None]]:
    """{module: {mutant name: exit code}} for every module mutmut has results for."""
    out: dict[str, dict[str, int | None]] = defaultdict(dict)
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        module = str(meta.relative_to(MUTANTS)).removesuffix(".py.meta").replace("/", ".")
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        for name, code in codes.items():
            out[module][name] = code
    return out


def table(res: dict, eq: dict[str, str], flags: tuple[str, ...] = ()) -> tuple[list[dict], list[str]]:
    rows, open_survivors = [], []
    for module, codes in sorted(res.items()):
        if not codes or (any(c is None for c in codes.values()) and "--partial" not in flags):
            continue  # not run to the end (or at all): not part of this report
        c = Counter()
        for name, code in codes.items():
            if name in eq:
                c["equivalent"] += 1
            elif code in KILLED:
                c["killed"] += 1
            elif code in SURVIVED:
                c["survived"] += 1
                open_survivors.append(name)
            elif code is None:
                c["not run"] += 1
            else:
                c["no tests"] += 1
                open_survivors.append(name)
        scored = len(codes) - c["equivalent"] - c["not run"]
        rows.append({"module": module, "mutants": len(codes), **c, "score": c["killed"] / scored if scored else 1.0})
    return rows, open_survivors


def markdown(rows: list[dict]) -> str:
    lines = [
        "| module | mutants | killed | survived | no tests | equivalent | not run | score |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['module']}` | {r['mutants']} | {r.get('killed', 0)} | {r.get('survived', 0)} | "
            f"{r.get('no tests', 0)} | {r.get('equivalent', 0)} | {r.get('not run', 0)} | {100 * r['score']:.1f}% |"
        )
    for prefix in ("ae_core.", "serve.", "ui."):
        part = [r for r in rows if r["module"].startswith(prefix)]
        killed = sum(r.get("killed", 0) for r in part)
        scored = sum(r["mutants"] - r.get("equivalent", 0) - r.get("not run", 0) for r in part)
        if scored:
            lines.append(
                f"| **{prefix.rstrip('.')} (these modules)** | | {killed} | | | | | **{100 * killed / scored:.1f}%** |"
            )
    return "\n".join(lines) + "\n"


def equivalents_by_module(rows: list[dict], eq: dict[str, str]) -> str:
    """Each scored module's equivalent mutants, with the reason each one cannot be told apart."""
    out = ["", "## Equivalent mutants, by module", ""]
    for r in rows:
        names = sorted(n for n in eq if n.startswith(r["module"] + ".x"))
        out.append(f"- `{r['module']}`: {len(names)}")
        out += [f"  - `{n.removeprefix(r['module'] + '.')}`: {eq[n]}" for n in names]
    return "\n".join(out) + "\n"


def not_mutated() -> str:
    """Functions marked `# pragma: no mutate block`: page layout that only AppTests and browser tests reach."""
    out = ["", "## Not mutated: page layout", "",
           "These functions only draw widgets; AppTests and browser tests drive them (seconds a test), so mutmut skips",
           "them and the unit tests cover the logic they call:", ""]  # fmt: skip
    for path in sorted((ROOT / "ui").glob("*.py")) + sorted((ROOT / "ae_core").glob("*.py")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if "pragma: no mutate block" in line:
                j = i
                while not lines[j].lstrip().startswith("def "):
                    j -= 1
                name = lines[j].split("def ", 1)[1].split("(", 1)[0]
                out.append(f"- `{path.relative_to(ROOT).with_suffix('').as_posix().replace('/', '.')}.{name}`")
    return "\n".join(out) + "\n"


# ae_core modules that make mutate does not run, and why. Their tests are in `make test`; these are the modules whose
# every mutant would run real training (seconds to a minute a mutant, and a broken loop runs to mutmut's timeout).
NOT_SCORED = {
    "ae_core.train": "the training run and its CLI: every mutant trains (a sampled run: 118 killed of 181 run before "
    "timeouts stalled it; `measure_rate`, `estimate_seconds` and `run_meta` now have value tests)",
    "ae_core.engine": "the epoch loop every run goes through: each mutant trains",
    "ae_core.models": "the three networks: each mutant changes every forward pass, so every test that trains runs",
    "ae_core.registry": "read by every test: each mutant runs the whole selection, training included",
    "ae_core.infer": "every model's forward pass: each mutant runs the whole selection, training included",
    "ae_core.parallel": "the worker-thread split under every bulk pass: as infer",
    "ae_core.device": "device choice: every training test reaches it; its CUDA and MPS branches need that hardware",
    "ae_core.graphs": "the CUDA-graph training step: runs only on a CUDA GPU (tests/test_gpu.py, `pytest -m gpu`)",
    "ae_core.make_sample": "the one-off script that cut data/sample.npz",
    "ae_core.messages": "the Message type: a string with fields, read by every test",
}


def not_scored() -> str:
    out = ["", "## ae_core modules not scored", ""]
    out += [f"- `{m}`: {why}" for m, why in NOT_SCORED.items()]
    return "\n".join(out) + "\n"


def scored_modules() -> set[str]:
    """The modules `make mutate` runs (MUTATE_MODULES, else the Makefile's list)."""
    import os
    import re

    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")  # continuation lines joined
    listed = os.environ.get("MUTATE_MODULES") or re.search(r"^MUTATE_MODULES \?= (.*)$", text, re.M).group(1)
    return set(listed.split())


def main(argv: list[str]) -> int:
    eq = equivalent()
    res = results()
    if "--all" not in argv:  # only the modules make mutate scores (a partial run of others may be in mutants/)
        res = {m: c for m, c in res.items() if m in scored_modules()}
    rows, open_survivors = table(res, eq, tuple(argv))
    text = markdown(rows)
    full = text + equivalents_by_module(rows, eq) + not_mutated() + not_scored()
    print(text)
    if open_survivors:
        print(f"{len(open_survivors)} survivors not yet killed or reviewed (`mutmut show NAME` shows one):")
        print("\n".join(f"  {n}" for n in open_survivors))
    if "--write" in argv:
        SCORES.write_text(full)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
