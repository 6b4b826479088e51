"""hubsite_hub_instance, hubsite_hub_databases, hubsite_ab_users: hub instances from the inventory, their databases
(as the hubs will use them) and the users A/B routing sends to the B instance."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

FILTERS = Path(__file__).resolve().parents[2] / "filter_plugins"


def _load_filter(name):
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{name}", FILTERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()[name]


hub_instance = _load_filter("hubsite_hub_instance")
hub_databases = _load_filter("hubsite_hub_databases")
ab_users = _load_filter("hubsite_ab_users")

AB = {"instance": "hub_b", "users": ["carol"], "opt_in": False}
SECRETS = "/site/.secrets"


# ------------------------------------------------------------------------------------------ hubsite_hub_instance


@pytest.mark.parametrize(
    ("groups", "rule", "expected"),
    [
        (["hub"], {}, "main"),
        (["hub"], None, "main"),
        (["hub"], AB, "main"),
        (["hub_b"], AB, "hub_b"),
        (["hub_b"], {}, ""),  # no A/B routing: group hub_b is nobody's instance
        (["front", "db"], AB, ""),
        ([], AB, ""),
        (["hub", "hub_b"], AB, "main"),  # an inventory error (validate play); the main instance wins
        (["hub_c"], {"instance": ""}, ""),
    ],
)
def test_hub_instance(groups, rule, expected):
    assert hub_instance(groups, rule) == expected


@pytest.mark.parametrize("bad", ["hub", None, {"hub": 1}])
def test_hub_instance_wants_group_names(bad):
    with pytest.raises(AnsibleFilterError, match="group_names"):
        hub_instance(bad, {})


def test_hub_instance_rejects_a_rule_that_is_not_a_dict():
    with pytest.raises(AnsibleFilterError, match="site_ab_routing must be a dict"):
        hub_instance(["hub_b"], ["hub_b"])
    with pytest.raises(AnsibleFilterError, match="instance must be a group name"):
        hub_instance(["hub_b"], {"instance": 3})


# ----------------------------------------------------------------------------------------- hubsite_hub_databases


def _hostvars(**hosts):
    return {name: {"group_names": groups, **extra} for name, (groups, extra) in hosts.items()}


def test_main_instance_keeps_its_database_and_secret_file():
    hv = _hostvars(hub1=(["hub"], {}), hub2=(["hub"], {}))
    assert hub_databases(["hub1", "hub2"], hv, {}, SECRETS) == [
        {
            "name": "jupyterhub",
            "owner": "jupyterhub",
            "instance": "main",
            "password_file": "/site/.secrets/postgresql_jupyterhub_password",
            "hosts": ["hub1", "hub2"],
        }
    ]


def test_b_instance_has_its_own_database_and_secret_directory():
    hv = _hostvars(hub=(["hub"], {}), hubb=(["hub_b"], {}))
    assert hub_databases(["hub", "hubb"], hv, AB, SECRETS) == [
        {
            "name": "jupyterhub",
            "owner": "jupyterhub",
            "instance": "main",
            "password_file": "/site/.secrets/postgresql_jupyterhub_password",
            "hosts": ["hub"],
        },
        {
            "name": "jupyterhub_hub_b",
            "owner": "jupyterhub_hub_b",
            "instance": "hub_b",
            "password_file": "/site/.secrets/hub_b/postgresql_jupyterhub_password",
            "hosts": ["hubb"],
        },
    ]


def test_vault_password_is_the_main_instance_s_only():
    vault = {"vault_postgresql_jupyterhub_password": "from-vault-0123456789"}
    hv = _hostvars(hub=(["hub"], vault), hubb=(["hub_b"], vault))
    main, b = hub_databases(["hub", "hubb"], hv, AB, SECRETS)
    assert main["password"] == "from-vault-0123456789"
    assert "password_file" not in main
    assert b["password_file"] == "/site/.secrets/hub_b/postgresql_jupyterhub_password"
    assert "password" not in b


def test_inventory_settings_of_an_instance_win():
    own = {
        "jupyterhub_db_name": "hub_test",
        "jupyterhub_db_user": "hub_test_owner",
        "jupyterhub_db_password": "from-group-vars-0123",
    }
    hv = _hostvars(hub=(["hub"], {}), hubb=(["hub_b"], own))
    assert hub_databases(["hub", "hubb"], hv, AB, SECRETS)[1] == {
        "name": "hub_test",
        "owner": "hub_test_owner",
        "instance": "hub_b",
        "password": "from-group-vars-0123",
        "hosts": ["hubb"],
    }


def test_instance_name_from_the_inventory_names_database_and_directory():
    hv = _hostvars(hubb=(["hub_b"], {"jupyterhub_instance_name": "test"}))
    (entry,) = hub_databases(["hubb"], hv, AB, SECRETS)
    assert (entry["name"], entry["instance"]) == ("jupyterhub_test", "test")
    assert entry["password_file"] == "/site/.secrets/test/postgresql_jupyterhub_password"


def test_two_instances_on_one_database_is_an_error():
    hv = _hostvars(hub=(["hub"], {}), hubb=(["hub_b"], {"jupyterhub_db_name": "jupyterhub"}))
    with pytest.raises(AnsibleFilterError, match="both use database 'jupyterhub'"):
        hub_databases(["hub", "hubb"], hv, AB, SECRETS)


def test_one_database_two_owners_is_an_error():
    hv = _hostvars(hub1=(["hub"], {}), hub2=(["hub"], {"jupyterhub_db_user": "other"}))
    with pytest.raises(AnsibleFilterError, match="has owner 'jupyterhub' on hub1 but 'other' on hub2"):
        hub_databases(["hub1", "hub2"], hv, {}, SECRETS)


def test_a_host_of_no_instance_is_an_error():
    hv = _hostvars(front=(["front"], {}))
    with pytest.raises(AnsibleFilterError, match="front is in no hub instance's group"):
        hub_databases(["front"], hv, AB, SECRETS)


def test_bad_inputs():
    with pytest.raises(AnsibleFilterError, match="list of hub hosts"):
        hub_databases("hub", {}, {}, SECRETS)
    with pytest.raises(AnsibleFilterError, match="secrets_dir"):
        hub_databases([], {}, {}, "")
    with pytest.raises(AnsibleFilterError, match="not in hostvars"):
        hub_databases(["ghost"], {}, {}, SECRETS)


@pytest.mark.parametrize("groups", [["hub"], ["hub_b"], ["front"], ["hub", "hub_b"], []])
def test_databases_and_instance_filter_agree(groups):
    """hubsite_hub_databases repeats hubsite_hub_instance's rule: the two must not drift apart."""
    expected = hub_instance(groups, AB)
    hv = _hostvars(h=(groups, {}))
    if not expected:
        with pytest.raises(AnsibleFilterError):
            hub_databases(["h"], hv, AB, SECRETS)
    else:
        assert hub_databases(["h"], hv, AB, SECRETS)[0]["instance"] == expected


# ---------------------------------------------------------------------------------------------- hubsite_ab_users

USERS = [
    {"name": "alice", "uid": 2001, "groups": ["physics"], "admin": True},
    {"name": "bob", "uid": 2002, "groups": ["physics", "beta"]},
    {"name": "carol", "uid": 2003},
    {"name": "dave", "uid": 2004, "groups": ["beta"]},
]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (None, []),
        ({}, []),
        ({"instance": "hub_b"}, []),
        ({"instance": "hub_b", "users": ["carol"]}, ["carol"]),
        ({"instance": "hub_b", "groups": ["beta"]}, ["bob", "dave"]),
        ({"instance": "hub_b", "users": ["dave", "carol"], "groups": ["beta"]}, ["bob", "carol", "dave"]),
        ({"instance": "hub_b", "groups": ["nobody"]}, []),
        ({"instance": "hub_b", "users": None, "groups": None}, []),
    ],
)
def test_ab_users(rule, expected):
    assert ab_users(rule, USERS) == expected


def test_ab_users_rejects_bad_shapes():
    with pytest.raises(AnsibleFilterError, match="site_ab_routing must be a dict"):
        ab_users(["carol"], USERS)
    with pytest.raises(AnsibleFilterError, match="users must be a list of names"):
        ab_users({"users": "carol"}, USERS)
    with pytest.raises(AnsibleFilterError, match="groups must be a list of names"):
        ab_users({"groups": "beta"}, USERS)
    with pytest.raises(AnsibleFilterError, match=r"site_users\[0\] has no 'name'"):
        ab_users({"groups": ["beta"]}, [{"uid": 1}])
    with pytest.raises(AnsibleFilterError, match=r"\(bob\).groups must be a list"):
        ab_users({"groups": ["beta"]}, [{"name": "bob", "groups": "beta"}])
