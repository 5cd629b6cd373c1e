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
                    assert page.locator(browser.ERROR_BOX).count() == 0, i  # on every pass, whichever replica
                    page.context.close()
                    if len(served) == 2:
                        break
                b.close()
        for replica in (one, two):  # neither replica logged an uncaught exception while it served
            errors = browser.server_errors(replica)
            assert not errors, errors[-3000:]
    assert set(served) == replicas, served


def test_the_compose_proxy_serves_the_app_over_tls_and_plain_http_only_redirects(tmp_path):
    """deploy/compose-nginx.conf as compose runs it, with a self-signed certificate in place of the operator's and
    one real replica behind both upstream names."""
    import http.client
    import shutil
    import ssl
    import subprocess
    import time

    from harness.browser import ROOT, free_port, streamlit_server

    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    plain, tls = free_port(), free_port()
    with streamlit_server(log_path=tmp_path / "replica.log") as url:
        replica = url.rsplit(":", 1)[1]
        conf = (ROOT / "deploy" / "compose-nginx.conf").read_text()
        for old, new in (
            ("app1:8501", f"127.0.0.1:{replica}"),
            ("app2:8501", f"127.0.0.1:{replica}"),
            ("/etc/nginx/certs", str(certs)),
            ("/tmp/ae-lab-nginx", str(tmp_path)),
            ("listen 8080;", f"listen 127.0.0.1:{plain};"),
            ("listen 8443 ssl;", f"listen 127.0.0.1:{tls} ssl;"),
            ("https://$host:8443", f"https://$host:{tls}"),
        ):
            assert old in conf, old
            conf = conf.replace(old, new)
        (tmp_path / "nginx.conf").write_text(conf)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        proc = subprocess.Popen([nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-g", "daemon off;"])
        try:
            time.sleep(1.0)
            assert proc.poll() is None, (tmp_path / "error.log").read_text()
            insecure = ssl.create_default_context()
            insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE  # the test's own certificate
            c = http.client.HTTPSConnection("127.0.0.1", tls, context=insecure, timeout=10)
            c.request("GET", "/_stcore/health")
            r = c.getresponse()
            assert r.status == 200 and r.read() == b"ok"
            assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
            c = http.client.HTTPConnection("127.0.0.1", plain, timeout=10)
            c.request("GET", "/_stcore/health", headers={"Host": "class.example"})
            r = c.getresponse()
            assert r.status == 301 and r.getheader("Location") == f"https://class.example:{tls}/_stcore/health"
        finally:
            proc.terminate()
            proc.wait(10)
