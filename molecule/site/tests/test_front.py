"""The front, seen from outside: TLS at the Mozilla intermediate level, the headers JupyterHub needs, redirects."""

from __future__ import annotations

import http.client
import json
import socket
import ssl

import pytest

testinfra_hosts = ["front"]

SITE = "hub.demo.hubsite.test"


def _context(secrets_dir, **kw) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(secrets_dir / "pki" / "ca.crt"))
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def _get(front_address, secrets_dir, path="/hub/login"):
    ctx = _context(secrets_dir)
    sock = socket.create_connection((front_address, 443), timeout=10)
    tls = ctx.wrap_socket(sock, server_hostname=SITE)
    conn = http.client.HTTPSConnection(SITE, 443, context=ctx)
    conn.sock = tls
    conn.request("GET", path, headers={"Host": SITE})
    return conn.getresponse()


def test_nginx_running_and_config_valid(host):
    assert host.service("nginx").is_running
    assert host.service("nginx").is_enabled
    assert host.run("nginx -t").rc == 0


def test_private_key_locked_down(host):
    key = host.file("/etc/nginx/tls/front.key")
    assert key.user == "root"
    assert key.mode == 0o600


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_modern_tls_accepted_with_the_site_certificate(front_address, secrets_dir, version):
    ctx = _context(secrets_dir, minimum_version=version, maximum_version=version)
    with (
        socket.create_connection((front_address, 443), timeout=10) as sock,
        ctx.wrap_socket(sock, server_hostname=SITE) as tls,
    ):
        assert tls.version() == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]


def test_old_tls_refused(front_address, secrets_dir):
    ctx = _context(secrets_dir, minimum_version=ssl.TLSVersion.TLSv1, maximum_version=ssl.TLSVersion.TLSv1_1)
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    with socket.create_connection((front_address, 443), timeout=10) as sock, pytest.raises(ssl.SSLError):
        ctx.wrap_socket(sock, server_hostname=SITE)


def test_security_headers(front_address, secrets_dir):
    r = _get(front_address, secrets_dir)
    assert r.status == 200
    assert r.getheader("Strict-Transport-Security") == "max-age=63072000"
    assert r.getheader("X-Content-Type-Options") == "nosniff"
    # The lab is framed by itself; JupyterHub's own CSP governs framing, not X-Frame-Options.
    assert r.getheader("X-Frame-Options") is None
    assert "frame-ancestors" in (r.getheader("Content-Security-Policy") or "")


def test_http_redirects_to_the_public_https_url(front_address):
    conn = http.client.HTTPConnection(front_address, 80, timeout=10)
    conn.request("GET", "/hub/login?next=x", headers={"Host": SITE})
    r = conn.getresponse()
    assert r.status == 301
    assert r.getheader("Location") == f"https://{SITE}:8443/hub/login?next=x"


def test_access_log_is_json(host, front_address, secrets_dir):
    _get(front_address, secrets_dir, "/hub/api").read()
    last = host.file("/var/log/nginx/hubsite-access.json").content_string.strip().splitlines()[-1]
    entry = json.loads(last)
    assert entry["uri"] == "/hub/api"
    assert entry["status"] == 200
    assert entry["upstream"].endswith(":8000")
