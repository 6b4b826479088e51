"""The front pair: keepalived on both fronts, one configuration but for the priority, exactly one holder."""

from __future__ import annotations

import http.client

from conftest import ADDRESSES, FRONTS, VIP, priority, vip_holders

testinfra_hosts = ["front"]


def test_keepalived_running_and_enabled(host):
    keepalived = host.service("keepalived")
    assert keepalived.is_running
    assert keepalived.is_enabled


def test_configuration(host):
    conf = host.file("/etc/keepalived/keepalived.conf")
    assert (conf.user, conf.group, conf.mode) == ("root", "root", 0o644)
    text = conf.content_string
    for needle in (
        "enable_script_security",
        "script_user keepalived_script",
        "state BACKUP",
        "nopreempt",
        "virtual_router_id 48",
        "interval 1",
        "fall 2",
        "rise 2",
        f"{VIP}/24 dev eth0",
        "include /etc/keepalived/hubsite-auth.conf",
    ):
        assert needle in text
    assert "auth_pass" not in text
    auth = host.file("/etc/keepalived/hubsite-auth.conf")
    assert (auth.user, auth.group, auth.mode) == ("root", "root", 0o600)


def test_script_user(host):
    user = host.user("keepalived_script")
    assert user.shell == "/usr/sbin/nologin"
    assert user.uid < 1000


def test_configs_differ_in_priority_only(get_host):
    configs = {name: get_host(name).file("/etc/keepalived/keepalived.conf").content_string for name in FRONTS}
    assert sorted(priority(text) for text in configs.values()) == [100, 150]
    stripped = {
        name: "\n".join(line for line in text.splitlines() if "priority" not in line) for name, text in configs.items()
    }
    assert stripped[FRONTS[0]] == stripped[FRONTS[1]]
    auth = {get_host(name).file("/etc/keepalived/hubsite-auth.conf").content_string for name in FRONTS}
    assert len(auth) == 1


def test_exactly_one_front_holds_the_address(get_host):
    assert len(vip_holders(get_host)) == 1


def test_health_path_answers_the_host_only(host):
    assert host.check_output("curl -fsS http://127.0.0.1/hubsite/front-health").startswith("Active connections:")
    conn = http.client.HTTPConnection(ADDRESSES[host.backend.get_hostname()], 80, timeout=10)
    conn.request("GET", "/hubsite/front-health")
    assert conn.getresponse().status == 403
