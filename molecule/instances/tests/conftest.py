"""Fixtures of the instances scenario (the shared ones are in molecule/conftest.py): addresses, the front."""

from __future__ import annotations

import json

import pytest

SITE = "hub.demo.hubsite.test"
# The demo's public port (the Host header and the URL); connections go to port 443 of the front.
SITE_URL = f"https://{SITE}:8443/"
FRONT, HUB_A, HUB_B, DB, SPARE = "inst-front", "inst-hub", "inst-hubb", "inst-db", "inst-hub2"
ADDRESSES = {FRONT: "10.88.49.11", HUB_A: "10.88.49.21", HUB_B: "10.88.49.22", SPARE: "10.88.49.23"}


@pytest.fixture(scope="session")
def client_args(secrets_dir):
    """What the probe and HttpClient need to reach the site through the front."""
    return {"ca_path": str(secrets_dir / "pki" / "ca.crt"), "resolve": {SITE: f"{ADDRESSES[FRONT]}:443"}}


@pytest.fixture(scope="session")
def password(secrets_dir):
    return lambda user: (secrets_dir / "users" / user).read_text().strip()


def access_log_entry(get_host, marker):
    """The JSON access log line of the request whose URI holds marker."""
    out = get_host(FRONT).check_output(f"grep -h -F {marker} /var/log/nginx/hubsite-access.json")
    return json.loads(out.strip().splitlines()[-1])
