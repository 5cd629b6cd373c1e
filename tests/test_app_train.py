import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def poll(at, done, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if done(at):
            return at
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def history(at) -> list[dict]:
    """The run history table's rows (the page's other tables are the charts' numbers)."""
    tables = [d.value for d in at.dataframe if "run" in d.value.columns]
    return tables[0].to_dict("records") if tables else []


def test_train_page_tiny_run_finishes_and_appears_in_history(tmp_path):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("views/train.py").run()
    assert at.title[0].value == "Train"
    at.multiselect(key="tr_models").set_value(["dense_dae"]).run()
    at.number_input[0].set_value(1)  # epochs
    next(n for n in at.number_input if n.label == "Training images").set_value(8192)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception
    at = poll(at, lambda a: any(r["state"] == "finished" for r in history(a)))
    row = history(at)[0]
    assert row["model"] == "Dense DAE" and row["epochs"] == "1/1" and row["images"] == 8192
    assert row["val loss"] > 0 and 0 < row["test SSIM"] < 1
    # The score is evaluate's on the run's own weights (the same noise, seed 0), and above what an empty output
    # scores on those digits (10.04 dB: every pixel 0), so a run that learned nothing or was scored wrong fails.
    from ae_core import metrics
    from ae_core.data import test_digits
    from ae_core.evaluate import evaluate
    from ui import server

    (job,) = [j for j in server.manager().jobs_for(at.session_state["browser_id"]) if j.key == "dense_dae"]
    ev = evaluate({"dense_dae": job.result.model}, job.config.noise_type, job.config.noise_factor, 0, test_digits())
    assert row["test PSNR"] == pytest.approx(ev.summary()["dense_dae"]["psnr"], abs=0.01)
    clean = test_digits().batch(slice(None))
    empty = float(metrics.psnr(clean, clean * 0).double().mean())
    assert row["test PSNR"] > empty + 1, (row["test PSNR"], empty)
    labels = [b.label for b in at.button]
    assert "Use these weights" in labels and "Save as default" in labels
    at.button(key="tr_activate").click().run()
    at.switch_page("views/playground.py").run()
    assert any("run #" in m.value for m in at.sidebar.markdown if "Dense DAE" in m.value)
    download_and_upload_elsewhere(at, row)


def download_and_upload_elsewhere(at, row: dict) -> None:
    """The run's download (the zip the Train page offers), unpacked and uploaded by another browser, is the same
    weights with the same test scores."""
    import io
    import zipfile

    from ae_core import store
    from ui import jobs, server

    (job,) = [j for j in server.manager().jobs_for(at.session_state["browser_id"]) if j.state == "done"]
    with zipfile.ZipFile(io.BytesIO(jobs.weights_zip(job))) as z:
        files = [(n, z.read(n), "application/octet-stream") for n in sorted(z.namelist())]
    assert sorted(n for n, _, _ in files) == sorted(
        ["dense_dae.json", next(n for n, _, _ in files if "safetensors" in n)]
    )
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    other.switch_page("views/train.py").run()
    other.file_uploader(key="tr_upload").set_value(files).run()
    assert not other.exception and not other.error, [e.value for e in other.error]
    assert any(s.value.startswith("Loaded upload") for s in other.success)
    (up,) = server.manager().jobs_for(other.session_state["browser_id"])
    assert up.sha256 == store.content_sha("dense_dae", job.model)
    assert up.config == job.config.replace(precision=job.result.precision)  # the sidecar holds the resolved config
    uploaded = history(other)[0]
    assert (uploaded["test PSNR"], uploaded["test SSIM"], uploaded["images"]) == (
        row["test PSNR"],
        row["test SSIM"],
        row["images"],
    )


def test_sidebar_quick_retrain_activates_new_weights():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.selectbox(key="rt_model").set_value("basic_ae").run()
    assert at.radio(key="rt_preset").value == "quick"
    # The speed is measured in the background; the estimate is in once it is.
    at = poll(
        at,
        lambda a: any(
            "1 epoch on 10,000 images" in c.value and re.search(r"(about \d+ s|under a second) here", c.value)
            for c in a.sidebar.caption
        ),
    )
    at.button(key="rt_start").click().run()
    at = poll(at, lambda a: any("Basic AE: use run" in t.label for t in a.sidebar.toggle))
    assert any("finished" in s.value for s in at.sidebar.success)
    assert any("Basic AE**: run" in m.value for m in at.sidebar.markdown)
    toggle = next(t for t in at.sidebar.toggle if "Basic AE: use run" in t.label)
    toggle.set_value(False).run()
    assert any(m.value == "**Basic AE**: saved default" for m in at.sidebar.markdown)


def test_invalid_weights_upload_is_refused():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("views/train.py").run()
    at.file_uploader(key="tr_upload").set_value(
        [
            ("x.safetensors", b"\x80\x04not safetensors", "application/octet-stream"),
            (
                "x.json",
                b'{"model_key": "conv_dae", "tensor_file": "x", "sha256": "00", "arch": "a"}',
                "application/json",
            ),
        ]
    ).run()
    assert not at.exception
    assert any("Refused" in e.value and "sha256" in e.value for e in at.error)
