"""deploy/nginx.conf really fronts the app: page, WebSocket and sticky routing through Debian's nginx."""

import shutil
import urllib.request

import pytest

from harness import browser
from harness.nginx import nginx_front

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("nginx") is None and not shutil.os.path.exists("/usr/sbin/nginx"),
        reason="Debian's nginx is not installed",
    ),
]


def test_app_through_nginx():
    from playwright.sync_api import sync_playwright

    with browser.streamlit_server() as url:
        port = int(url.rsplit(":", 1)[1])
        with nginx_front([port, port]) as front:
            assert urllib.request.urlopen(f"{front}/_stcore/health", timeout=10).read() == b"ok"
            with sync_playwright() as p:
                b = browser.launch(p)
                page = b.new_page()
                page.goto(front)
                page.get_by_role("heading", name="Playground").wait_for(timeout=60_000)  # needs the WebSocket upgrade
                page.wait_for_function(
                    f"() => document.querySelectorAll('{browser.OUTPUT_IMGS}').length >= 7", timeout=60_000
                )
                b.close()
