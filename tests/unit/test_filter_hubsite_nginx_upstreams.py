"""hubsite_nginx_upstreams: the first hub is the primary, every other one a backup; IPv6 bracketed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

PLUGIN = Path(__file__).resolve().parents[2] / "filter_plugins" / "hubsite_nginx_upstreams.py"


def _load_filter(name):
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()[name]


nginx_upstreams = _load_filter("hubsite_nginx_upstreams")


def test_one_hub():
    assert nginx_upstreams(["hub1"], 8000) == ["server hub1:8000 max_fails=1 fail_timeout=10s"]


def test_first_is_primary_and_the_rest_are_backups_in_input_order():
    assert nginx_upstreams(["hub2", "hub1", "hub3.example.org"], 8000) == [
        "server hub2:8000 max_fails=1 fail_timeout=10s",
        "server hub1:8000 max_fails=0 backup",
        "server hub3.example.org:8000 max_fails=0 backup",
    ]


def test_primary_limits():
    assert nginx_upstreams(("hub1", "hub2"), 8000, max_fails=3, fail_timeout=30) == [
        "server hub1:8000 max_fails=3 fail_timeout=30s",
        "server hub2:8000 max_fails=0 backup",
    ]
    assert nginx_upstreams(["hub1"], 8000, max_fails=0) == ["server hub1:8000 max_fails=0 fail_timeout=10s"]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("192.0.2.10", "server 192.0.2.10:8000"),
        ("2001:db8::10", "server [2001:db8::10]:8000"),
        ("[2001:db8::10]", "server [2001:db8::10]:8000"),
        ("2001:DB8:0::10", "server [2001:db8::10]:8000"),
        ("::1", "server [::1]:8000"),
        ("localhost", "server localhost:8000"),
        ("hubsite-demo-hub", "server hubsite-demo-hub:8000"),
    ],
)
def test_addresses(host, expected):
    assert nginx_upstreams([host], 8000)[0].startswith(expected + " ")


@pytest.mark.parametrize(("port", "expected"), [(1, 1), (65535, 65535), ("8080", 8080), (8080.0, 8080)])
def test_port_as_jinja_may_give_it(port, expected):
    assert nginx_upstreams(["hub1"], port) == [f"server hub1:{expected} max_fails=1 fail_timeout=10s"]


def test_numbers_as_strings_are_accepted():
    assert nginx_upstreams(["hub1"], "8000", max_fails="2", fail_timeout="5") == [
        "server hub1:8000 max_fails=2 fail_timeout=5s"
    ]


def test_results_are_plain_strings():
    class TaggedStr(str):
        pass

    assert all(type(line) is str for line in nginx_upstreams([TaggedStr("hub1"), TaggedStr("hub2")], 8000))


@pytest.mark.parametrize(
    ("hosts", "port", "kwargs", "fragment"),
    [
        ([], 8000, {}, "expected a non-empty list of hub host names"),
        ((), 8000, {}, "expected a non-empty list of hub host names"),
        ("hub1", 8000, {}, "expected a non-empty list of hub host names"),
        (None, 8000, {}, "expected a non-empty list of hub host names"),
        (["hub1"], 0, {}, "port 0 is not in 1-65535"),
        (["hub1"], 65536, {}, "port 65536 is not in 1-65535"),
        (["hub1"], -1, {}, "port -1 is not in 1-65535"),
        (["hub1"], "http", {}, "port 'http' is not an integer"),
        (["hub1"], None, {}, "port None is not an integer"),
        (["hub1"], True, {}, "port True is not an integer"),
        (["hub1"], 8000.5, {}, "port 8000.5 is not an integer"),
        (["hub1"], 8000, {"max_fails": -1}, "max_fails -1 is not in 0 or more"),
        (["hub1"], 8000, {"max_fails": "many"}, "max_fails 'many' is not an integer"),
        (["hub1"], 8000, {"fail_timeout": 0}, "fail_timeout 0 is not in 1 or more"),
        (["hub1"], 8000, {"fail_timeout": "10s"}, "fail_timeout '10s' is not an integer"),
        (["hub1", "hub1"], 8000, {}, "duplicate hub hosts in ['hub1', 'hub1']"),
        (["2001:db8::1", "[2001:db8::1]"], 8000, {}, "duplicate hub hosts"),
        ([""], 8000, {}, "'' is not a valid host name"),
        (["hub 1"], 8000, {}, "'hub 1' is not a valid host name"),
        (["hub1;"], 8000, {}, "'hub1;' is not a valid host name"),
        (["hub1}"], 8000, {}, "is not a valid host name"),
        (["hub1\n"], 8000, {}, "is not a valid host name"),
        (["hub1#x"], 8000, {}, "is not a valid host name"),
        ([None], 8000, {}, "None is not a valid host name"),
        ([8000], 8000, {}, "8000 is not a valid host name"),
        ([{"name": "hub1"}], 8000, {}, "is not a valid host name"),
        (["hub1:8000"], 8000, {}, "'hub1:8000' is not a host name or an IP address (a host name takes no port"),
        (["192.0.2.1:8000"], 8000, {}, "'192.0.2.1:8000' is not a host name or an IP address"),
        (["[hub1]"], 8000, {}, "'[hub1]' is not a host name or an IP address"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_rejects(hosts, port, kwargs, fragment):
    with pytest.raises(AnsibleFilterError) as error:
        nginx_upstreams(hosts, port, **kwargs)
    assert str(error.value).startswith("hubsite_nginx_upstreams: ")
    assert fragment in str(error.value)
