"""deploy/nginx.conf really fronts two replicas: page, WebSocket, uploads and sticky routing through Debian's nginx
(installed by `make chromium`; its absence is a failure, not a skip)."""

import urllib.request

import pytest

from harness import browser
from harness.nginx import nginx_front
from tests.images import png, seven

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UPSTREAM = "async () => (await fetch('/_stcore/health', {cache: 'no-store'})).headers.get('x-ae-upstream')"


def port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_each_browser_stays_on_one_of_two_replicas(tmp_path):
    from playwright.sync_api import sync_playwright

    digit = tmp_path / "seven.png"
    digit.write_bytes(png(seven()))
    with browser.streamlit_server() as one, browser.streamlit_server() as two:
        replicas = {f"127.0.0.1:{port(one)}", f"127.0.0.1:{port(two)}"}
        with nginx_front([port(one), port(two)], name_upstream=True) as front:
            assert urllib.request.urlopen(f"{front}/_stcore/health", timeout=10).read() == b"ok"
            with sync_playwright() as p:
                b = browser.launch(p)
                served: dict[str, int] = {}
                for i in range(16):  # new browsers until both replicas hold one (all on one: 2**-15 by chance)
                    page = b.new_context(viewport={"width": 1400, "height": 1100}).new_page()
                    page.goto(front)
                    page.get_by_role("heading", name="Playground").wait_for(timeout=60_000)  # the WebSocket is up
                    page.wait_for_function(
                        f"() => document.querySelectorAll('{browser.OUTPUT_IMGS}').length >= 7", timeout=60_000
                    )
                    # Every later request of this browser goes to one replica...
                    upstreams = {page.evaluate(UPSTREAM) for _ in range(6)}
                    assert len(upstreams) == 1 and upstreams <= replicas, upstreams
                    (up,) = upstreams
                    served[up] = served.get(up, 0) + 1
                    if i == 0:  # ...the one holding its session: an upload (an HTTP POST) reaches it
                        page.get_by_text("Upload", exact=True).click()
                        page.locator("input[type=file]").set_input_files(str(digit))
                        page.get_by_text("Preprocessing steps (MNIST-style)").wait_for(timeout=60_000)
                        browser.wait_idle(page, 60)
                        assert page.locator(browser.ERROR_BOX).count() == 0
                    page.context.close()
                    if len(served) == 2:
                        break
                b.close()
    assert set(served) == replicas, served
