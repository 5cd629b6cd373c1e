"""Debian's nginx in front of app replicas, configured from deploy/nginx.conf (shared by tests and bench)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from harness.browser import ROOT, free_port


@contextlib.contextmanager
def nginx_front(ports: list[int], name_upstream: bool = False):
    """Debian's nginx on a free loopback port, in front of the replicas (deploy/nginx.conf with the ports filled in).
    name_upstream: every response also says which replica served it (header X-AE-Upstream), for tests."""
    front = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="ae-lab-nginx-"))
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = conf.replace("127.0.0.1:8501", f"127.0.0.1:{ports[0]}").replace("127.0.0.1:8502", f"127.0.0.1:{ports[1]}")
    conf = conf.replace("listen 127.0.0.1:8080", f"listen 127.0.0.1:{front}").replace("/tmp/ae-lab-nginx", str(tmp))
    if name_upstream:
        conf = conf.replace(
            "proxy_buffering off;", "proxy_buffering off;\n            add_header X-AE-Upstream $upstream_addr;"
        )
    (tmp / "nginx.conf").write_text(conf)
    proc = subprocess.Popen(
        [
            shutil.which("nginx") or "/usr/sbin/nginx",
            "-c",
            str(tmp / "nginx.conf"),
            "-p",
            str(tmp),
            "-g",
            "daemon off;",
        ],
        stderr=subprocess.STDOUT,
        stdout=open(tmp / "out.log", "w"),  # noqa: SIM115 - lives as long as nginx
    )
    try:
        time.sleep(1.0)
        if proc.poll() is not None:
            raise RuntimeError(f"nginx did not start: {(tmp / 'out.log').read_text()}")
        yield f"http://127.0.0.1:{front}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
