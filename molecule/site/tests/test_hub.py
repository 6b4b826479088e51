"""The hub host: the proxy, the hub and the culler run as their own units, unprivileged, secrets locked down."""

from __future__ import annotations

import json

import pytest

testinfra_hosts = ["hub"]


@pytest.mark.parametrize("unit", ["configurable-http-proxy", "jupyterhub", "jupyterhub-idle-culler"])
def test_units_running_and_enabled(host, unit):
    svc = host.service(unit)
    assert svc.is_running
    assert svc.is_enabled


@pytest.mark.parametrize(
    ("address", "public"),
    [("tcp://0.0.0.0:8000", True), ("tcp://127.0.0.1:8001", False), ("tcp://127.0.0.1:8081", False)],
)
def test_listening_sockets(host, address, public):
    assert host.socket(address).is_listening
    if not public:
        port = address.rsplit(":", 1)[1]
        assert not host.socket(f"tcp://0.0.0.0:{port}").is_listening


@pytest.mark.parametrize("process", ["jupyterhub", "configurable-http-proxy"])
def test_hub_and_proxy_do_not_run_as_root(host, process):
    users = host.check_output(f"ps -o user= -C {'node' if process != 'jupyterhub' else 'jupyterhub'}").split()
    assert users, f"no {process} process"
    assert set(users) == {"jupyterhub"}


@pytest.mark.parametrize(
    ("path", "owner", "mode"),
    [
        ("/var/lib/jupyterhub/cookie_secret", "jupyterhub", 0o600),
        ("/etc/jupyterhub/hub.env", "root", 0o600),
        ("/etc/jupyterhub/proxy.env", "root", 0o600),
        ("/etc/jupyterhub/culler.env", "root", 0o600),
        ("/etc/jupyterhub/jupyterhub_config.py", "root", 0o640),
        ("/var/lib/jupyterhub", "jupyterhub", 0o700),
        ("/etc/sudoers.d/jupyterhub", "root", 0o440),
    ],
)
def test_secret_file_modes(host, path, owner, mode):
    f = host.file(path)
    assert f.exists
    assert f.user == owner
    assert f.mode == mode


def test_config_holds_no_secret(host):
    config = host.file("/etc/jupyterhub/jupyterhub_config.py").content_string
    env = dict(
        line.split("=", 1)
        for line in host.file("/etc/jupyterhub/hub.env").content_string.splitlines()
        if "=" in line and not line.startswith("#")
    )
    for name, value in env.items():
        assert value not in config, f"{name} leaked into jupyterhub_config.py"
    assert "postgresql+psycopg2://jupyterhub@" in config


def test_hub_uses_postgresql(host):
    # The hub's state lives on the db host, not in a local sqlite file.
    assert not host.file("/var/lib/jupyterhub/jupyterhub.sqlite").exists


def _metrics(host, token: str | None) -> str:
    header = f"-H 'Authorization: token {token}' " if token else ""
    return host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' {header}http://127.0.0.1:8000/hub/metrics")


def test_metrics_need_the_metrics_token(host):
    env = host.file("/etc/jupyterhub/hub.env").content_string
    token = next(line.split("=", 1)[1] for line in env.splitlines() if line.startswith("HUBSITE_METRICS_TOKEN="))
    assert _metrics(host, None) == "403"
    assert _metrics(host, token) == "200"
    body = host.check_output(f"curl -s -H 'Authorization: token {token}' http://127.0.0.1:8000/hub/metrics")
    assert "jupyterhub_total_users" in body


def test_versions_are_the_pinned_ones(host):
    out = host.check_output("/opt/jupyterhub/bin/python3 -m pip list --format=json")
    versions = {p["name"].lower(): p["version"] for p in json.loads(out)}
    assert versions["jupyterhub"] == "6.1.1"
    assert versions["jupyterlab"] == "4.6.6"
    chp = host.check_output(
        "node -p \"require('/opt/configurable-http-proxy/node_modules/configurable-http-proxy/package.json').version\""
    )
    assert chp == "5.3.0"


def test_culler_is_authorised(host):
    # The culler's token works against the hub API (a 403 here would mean the culler silently does nothing).
    env = host.file("/etc/jupyterhub/culler.env").content_string
    token = next(line.split("=", 1)[1] for line in env.splitlines() if line.startswith("JUPYTERHUB_API_TOKEN="))
    code = host.check_output(
        f"curl -s -o /dev/null -w '%{{http_code}}' -H 'Authorization: token {token}' http://127.0.0.1:8081/hub/api/users"
    )
    assert code == "200"
