"""The server settings a classroom deployment relies on."""

import tomllib

from tests.conftest import ROOT


def test_streamlit_config_is_locked_down():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server, client = cfg["server"], cfg["client"]
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert server["maxUploadSize"] == 5
    assert server["enableStaticServing"] is False
    assert client["showErrorDetails"] not in ("full", True, "true")
    assert cfg["browser"]["gatherUsageStats"] is False


def test_upload_cap_matches_the_decoder():
    from ae_core.preprocess import MAX_UPLOAD_BYTES

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["maxUploadSize"] * 1024 * 1024 == MAX_UPLOAD_BYTES


def test_no_per_rerun_work_that_serialises_a_class():
    # Measured with bench/load.py at N=8: a forced full GC after every rerun held the GIL for ~250 ms per slider move,
    # and the source watcher walks every imported module on each rerun. Neither is useful on a serving machine.
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["runner"]["postScriptGC"] is False
    assert cfg["server"]["fileWatcherType"] == "none"


def test_no_request_path_changes_process_wide_state():
    """Code that changes the whole process may appear only where it runs once, at start."""
    import ast

    calls = {"set_num_threads", "setdefaulttimeout", "symbolic_trace", "set_num_interop_threads"}
    allowed = {("ae_core/device.py", "set_num_threads")}  # configure_threads: once, when ui/server.py is imported
    found = []
    for path in [*ROOT.glob("ae_core/*.py"), *ROOT.glob("ui/*.py"), *ROOT.glob("views/*.py"), ROOT / "app.py"]:
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text())):
            name = None
            if isinstance(node, ast.Attribute) and node.attr in calls:
                name = node.attr
            elif isinstance(node, ast.Attribute) and node.attr == "manual_seed" and ast.unparse(node.value) == "torch":
                name = "torch.manual_seed"  # the global RNG; seeded generators are fine
            elif isinstance(node, ast.Import | ast.ImportFrom):
                mods = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                name = "torch.fx" if any(m.startswith("torch.fx") for m in mods) else None
            if name and (rel, name) not in allowed:
                found.append(f"{rel}:{node.lineno}: {name}")
    assert not found, found
