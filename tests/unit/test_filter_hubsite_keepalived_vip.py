"""hubsite_keepalived_vip: the interface and prefix of the floating address, checked against the host's networks."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "filter_plugins" / "hubsite_keepalived_vip.py"


def _load_filter(name):
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()[name]


keepalived_vip = _load_filter("hubsite_keepalived_vip")

# What `setup` gathers on a front of the test network (eth0 10.88.47.11/24), with a second interface and the VIP
# already held (a secondary address, which does not count).
FACTS = {
    "interfaces": ["lo", "eth0", "eth1"],
    "lo": {"ipv4": {"address": "127.0.0.1", "prefix": "8", "network": "127.0.0.0"}},
    "eth0": {
        "ipv4": {"address": "10.88.47.11", "prefix": "24", "network": "10.88.47.0"},
        "ipv4_secondaries": [{"address": "10.88.47.100", "prefix": "24"}],
        "ipv6": [
            {"address": "fe80::1", "prefix": "64", "scope": "link"},
            {"address": "2001:db8:47::11", "prefix": "64", "scope": "global"},
        ],
    },
    "eth1": {"ipv4": {"address": "192.0.2.11", "prefix": "26", "network": "192.0.2.0"}},
}


@pytest.mark.parametrize(
    ("vip", "prefix", "interface", "expected"),
    [
        ("10.88.47.100", 24, "", ("eth0", "10.88.47.100/24", 4, "10.88.47.11")),
        ("10.88.47.100", "24", "", ("eth0", "10.88.47.100/24", 4, "10.88.47.11")),
        ("10.88.47.100", 24, "eth0", ("eth0", "10.88.47.100/24", 4, "10.88.47.11")),
        ("192.0.2.40", 26, "", ("eth1", "192.0.2.40/26", 4, "192.0.2.11")),
        (" 10.88.47.100 ", 24, None, ("eth0", "10.88.47.100/24", 4, "10.88.47.11")),
        ("2001:db8:47::100", 64, "", ("eth0", "2001:db8:47::100/64", 6, "2001:db8:47::11")),
    ],
)
def test_places_the_vip(vip, prefix, interface, expected):
    result = keepalived_vip(vip, prefix, FACTS, interface)
    assert (result["interface"], result["cidr"], result["family"], result["host_address"]) == expected
    assert result["prefix"] == int(prefix)
    assert result["address"] == vip.strip()


@pytest.mark.parametrize(
    ("vip", "prefix", "interface", "fragment"),
    [
        ("vip.example.org", 24, "", "'vip.example.org' is not an IP address"),
        ("10.88.47.100/24", 24, "", "is not an IP address"),
        ("10.88.47.100", "x", "", "prefix 'x' is not an integer"),
        ("10.88.47.100", True, "", "prefix True is not an integer"),
        ("10.88.47.100", 33, "", "prefix 33 is out of range for an IPv4 address; use 1-32"),
        ("10.88.48.100", 24, "", "is not in the network of any interface of this host (eth0 10.88.47.11/24; eth1"),
        ("10.88.47.100", 24, "eth1", "is not in the network of interface eth1 of this host (eth1 192.0.2.11/26)"),
        ("10.88.47.100", 24, "eth9", "interface 'eth9' does not exist on this host (it has eth0, eth1)"),
        ("10.88.47.11", 24, "", "the VIP 10.88.47.11 is the address of this host's eth0"),
        ("10.88.47.100", 16, "", "whose prefix is /24, but site_front_vip_prefix is 16; set site_front_vip_prefix: 24"),
        ("fe80::100", 64, "", "not in the network of any interface"),
        ("2001:db8:99::1", 64, "", "(eth0 2001:db8:47::11/64)"),
    ],
)
def test_refuses(vip, prefix, interface, fragment):
    with pytest.raises(AnsibleFilterError) as error:
        keepalived_vip(vip, prefix, FACTS, interface)
    assert str(error.value).startswith("hubsite_keepalived_vip: ")
    assert fragment in str(error.value)


@pytest.mark.parametrize("facts", [{}, None, {"default_ipv4": {}}])
def test_needs_network_facts(facts):
    with pytest.raises(AnsibleFilterError, match="no network facts for this host"):
        keepalived_vip("10.88.47.100", 24, facts)


def test_interface_names_with_dashes_use_the_fact_key():
    facts = {"interfaces": ["br-lan"], "br_lan": {"ipv4": {"address": "10.0.0.2", "prefix": "24"}}}
    assert keepalived_vip("10.0.0.9", 24, facts)["interface"] == "br-lan"


def test_playbook_level(tmp_path):
    """The filter as a play uses it, through Ansible's templating (ansible.cfg wires filter_plugins)."""
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {"facts": FACTS},
            "tasks": [{"ansible.builtin.debug": {"msg": "{{ '10.88.47.100' | hubsite_keepalived_vip(24, facts) }}"}}],
        }
    ]
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(playbook)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert result["cidr"] == "10.88.47.100/24"
    assert result["interface"] == "eth0"
