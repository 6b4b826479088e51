"""Host state after converge: accounts, trust, services, ports, and the modes of every secret."""

from __future__ import annotations

import pytest

testinfra_hosts = ["all"]


@pytest.mark.parametrize(("user", "uid"), [("alice", 2001), ("bob", 2002)])
def test_site_users_have_stable_uids(host, user, uid):
    u = host.user(user)
    assert u.exists
    assert u.uid == uid
    assert "physics" in u.groups
    assert host.group("physics").gid == 3001


def test_site_ca_is_trusted(host):
    assert host.file("/usr/local/share/ca-certificates/hubsite/ca.crt").exists
    bundle = host.file("/etc/ssl/certs/ca-certificates.crt").content_string
    ca = host.file("/usr/local/share/ca-certificates/hubsite/ca.crt").content_string.strip()
    body = "".join(ca.splitlines()[1:-1])
    assert body[:64] in bundle.replace("\n", "")


def test_timezone(host):
    assert host.file("/etc/localtime").linked_to.endswith("Etc/UTC")
