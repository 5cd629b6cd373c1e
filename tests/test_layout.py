"""The layout the README describes: ae_core holds the torch core and never imports the server's rules or Streamlit;
serve holds the server's rules without Streamlit; no import circle among them (issue 27, "One home")."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT


def imports(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function, relative imports resolved."""
    pkg = path.parent.name
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = f"{pkg}.{base}" if base else pkg
                out |= {f"{base}.{a.name}" if not node.module else base for a in node.names}
            else:
                out.add(base)
    return out


def modules(pkg: str) -> dict[str, set[str]]:
    return {f"{pkg}.{p.stem}": imports(p) for p in (ROOT / pkg).glob("*.py") if p.stem != "__init__"}


def test_ae_core_is_the_torch_core_alone():
    for mod, deps in modules("ae_core").items():
        bad = {d for d in deps if d.split(".")[0] in ("serve", "ui", "views", "streamlit")}
        assert not bad, (mod, bad)


def test_serve_never_imports_streamlit_or_the_ui():
    for mod, deps in modules("serve").items():
        bad = {d for d in deps if d.split(".")[0] in ("ui", "views", "streamlit")}
        assert not bad, (mod, bad)


def test_no_import_circle_in_ae_core_or_serve():
    graph = {**modules("ae_core"), **modules("serve")}
    graph = {m: {d for d in deps if d in graph} for m, deps in graph.items()}

    def reach(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo += graph[m]
        return seen

    circles = [m for m in graph if m in reach(m)]
    assert not circles, circles
