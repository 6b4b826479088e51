"""The fenced hub pair at rest: exactly one hub runs, the other host waits for the lock with its proxy stopped."""

from __future__ import annotations

import json

import pytest
from conftest import HUBS

testinfra_hosts = ["fence-front1"]

# `pgrep -f 'jupyterhub --config'`, written so that it does not find the shell that testinfra runs it in
HUB_PROCESS = "[j]upyterhub --config"


def _hub_pids(host) -> list[str]:
    return host.run(f"pgrep -f '{HUB_PROCESS}'").stdout.split()


def test_exactly_one_hub_process(pair):
    assert len(_hub_pids(pair["active"])) == 1
    assert _hub_pids(pair["standby"]) == []


def test_the_proxy_runs_on_the_active_host_only(pair):
    assert pair["active"].service("configurable-http-proxy").is_running
    assert pair["active"].socket("tcp://0.0.0.0:8000").is_listening
    assert not pair["standby"].service("configurable-http-proxy").is_running
    assert not pair["standby"].socket("tcp://0.0.0.0:8000").is_listening
    # both enabled; the standby's is held back by its unit's condition on the fence's flag file
    for side in ("active", "standby"):
        assert pair[side].service("configurable-http-proxy").is_enabled
    assert pair["active"].file("/run/hubsite-hub-fence/proxy").exists
    assert not pair["standby"].file("/run/hubsite-hub-fence/proxy").exists


@pytest.mark.parametrize("side", ["active", "standby"])
def test_the_fence_runs_unprivileged_on_both_hosts(pair, side):
    host = pair[side]
    assert host.service("jupyterhub").is_running
    assert host.service("jupyterhub").is_enabled
    fences = host.check_output("ps -o user:32=,args= -C python3 | grep '[h]ubsite-hub-fence' || true")
    assert fences.splitlines(), f"no fence on {pair['names'][side]}"
    assert {line.split()[0] for line in fences.splitlines()} == {"jupyterhub"}


def test_the_hub_is_the_fence_s_child(pair):
    host = pair["active"]
    (hub,) = _hub_pids(host)
    parent = host.check_output(f"ps -o ppid= -p {hub}").strip()
    assert "hubsite-hub-fence" in host.check_output(f"ps -o args= -p {parent}")
    assert host.check_output(f"ps -o user:32= -p {hub}").strip() == "jupyterhub"


def test_the_standby_says_who_holds_the_lock(pair):
    # the unit's current run (containers share the kernel's boot: -b is no limit)
    log = pair["standby"].check_output(
        'journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID="$(systemctl show -p InvocationID --value jupyterhub)"'
    )
    assert f"on host {pair['names']['active']} (" in log.split("waiting for the lock (held by pid ")[-1]


def test_the_database_shows_one_holder(pair, get_host):
    db = get_host("fence-db")
    rows = db.check_output(
        "runuser -u postgres -- psql -d jupyterhub -tAF ' ' -c \"SELECT a.application_name, l.granted "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'\""
    ).splitlines()
    assert rows == [f"hubsite-fence@{pair['names']['active']} t"]
    sessions = db.check_output(
        'runuser -u postgres -- psql -d jupyterhub -tA -c "SELECT application_name FROM pg_stat_activity '
        "WHERE application_name LIKE 'hubsite-fence@%' ORDER BY 1\""
    ).splitlines()
    assert sessions == [f"hubsite-fence@{name}" for name in HUBS]


@pytest.mark.parametrize(
    "path",
    [
        "/var/lib/jupyterhub/cookie_secret",
        "/etc/jupyterhub/hub.env",
        "/etc/jupyterhub/proxy.env",
        "/etc/jupyterhub/jupyterhub_config.py",
        "/etc/jupyterhub/fence.json",
    ],
)
def test_both_hubs_share_secrets_and_settings(get_host, path):
    one, two = (get_host(name).file(path) for name in HUBS)
    assert one.exists
    assert one.sha256sum == two.sha256sum


def test_fence_settings(get_host):
    settings = json.loads(get_host(HUBS[0]).file("/etc/jupyterhub/fence.json").content_string)
    assert settings["instance"] == "main"
    assert settings["db_host"] == "fence-db"
    assert settings["hub_command"] == [
        "/usr/local/libexec/hubsite/jupyterhub",
        "--config=/etc/jupyterhub/jupyterhub_config.py",
    ]
    check = get_host(HUBS[0]).run(
        "/opt/jupyterhub/bin/python3 /opt/jupyterhub/bin/hubsite-hub-fence --check "
        "--settings /etc/jupyterhub/fence.json"
    )
    assert check.rc == 0
    assert "lock key -2522500800157348815" in check.stdout


def test_the_fence_may_only_start_and_stop_the_proxy(get_host):
    rules = get_host(HUBS[0]).check_output("sudo -l -U jupyterhub")
    assert "/usr/bin/systemctl start configurable-http-proxy.service" in rules
    assert "/usr/bin/systemctl stop configurable-http-proxy.service" in rules
    assert "ALL : ALL" not in rules.replace("(ALL : ALL)", "")


def test_pg_hba_admits_both_hubs(get_host):
    addresses = {get_host(name).check_output("hostname -I").split()[0] for name in HUBS}
    hba = get_host("fence-db").file("/etc/postgresql/15/main/pg_hba.conf").content_string
    remote = {line.split()[3] for line in hba.splitlines() if line.startswith("host ") and "jupyterhub" in line}
    assert {f"{a}/32" for a in addresses} <= remote


def test_postgresql_notices_dead_clients(get_host):
    # (read from the configuration: a session over the Unix socket shows 0 for TCP settings)
    db = get_host("fence-db")
    values = db.check_output(
        "runuser -u postgres -- psql -tA -c \"SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) "
        "FROM pg_file_settings WHERE applied AND name IN ('tcp_keepalives_idle', 'tcp_keepalives_interval', "
        "'tcp_keepalives_count', 'tcp_user_timeout')\""
    )
    assert values == ("tcp_keepalives_count=3 tcp_keepalives_idle=5 tcp_keepalives_interval=2 tcp_user_timeout=10000")
