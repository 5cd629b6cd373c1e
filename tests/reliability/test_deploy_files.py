"""The deploy files agree with each other, with the app and with the README. (No container image can be built on
these machines: this checks what can be checked without one.)"""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.conftest import ROOT

PORT, HEALTH = 8501, "/_stcore/health"
DOCKERFILE = (ROOT / "Dockerfile").read_text()
README = (ROOT / "README.md").read_text()


def yaml_docs(rel: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((ROOT / rel).read_text()) if d]


def k8s(kind: str) -> dict:
    for path in (ROOT / "deploy" / "k8s").glob("*.yaml"):
        for d in yaml_docs(str(path.relative_to(ROOT))):
            if d["kind"] == kind:
                return d
    raise AssertionError(f"no {kind} in deploy/k8s")


def app_env_vars() -> set[str]:
    """Every AE_LAB_* variable the app's code reads."""
    names = set()
    for path in [*ROOT.glob("ae_core/*.py"), *ROOT.glob("serve/*.py"), *ROOT.glob("ui/*.py")]:
        names |= set(re.findall(r"\"(AE_LAB_[A-Z_]+)\"", path.read_text()))
    return names | {"MNIST_DIR"}


def test_dockerfile_follows_streamlits_guide():
    assert re.search(r"^FROM python:3\.11-slim\b", DOCKERFILE, re.M)
    workdir = re.search(r"^WORKDIR (\S+)", DOCKERFILE, re.M).group(1)
    assert workdir != "/"
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(rf"^EXPOSE {PORT}$", DOCKERFILE, re.M)
    assert re.search(rf"^HEALTHCHECK .*\n?.*curl --fail http://localhost:{PORT}{HEALTH}", DOCKERFILE, re.M)
    entry = re.search(r"^ENTRYPOINT (\[.*\])", DOCKERFILE, re.M).group(1)
    assert (
        entry.startswith('["python", "-m", "ui.serve"') and f"--server.port={PORT}" in entry
    )  # streamlit run + warm-up
    assert "--server.address=0.0.0.0" in entry


def test_dockerfile_installs_exactly_requirements_txt_with_cpu_torch():
    reqs = (ROOT / "requirements.txt").read_text()
    pins = dict(re.findall(r"^(torch|torchvision)==(\S+)", reqs, re.M))
    assert set(pins) == {"torch", "torchvision"}
    for name, version in pins.items():
        assert f"{name}=={version}" in DOCKERFILE, name  # the CPU wheels are the versions requirements.txt pins
    assert "download.pytorch.org/whl/cpu" in DOCKERFILE
    assert "pip install --no-cache-dir -r requirements.txt" in DOCKERFILE
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv/", "data/", ".git/"} <= set(ignored) and any("__pycache__" in i for i in ignored)


def test_ports_and_health_paths_agree_everywhere():
    compose = yaml_docs("deploy/compose.yaml")[0]
    apps = [s for name, s in compose["services"].items() if name.startswith("app")]
    assert len(apps) == 2
    for s in apps:
        assert f"localhost:{PORT}{HEALTH}" in " ".join(s["healthcheck"]["test"])
    nginx_conf = (ROOT / "deploy" / "compose-nginx.conf").read_text()
    assert re.findall(r"server (app\d):(\d+);", nginx_conf) == [("app1", str(PORT)), ("app2", str(PORT))]
    assert "8080:8080" in compose["services"]["nginx"]["ports"] and "listen 8080;" in nginx_conf
    dep = k8s("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert dep["ports"][0]["containerPort"] == PORT
    assert dep["livenessProbe"]["httpGet"] == {"path": HEALTH, "port": PORT}
    # Ready once warm: the file the warm-up writes, and the server started with the warm-up (ui/serve.py).
    ready_file = next(e["value"] for e in dep["env"] if e["name"] == "AE_LAB_READY_FILE")
    assert dep["readinessProbe"]["exec"]["command"] == ["test", "-f", ready_file]
    assert dep["command"][:3] == ["python", "-m", "ui.serve"]
    hpa = k8s("HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"]["name"] == "ae-lab" and hpa["minReplicas"] >= 2
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    assert dep["resources"]["requests"]["cpu"] and dep["resources"]["limits"]["memory"]
    assert k8s("Service")["spec"]["ports"][0]["targetPort"] == PORT
    ann = k8s("Ingress")["metadata"]["annotations"]
    assert ann["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert int(ann["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    front = (ROOT / "deploy" / "spaces" / "README.md").read_text().split("---")[1]
    spaces = yaml.safe_load(front)
    assert spaces["sdk"] == "docker" and spaces["app_port"] == PORT
    assert k8s("PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_two_nginx_configs_route_the_same_way():
    """compose-nginx.conf is nginx.conf with the compose service names: the same stickiness, upgrade and timeouts."""

    def rules(text: str) -> list[str]:
        keep = ("hash ", "proxy_", "client_max_body_size", "map ", "default", '""', "add_header")
        return [line.strip() for line in text.splitlines() if line.strip().startswith(keep)]

    assert rules((ROOT / "deploy" / "nginx.conf").read_text()) == rules(
        (ROOT / "deploy" / "compose-nginx.conf").read_text()
    )


def test_environment_variables_are_real_and_documented():
    used = app_env_vars()
    compose = yaml_docs("deploy/compose.yaml")[0]
    named = set(re.findall(r"^ENV (\w+)=|^\s+(\w+)=", DOCKERFILE, re.M))
    named = {n for pair in named for n in pair if n}
    for s in compose["services"].values():
        named |= set(s.get("environment", {}))
    named |= {e["name"] for e in k8s("Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert named and named <= used, named - used  # no setting that the app does not read
    for name in named:
        assert name in README, f"{name} is not documented in the README"


def test_streamlit_config_pings_websockets_for_proxies():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert 5 <= cfg["server"]["websocketPingInterval"] < 30  # below common 30-60 s proxy idle timeouts


def test_readme_documents_deployment_and_says_the_image_was_not_built():
    for needle in ("docker build", "deploy/compose.yaml", "deploy/k8s", "app_port", "not built in CI"):
        assert needle in README, needle


def shipped_env(setup: str) -> dict[str, str]:
    """The environment a shipped set-up gives the app: the Dockerfile's ENV, plus what compose or Kubernetes add
    (each runs the image built from that Dockerfile; Spaces runs the Dockerfile as it is)."""
    env = {}
    for line in re.findall(r"^ENV ((?:.*\\\n)*.*)$", DOCKERFILE, re.M):
        env |= dict(re.findall(r"(\w+)=(\S+)", line))
    if setup == "deploy/compose.yaml":
        for s in yaml_docs(setup)[0]["services"].values():
            env |= {k: str(v) for k, v in (s.get("environment") or {}).items() if not str(v).startswith("${")}
    elif setup == "deploy/k8s/deployment.yaml":
        container = k8s("Deployment")["spec"]["template"]["spec"]["containers"][0]
        env |= {e["name"]: e["value"] for e in container["env"] if "value" in e}
    return env


SETUPS = ["Dockerfile", "deploy/compose.yaml", "deploy/k8s/deployment.yaml"]


def test_every_shipped_setup_turns_classroom_mode_on_and_ships_no_key():
    for setup in SETUPS:
        env = shipped_env(setup)
        assert env.get("AE_LAB_CLASSROOM") == "1", setup
        assert "AE_LAB_TEACHER_KEY" not in env, setup  # never a literal key in a file
    compose = yaml_docs("deploy/compose.yaml")[0]["services"]
    for name in ("app1", "app2"):
        assert compose[name]["environment"]["AE_LAB_TEACHER_KEY"] == "${AE_LAB_TEACHER_KEY:-}"
    container = k8s("Deployment")["spec"]["template"]["spec"]["containers"][0]
    key = next(e for e in container["env"] if e["name"] == "AE_LAB_TEACHER_KEY")
    assert key["valueFrom"]["secretKeyRef"]["name"] == "ae-lab-teacher"
    spaces = (ROOT / "deploy" / "spaces" / "README.md").read_text()
    assert "sdk: docker" in spaces and "AE_LAB_TEACHER_KEY" in spaces  # the Dockerfile's ENV, a Space secret


# --- issue 27, finding 4: set-ups and secrets -------------------------------------------------------------------------


def test_every_documented_replica_command_turns_classroom_mode_on():
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    commands = [line for line in nginx.splitlines() if "--server.port" in line]
    assert len(commands) == 2 and all("AE_LAB_CLASSROOM=1" in c and "ui.serve" in c for c in commands), commands
    section = README.split("- **Several replicas**", 1)[1].split("\n- **", 1)[0]
    assert "AE_LAB_CLASSROOM=1" in section and "streamlit run app.py --server.port" not in section


def test_secrets_never_reach_the_image_or_the_repository():
    docker = set((ROOT / ".dockerignore").read_text().split())
    git = set((ROOT / ".gitignore").read_text().split())
    for secret in ("deploy/.env", ".streamlit/secrets.toml", "deploy/certs/"):
        assert secret in docker, secret  # COPY . . would put it into the image
        assert secret in git, secret
    assert "COPY --chown=aelab:aelab . ." in DOCKERFILE  # the one copy the ignore file guards


def test_compose_serves_tls_only_and_plain_http_just_redirects():
    conf = (ROOT / "deploy" / "compose-nginx.conf").read_text()
    servers = conf.split("server {")[1:]
    plain = next(s for s in servers if "listen 8080;" in s)
    tls = next(s for s in servers if "listen 8443 ssl;" in s)
    assert "return 301 https://" in plain and "proxy_pass" not in plain  # nothing is served in clear
    assert "proxy_pass http://ae_lab;" in tls and "ssl_certificate /etc/nginx/certs/" in tls
    assert re.search(r"ssl_protocols TLSv1\.2 TLSv1\.3;", tls)
    nginx = yaml_docs("deploy/compose.yaml")[0]["services"]["nginx"]
    assert "8443:8443" in nginx["ports"] and any(v.endswith(":/etc/nginx/certs:ro") for v in nginx["volumes"])
    for needle in ("TLS", "deploy/certs", "ae-lab-tls"):
        assert needle in README, needle


def test_the_kubernetes_ingress_serves_tls_and_redirects():
    ing = k8s("Ingress")
    assert ing["spec"]["tls"][0]["secretName"] == "ae-lab-tls"
    assert ing["spec"]["rules"][0]["host"] in ing["spec"]["tls"][0]["hosts"]
    ann = ing["metadata"]["annotations"]
    assert ann["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"


def test_the_kubernetes_pod_is_hardened_with_writable_volumes_where_the_app_writes():
    pod = k8s("Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = pod["containers"][0]
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
    assert sc["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    ready = next(e["value"] for e in container["env"] if e["name"] == "AE_LAB_READY_FILE")
    assert "/weights" in mounts and any(ready.startswith(m + "/") for m in mounts)  # the ready file can be written
    assert "/tmp" in mounts  # tempfile's default (uploads, safetensors saves' temporary files)
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert all(
        volumes[m["name"]].get("emptyDir") is not None for m in container["volumeMounts"] if m["name"] != "weights"
    )


def test_compose_limits_each_replicas_memory_and_restarts_it():
    services = yaml_docs("deploy/compose.yaml")[0]["services"]
    for name in ("app1", "app2", "nginx"):
        assert services[name]["restart"] == "unless-stopped", name
        assert re.fullmatch(r"\d+[mg]", services[name]["mem_limit"]), name
    k8s_limit = k8s("Deployment")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]
    assert services["app1"]["mem_limit"] == k8s_limit.lower().rstrip("i")  # one sizing for both set-ups (3 GiB)
