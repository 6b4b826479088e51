"""Shared fixtures of the failover scenario: the molecule inventory, the site's generated secrets, the hub pair."""

from __future__ import annotations

import re

import pytest

HUBS = ("fence-hub1", "fence-hub2")
FRONTS = ("fence-front1", "fence-front2")
SITE = "hub.demo.hubsite.test"
# The demo's public port (the URL and the Host header); connections go to port 443 of the floating address.
SITE_URL = f"https://{SITE}:8443/"
VIP = "10.88.48.100"
REALM = "FAILOVER.HUBSITE.TEST"  # inventory/group_vars/all/kerberos.yml
# molecule.yml and inventory/host_vars
ADDRESSES = {
    "fence-front1": "10.88.48.11",
    "fence-front2": "10.88.48.12",
    "fence-hub1": "10.88.48.21",
    "fence-hub2": "10.88.48.22",
    "fence-db": "10.88.48.31",
}


@pytest.fixture(scope="session")
def site_url() -> str:
    return SITE_URL


@pytest.fixture(scope="session")
def front_address() -> str:
    """Where users reach the site: the front pair's floating address."""
    return VIP


def vip_holders(get_host) -> list[str]:
    """The fronts that have the floating address on an interface."""
    return [name for name in FRONTS if get_host(name).check_output(f"ip -o address show to {VIP}").strip()]


def priority(config: str) -> int:
    return int(re.search(r"^\s*priority (\d+)$", config, re.MULTILINE).group(1))


@pytest.fixture(scope="session")
def pair(get_host) -> dict:
    """{'active': host, 'standby': host, 'names': {...}}, from the fences' state files."""
    states = {name: get_host(name).file("/run/hubsite-hub-fence/state").content_string.strip() for name in HUBS}
    assert sorted(states.values()) == ["active", "standby"], states
    active = next(name for name, state in states.items() if state == "active")
    standby = next(name for name, state in states.items() if state == "standby")
    return {"active": get_host(active), "standby": get_host(standby), "names": {"active": active, "standby": standby}}
