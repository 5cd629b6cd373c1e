"""What a slider move costs the server, by what it sends: the noise slider reruns only the output row's fragment,
which draws one widget and one HTML block (plus the lesson-link panel's closed header). The CPU it takes is measured in
bench/capacity.py --cpu, not here; this pins the structure that the figure depends on."""

from __future__ import annotations

import time

import pytest

from harness import stclient

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROW = 'class="ae-row"'  # the output row's HTML block (the page's CSS names the class too)
FRAGMENT = "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"  # a full run would say FINISHED_SUCCESSFULLY


def test_a_slider_move_redraws_only_the_row(app_url):
    with stclient.Session(app_url) as s:
        assert s.open(query="digit=7&factor=0.5").ok
        before = s.html(ROW)
        run = s.set("pg_factor", 0.8)
        assert run.ok and run.status == FRAGMENT
        assert run.elements <= 3, run.elements  # the slider, the row's HTML block, the closed panel's header
        row = s.html(ROW)
        assert len(row) == 1 and row != before and row[0].count("<img") == 7
        assert "factor=0.8" in s.query  # the address bar still follows the slider
        # The row is the one a fresh visitor gets for the same settings (the cache is content-keyed).
    with stclient.Session(app_url) as fresh:
        assert fresh.open(query="digit=7&factor=0.8").ok
        assert fresh.html(ROW) == row


def test_the_other_noise_settings_rerun_the_row_too(app_url):
    with stclient.Session(app_url) as s:
        assert s.open(query="digit=3&factor=0.5").ok
        before = s.html(ROW)
        run = s.set("pg_seed", 5)
        assert run.ok and run.status == FRAGMENT
        assert s.html(ROW) != before and "seed=5" in s.query
        shown = s.html(ROW)
        run = s.set("pg_residual", True)
        assert run.ok and s.html(ROW) != shown and s.html('ae-res-row"')


def test_another_digit_reruns_the_page_body_not_the_sidebar(app_url):
    with stclient.Session(app_url) as s:
        assert s.open(query="digit=3").ok
        before = s.html(ROW)
        run = s.set("pg_class", 5)
        assert run.ok and run.status == FRAGMENT
        assert s.html(ROW) != before and "digit=" in s.query and "digit=3&" not in s.query + "&"
        run = s.click("Random digit")
        assert run.ok and run.status == FRAGMENT


def test_back_to_mnist_after_drawing_in_fragment_runs_only(app_url):
    """Streamlit drops the values of widgets a run did not draw; the body's fragment runs must bring the MNIST
    picker's back (the load bench found this: Draw, then MNIST digit, crashed on the missing position)."""
    with stclient.Session(app_url) as s:
        assert s.open(query="digit=12").ok
        before = s.html(ROW)
        for source in ("draw", "upload", "mnist"):
            run = s.set("pg_source", source)
            assert run.ok and not run.errors, (source, run.exceptions)
            assert run.status == FRAGMENT
        assert s.html(ROW) == before and "digit=12" in s.query  # the same digit as before the detour
        run = s.set("pg_class", 4)
        assert run.ok and s.html(ROW) != before


def test_rows_from_the_row_worker_equal_the_servers_own(app_url):
    """The shared server computes new rows in its row worker (serve/rowworker.py); a server without one computes
    them itself. Every row, HTML and PNGs included, is the same byte for byte."""
    from harness import browser, procs

    with browser.streamlit_server(env={"AE_LAB_ROW_WORKER": "0", "AE_LAB_SWEEP_DIGITS": "200"}) as plain:
        with stclient.Session(app_url) as first:
            assert first.open(query="digit=5").ok  # the first page starts the worker, if no test has yet
        server = procs.server_pids([int(app_url.rsplit(":", 1)[1])])
        worker = [p for p in procs.with_row_workers(server) if p not in server]
        assert len(worker) == 1
        # The child's own start-up (importing torch, loading weights) uses CPU too: wait until it is idle, so the
        # rise below can only come from rows.
        before, deadline = procs.cpu_s(worker), time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = procs.cpu_s(worker)
            if now - before < 0.005:
                break
            before = now
        else:
            raise AssertionError("the row worker never went idle")
        for digit, seed in ((7, 4321), (612, 4322)):  # seeds no other test uses: nothing cached
            q = f"digit={digit}&factor=0.5&seed={seed}"
            with stclient.Session(app_url) as a, stclient.Session(plain) as b:  # the URL is read on a first run
                assert a.open(query=q).ok and b.open(query=q).ok
                assert a.html(ROW) == b.html(ROW)
                for factor in (0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.0):
                    assert a.set("pg_factor", factor).ok and b.set("pg_factor", factor).ok
                    assert a.html(ROW) == b.html(ROW), (digit, factor)
    assert procs.cpu_s(worker) - before > 0.05  # the 18 new rows above (about 7 ms each) came from the worker
