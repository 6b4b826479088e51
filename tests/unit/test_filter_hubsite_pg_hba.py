"""hubsite_pg_hba: one host entry per client address and database, sorted, single addresses, safe names."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

PLUGIN = Path(__file__).resolve().parents[2] / "filter_plugins" / "hubsite_pg_hba.py"


def _load_filter(name):
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()[name]


pg_hba = _load_filter("hubsite_pg_hba")

HUB = {"name": "jupyterhub", "owner": "jupyterhub", "password": "s3cr3t-password-value"}


def entry(address, database="jupyterhub", user="jupyterhub", method="scram-sha-256", kind="host"):
    return {"type": kind, "database": database, "user": user, "address": address, "method": method}


def client(address, name="hub"):
    return {"name": name, "address": address}


def test_one_client_one_database():
    assert pg_hba([client("192.0.2.10")], [HUB]) == [entry("192.0.2.10/32")]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("192.0.2.10", "192.0.2.10/32"),
        ("2001:db8::10", "2001:db8::10/128"),
        ("2001:DB8:0:0::10", "2001:db8::10/128"),
        ("::ffff:192.0.2.10", "::ffff:c000:20a/128"),
        ("127.0.0.1", "127.0.0.1/32"),
    ],
)
def test_each_client_gets_its_own_address_only(address, expected):
    assert pg_hba([client(address)], [HUB]) == [entry(expected)]


def test_every_client_reaches_every_database_as_its_owner():
    result = pg_hba(
        [client("192.0.2.20", "hub2"), client("192.0.2.10", "hub1")],
        [{"name": "hub_b", "owner": "role_b"}, {"name": "hub_a", "owner": "role_a"}],
    )
    assert result == [
        entry("192.0.2.10/32", "hub_a", "role_a"),
        entry("192.0.2.20/32", "hub_a", "role_a"),
        entry("192.0.2.10/32", "hub_b", "role_b"),
        entry("192.0.2.20/32", "hub_b", "role_b"),
    ]


def test_sorted_and_deduplicated_whatever_the_input_order():
    clients = [client("2001:db8::1"), client("192.0.2.2"), client("192.0.2.1"), client("192.0.2.2", "again")]
    result = pg_hba(clients, [HUB])
    assert result == pg_hba(list(reversed(clients)), [HUB])
    assert [e["address"] for e in result] == ["192.0.2.1/32", "192.0.2.2/32", "2001:db8::1/128"]


@pytest.mark.parametrize(
    ("clients", "databases"),
    [([], [HUB]), ([client("192.0.2.1")], []), ([], []), ((), ())],
)
def test_nothing_to_allow_gives_no_entries(clients, databases):
    assert pg_hba(clients, databases) == []


@pytest.mark.parametrize("method", ["scram-sha-256", "md5", "cert", "reject"])
def test_methods(method):
    assert pg_hba([client("192.0.2.1")], [HUB], method=method) == [entry("192.0.2.1/32", method=method)]


def test_hostssl():
    assert pg_hba([client("192.0.2.1")], [HUB], hostssl=True) == [entry("192.0.2.1/32", kind="hostssl")]
    assert pg_hba([client("192.0.2.1")], [HUB], hostssl=False) == [entry("192.0.2.1/32")]


def test_names_that_pg_hba_takes_as_they_are():
    db = {"name": "Hub_2-test$x", "owner": "_owner"}
    assert pg_hba([client("192.0.2.1")], [db]) == [entry("192.0.2.1/32", "Hub_2-test$x", "_owner")]


@pytest.mark.parametrize(
    ("clients", "databases", "kwargs", "fragment"),
    [
        ([client("192.0.2.1")], [HUB], {"method": "trust"}, "method 'trust' is not one of scram-sha-256, md5"),
        ([client("192.0.2.1")], [HUB], {"method": "password"}, "method 'password' is not one of"),
        ([client("192.0.2.1")], [HUB], {"hostssl": "false"}, "hostssl must be true or false, got 'false'"),
        ([client("192.0.2.1")], [HUB], {"hostssl": 1}, "hostssl must be true or false, got 1"),
        ("192.0.2.1", [HUB], {}, "expected a list of clients and a list of databases"),
        ([client("192.0.2.1")], HUB, {}, "expected a list of clients and a list of databases"),
        ([client("192.0.2.1")], None, {}, "expected a list of clients and a list of databases"),
        # clients: a single valid address each
        ([{"name": "hub"}], [HUB], {}, "client {'name': 'hub'} has no valid 'address'"),
        (["192.0.2.1"], [HUB], {}, "client '192.0.2.1' has no valid 'address'"),
        ([client("hub1.example.org")], [HUB], {}, "has no valid 'address' (a single IP address, no network)"),
        ([client("192.0.2.0/24")], [HUB], {}, "has no valid 'address' (a single IP address, no network)"),
        ([client("192.0.2.1/32")], [HUB], {}, "has no valid 'address'"),
        ([client("0.0.0.0/0")], [HUB], {}, "has no valid 'address'"),
        ([client("fe80::1%eth0")], [HUB], {}, "has an address with a zone index"),
        # a bad client is reported even when there are no databases
        ([client("nope")], [], {}, "has no valid 'address'"),
        # databases: a dict with name and owner, each usable in pg_hba.conf
        ([client("192.0.2.1")], ["jupyterhub"], {}, "databases[0] is a str, not a dict"),
        ([client("192.0.2.1")], [{"name": "jupyterhub"}], {}, "databases[0] needs a 'name' and an 'owner'"),
        ([client("192.0.2.1")], [HUB, {"owner": "x"}], {}, "databases[1] needs a 'name' and an 'owner'"),
        ([client("192.0.2.1")], [{"name": "", "owner": "x"}], {}, "databases[0] needs a 'name' and an 'owner'"),
        ([client("192.0.2.1")], [{"name": "all", "owner": "x"}], {}, "databases[0].name 'all' cannot be used"),
        ([client("192.0.2.1")], [{"name": "x", "owner": "all"}], {}, "databases[0].owner 'all' cannot be used"),
        ([client("192.0.2.1")], [{"name": "x", "owner": "sameuser"}], {}, "owner 'sameuser' cannot be used"),
        ([client("192.0.2.1")], [{"name": "Replication", "owner": "x"}], {}, "name 'Replication' cannot be used"),
        ([client("192.0.2.1")], [{"name": "+admins", "owner": "x"}], {}, "name '+admins' cannot be used"),
        ([client("192.0.2.1")], [{"name": "@file", "owner": "x"}], {}, "name '@file' cannot be used"),
        ([client("192.0.2.1")], [{"name": "a b", "owner": "x"}], {}, "name 'a b' cannot be used"),
        ([client("192.0.2.1")], [{"name": "a,b", "owner": "x"}], {}, "name 'a,b' cannot be used"),
        ([client("192.0.2.1")], [{"name": "x" * 64, "owner": "x"}], {}, "(at most 63 characters"),
        # a bad database is reported even when there are no clients
        ([], [{"name": "all", "owner": "x"}], {}, "databases[0].name 'all' cannot be used"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_rejects(clients, databases, kwargs, fragment):
    with pytest.raises(AnsibleFilterError) as error:
        pg_hba(clients, databases, **kwargs)
    assert str(error.value).startswith("hubsite_pg_hba: ")
    assert fragment in str(error.value)


@pytest.mark.parametrize(
    "databases",
    [
        [{"name": "jupyterhub", "password": "s3cr3t-password-value"}],
        [{"name": "all", "owner": "x", "password": "s3cr3t-password-value"}],
    ],
)
def test_errors_never_print_the_password(databases):
    with pytest.raises(AnsibleFilterError) as error:
        pg_hba([client("192.0.2.1")], databases)
    assert "s3cr3t" not in str(error.value)


def test_results_are_plain_strings():
    class TaggedStr(str):
        pass

    [result] = pg_hba(
        [{"address": TaggedStr("192.0.2.1")}], [{"name": TaggedStr("jupyterhub"), "owner": TaggedStr("jupyterhub")}]
    )
    assert all(type(value) is str for value in result.values())
