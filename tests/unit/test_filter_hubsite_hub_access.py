"""hubsite_hub_access: allowed users, admins and groups for JupyterHub, sorted, from the site's users."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

PLUGIN = Path(__file__).resolve().parents[2] / "filter_plugins" / "hubsite_hub_access.py"


def _load_filter(name):
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()[name]


hub_access = _load_filter("hubsite_hub_access")

# The demo site's users (inventories/demo), with the password key a real site_users item has.
DEMO = [
    {"name": "alice", "uid": 2001, "groups": ["physics"], "admin": True, "password": "alice-password-1"},
    {"name": "bob", "uid": 2002, "groups": ["physics"], "password": "bob-password-12"},
]


def test_demo_site():
    assert hub_access(DEMO, [], []) == {
        "allowed_users": ["alice", "bob"],
        "admin_users": ["alice"],
        "groups": {"physics": {"users": ["alice", "bob"]}},
    }


def test_no_users():
    assert hub_access([]) == {"allowed_users": [], "admin_users": [], "groups": {}}
    assert hub_access((), None, None) == {"allowed_users": [], "admin_users": [], "groups": {}}


def test_extras_only():
    assert hub_access([], ["sso-user"], ["sso-user"]) == {
        "allowed_users": ["sso-user"],
        "admin_users": ["sso-user"],
        "groups": {},
    }


def test_everything_sorted_whatever_the_input_order():
    users = [
        {"name": "zoe", "groups": ["physics", "chemistry"]},
        {"name": "carol", "groups": ["chemistry"], "admin": True},
        {"name": "bob"},
        {"name": "alice", "groups": ["physics"], "admin": True},
    ]
    expected = {
        "allowed_users": ["alice", "bob", "carol", "dave", "zoe"],
        "admin_users": ["alice", "carol", "zoe"],
        "groups": {"chemistry": {"users": ["carol", "zoe"]}, "physics": {"users": ["alice", "zoe"]}},
    }
    result = hub_access(users, ["dave"], ["zoe"])
    assert result == expected
    assert list(result["groups"]) == ["chemistry", "physics"]
    assert hub_access(list(reversed(users)), ["dave"], ["zoe"]) == expected


def test_extras_and_site_users_overlap_without_duplicates():
    result = hub_access(DEMO, ["alice", "bob", "carol"], ["alice", "bob"])
    assert result["allowed_users"] == ["alice", "bob", "carol"]
    assert result["admin_users"] == ["alice", "bob"]


@pytest.mark.parametrize("admin", [False, None, "true", "yes", 1])
def test_only_a_real_true_makes_an_admin(admin):
    # the validate play refuses anything but true/false before this filter runs; here it is simply not an admin
    assert hub_access([{"name": "alice", "admin": admin}])["admin_users"] == []


@pytest.mark.parametrize("groups", [None, []])
def test_users_without_groups(groups):
    assert hub_access([{"name": "alice", "groups": groups}])["groups"] == {}


def test_a_group_is_listed_once_per_member():
    result = hub_access([{"name": "alice", "groups": ["physics", "physics"]}])
    assert result["groups"] == {"physics": {"users": ["alice"]}}


def test_results_are_plain_strings():
    class TaggedStr(str):
        pass

    result = hub_access([{"name": TaggedStr("alice"), "groups": [TaggedStr("physics")], "admin": True}])
    assert type(result["allowed_users"][0]) is str
    assert type(result["admin_users"][0]) is str
    assert all(type(name) is str for name in result["groups"])


def test_inputs_are_not_changed():
    users = [dict(user, groups=list(user["groups"])) for user in DEMO]
    extra = ["carol"]
    hub_access(users, extra, [])
    assert users == DEMO
    assert extra == ["carol"]


@pytest.mark.parametrize(
    ("users", "extra_allowed", "extra_admins", "fragment"),
    [
        ("alice", None, None, "expected a list of users, got str"),
        ({"name": "alice"}, None, None, "expected a list of users, got dict"),
        (None, None, None, "expected a list of users, got NoneType"),
        (["alice"], None, None, "users[0] has no 'name'"),
        ([{"name": "alice"}, {"uid": 2002}], None, None, "users[1] has no 'name'"),
        ([{"name": ""}], None, None, "users[0] has no 'name'"),
        ([{"name": "alice", "groups": "physics"}], None, None, "users[0] (alice).groups must be a list of group"),
        ([{"name": "alice", "groups": {"physics": 1}}], None, None, "users[0] (alice).groups must be a list"),
        ([], "carol", None, "extra_allowed (jupyterhub_allowed_users) must be a list of user names, got 'carol'"),
        ([], None, "alice", "extra_admins (jupyterhub_admin_users) must be a list of user names, got 'alice'"),
        ([], [""], None, "extra_allowed (jupyterhub_allowed_users) must be a list of user names"),
        ([], [None], None, "extra_allowed (jupyterhub_allowed_users) must be a list of user names"),
        ([], None, [{"name": "alice"}], "extra_admins (jupyterhub_admin_users) must be a list of user names"),
        (DEMO, [], ["dave"], "admin users ['dave'] are not allowed users; add them to site_users"),
        ([], [], ["b", "a"], "admin users ['a', 'b'] are not allowed users"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_rejects(users, extra_allowed, extra_admins, fragment):
    with pytest.raises(AnsibleFilterError) as error:
        hub_access(users, extra_allowed, extra_admins)
    assert str(error.value).startswith("hubsite_hub_access: ")
    assert fragment in str(error.value)


def test_errors_never_print_a_password():
    users = [{"password": "s3cr3t-password", "uid": 2001}]
    with pytest.raises(AnsibleFilterError) as error:
        hub_access(users)
    assert "s3cr3t" not in str(error.value)
