"""hubsite_host_addresses: each host's address, from hubsite_address, an IP ansible_host, or the gathered fact."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

PLUGIN = Path(__file__).resolve().parents[2] / "filter_plugins" / "hubsite_host_addresses.py"


def _load_filter(name):
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()[name]


host_addresses = _load_filter("hubsite_host_addresses")


def facts(address):
    return {"ansible_facts": {"default_ipv4": {"address": address}}}


@pytest.mark.parametrize(
    ("hostvars", "expected"),
    [
        ({"hubsite_address": "192.0.2.10"}, "192.0.2.10"),
        ({"hubsite_address": "2001:db8::10"}, "2001:db8::10"),
        ({"ansible_host": "192.0.2.11"}, "192.0.2.11"),
        ({"ansible_host": "2001:db8::11"}, "2001:db8::11"),
        (facts("192.0.2.12"), "192.0.2.12"),
        # precedence: hubsite_address, then an IP ansible_host, then the fact
        ({"hubsite_address": "192.0.2.10", "ansible_host": "192.0.2.11", **facts("192.0.2.12")}, "192.0.2.10"),
        ({"ansible_host": "192.0.2.11", **facts("192.0.2.12")}, "192.0.2.11"),
        # an ansible_host that is a name is how Ansible connects, not an address: the fact is used
        ({"ansible_host": "hub1.example.org", **facts("192.0.2.12")}, "192.0.2.12"),
        # empty values fall through
        ({"hubsite_address": "", "ansible_host": "", **facts("192.0.2.12")}, "192.0.2.12"),
        ({"hubsite_address": None, **facts("192.0.2.12")}, "192.0.2.12"),
    ],
    ids=lambda value: repr(value)[:60],
)
def test_address_sources(hostvars, expected):
    assert host_addresses(["h"], {"h": hostvars}) == [{"name": "h", "address": expected}]


def test_order_of_input_is_kept_and_duplicates_are_not_merged():
    hostvars = {"b": facts("192.0.2.2"), "a": facts("192.0.2.1")}
    assert host_addresses(["b", "a", "b"], hostvars) == [
        {"name": "b", "address": "192.0.2.2"},
        {"name": "a", "address": "192.0.2.1"},
        {"name": "b", "address": "192.0.2.2"},
    ]


@pytest.mark.parametrize("hosts", [[], ()])
def test_no_hosts_gives_an_empty_list(hosts):
    assert host_addresses(hosts, {}) == []


def test_results_are_plain_strings():
    class TaggedStr(str):
        pass

    [result] = host_addresses([TaggedStr("h")], {"h": {"hubsite_address": TaggedStr("192.0.2.10")}})
    assert type(result["name"]) is str
    assert type(result["address"]) is str


def test_hostvars_like_mapping_is_accepted():
    class HostVars:
        """Like Ansible's HostVars: a mapping with get(), not a dict."""

        def __init__(self, data):
            self.data = data

        def get(self, name, default=None):
            return self.data.get(name, default)

    assert host_addresses(["h"], HostVars({"h": facts("192.0.2.1")})) == [{"name": "h", "address": "192.0.2.1"}]


@pytest.mark.parametrize(
    ("hosts", "hostvars", "fragment"),
    [
        ("hub1", {}, "expected a list of host names, got str"),
        (None, {}, "expected a list of host names, got NoneType"),
        (["h"], ["h"], "expected hostvars (a mapping) as the argument, got list"),
        (["ghost"], {"h": {}}, "host 'ghost' is not in the inventory"),
        (["h"], {"h": {}}, "no IP address known for host 'h': gather its facts first"),
        (["h"], {"h": {"ansible_facts": {}}}, "no IP address known for host 'h'"),
        (["h"], {"h": {"ansible_facts": {"default_ipv4": {}}}}, "no IP address known for host 'h'"),
        (["h"], {"h": {"ansible_facts": None}}, "no IP address known for host 'h'"),
        (["h"], {"h": {"ansible_host": "hub1.example.org"}}, "set hubsite_address (or ansible_host) to its IP"),
        (["h"], {"h": facts("not-an-address")}, "no IP address known for host 'h'"),
        (
            ["h"],
            {"h": {"hubsite_address": "hub1.example.org", **facts("192.0.2.1")}},
            "hubsite_address of host 'h' is 'hub1.example.org', not an IP address",
        ),
        (["h"], {"h": {"hubsite_address": "192.0.2.300"}}, "hubsite_address of host 'h' is '192.0.2.300'"),
        (["h"], {"h": {"hubsite_address": "10.0.0.0/24"}}, "hubsite_address of host 'h' is '10.0.0.0/24'"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_rejects(hosts, hostvars, fragment):
    with pytest.raises(AnsibleFilterError) as error:
        host_addresses(hosts, hostvars)
    assert str(error.value).startswith("hubsite_host_addresses: ")
    assert fragment in str(error.value)
